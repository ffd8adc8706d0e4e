"""The access-equity report for administrators, and a therapist's own numbers beside the platform's.

Observations are loaded in a fixed number of queries and handed to `domain.equity`,
which computes and protects every cell. Definitions (a date range is [from 00:00 UTC,
to + 1 day 00:00 UTC)):

- demand: every recorded search in the range; no match = no therapist passed the filters.
- time to care: first searches in the range (anonymous care starts and those still
  pending); hours from the first search to the start of the first booked session;
  booked within 14 days among first searches at least 14 days old (or already booked).
- capacity: verified therapists with a reduced-fee weekly cap who accept a reduced band;
  places offered = cap x weeks of the range touched; used = their sessions in a reduced
  band (held, confirmed, completed or no-show), as booking counts them; at cap = some
  week with used >= cap. By the therapist's licence state only.
- sessions: clients' bookings starting in the range (not expired, not replaced by a
  reschedule); a session is confirmed or completed. Concordance: among sessions whose
  client asked for a language (or a cultural background), those whose therapist
  practises one of them (or shares one).
- continuity: clients whose first session starts in the range; share with a second
  and a fifth session (confirmed or completed, any date).
- outcomes: clients whose latest screening of an instrument (PHQ-9, GAD-7) falls in the
  range and who answered it at least twice by then; first against latest with the NHS
  Talking Therapies reliable-change thresholds (domain.screening.classify_change).
  Reliable improvement: on at least one instrument, with reliable deterioration on
  none; reliable deterioration: on at least one. By the band and setting of the
  client's first session and the client's language and state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from teletherapy.domain import vocabularies as v
from teletherapy.domain.equity import (
    Family,
    Metric,
    Observation,
    PublishedCell,
    RecruitingNeed,
    publish,
    published_one_way,
    recruiting_list,
)
from teletherapy.domain.errors import ValidationError
from teletherapy.extensions import db
from teletherapy.models import (
    Booking,
    EquityCareStart,
    EquityFirstSearch,
    EquitySearch,
    FeeBandRow,
    TherapistFee,
    TherapistProfile,
)
from teletherapy.services.availability.schedules import is_therapist_time
from teletherapy.services.equity import care

MAX_RANGE_DAYS = 731
FOURTEEN_DAYS_HOURS = 14 * 24
USED_STATUSES = ("held", "confirmed", "completed", "no_show")
ALL_DIMENSIONS = ("fee_band", "setting", "language", "state")

DEMAND = Family(
    "demand",
    ALL_DIMENSIONS,
    (
        Metric("searches", "count", "searches", "searches"),
        Metric("searches_no_match", "count", "no_match", "searches"),
        Metric("no_match_share", "share", "no_match", "searches", "searches"),
    ),
)
TIME_TO_CARE = Family(
    "time_to_care",
    ALL_DIMENSIONS,
    (
        Metric("first_searches", "count", "first_search", "first_search"),
        Metric("hours_to_first_session_median", "median", "hours", "has_hours"),
        Metric("hours_to_first_session_p75", "p75", "hours", "has_hours"),
        Metric("booked_within_14_days_share", "share", "booked_14d", "eligible", "eligible"),
    ),
)
CAPACITY = Family(
    "capacity",
    ("state",),
    (
        Metric("therapists_offering_reduced_fees", "count", "therapist", "therapist"),
        Metric("reduced_fee_places_offered", "sum", "offered", "therapist"),
        Metric("reduced_fee_places_used", "sum", "used", "therapist"),
        Metric("reduced_fee_places_used_share", "share", "used", "therapist", "offered"),
        Metric("therapists_at_cap", "count", "at_cap", "therapist"),
    ),
)
SESSIONS = Family(
    "sessions",
    ALL_DIMENSIONS,
    (
        Metric("sessions", "count", "session", "booking"),
        Metric("late_cancellations", "count", "late_cancellation", "booking"),
        Metric("no_shows", "count", "no_show", "booking"),
        Metric("fees_waived", "count", "fee_waived", "booking"),
        Metric("language_concordance_share", "share", "language_match", "language_asked",
               "language_asked"),
        Metric("cultural_concordance_share", "share", "culture_match", "culture_asked",
               "culture_asked"),
    ),
)  # fmt: skip
CONTINUITY = Family(
    "continuity",
    ALL_DIMENSIONS,
    (
        Metric("clients_starting_care", "count", "client", "client"),
        Metric("second_session_share", "share", "second", "client", "client"),
        Metric("fifth_session_share", "share", "fifth", "client", "client"),
    ),
)
OUTCOMES = Family(
    "outcomes",
    ALL_DIMENSIONS,
    (
        Metric("clients_with_outcomes", "count", "client", "client"),
        Metric("reliable_improvement_share", "share", "improved", "client", "client"),
        Metric("reliable_deterioration_share", "share", "deteriorated", "client", "client"),
    ),
)
FAMILIES = (DEMAND, TIME_TO_CARE, CAPACITY, SESSIONS, CONTINUITY, OUTCOMES)


@dataclass(frozen=True)
class EquityReport:
    date_from: date
    date_to: date
    filters: dict[str, str]
    cells: list[PublishedCell]
    recruiting: list[RecruitingNeed]


# --- input --------------------------------------------------------------------------------


def parse_request(
    *, date_from: str | None, date_to: str | None, filters: Mapping[str, str | None], today: date
) -> tuple[date, date, dict[str, str]]:
    """Validated (from, to, filters); the last 90 days by default. ValidationError names
    each bad field."""
    errors: dict[str, list[str]] = {}

    def day(value: str | None, name: str, default: date) -> date:
        if not value:
            return default
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = ["Use a date like 2026-12-01."]
            return default

    end = day(date_to, "to", today)
    start = day(date_from, "from", end - timedelta(days=89))
    if start > end:
        errors.setdefault("from", []).append("The start must not be after the end.")
    elif (end - start).days > MAX_RANGE_DAYS:
        errors.setdefault("from", []).append("Choose at most two years.")
    allowed = {
        "fee_band": set(db.session.scalars(select(FeeBandRow.code))),
        "setting": set(v.SETTINGS),
        "language": set(v.LANGUAGES),
        "state": set(v.US_STATES),
    }
    chosen = {k: str(c) for k, c in filters.items() if c}
    for name, code in chosen.items():
        if name not in allowed or code not in allowed[name]:
            errors[name] = [f"{code!r} is not a known code."]
    if errors:
        raise ValidationError("Some filters need attention.", errors=errors)
    return start, end, chosen


# --- the report ---------------------------------------------------------------------------


def equity_report(
    *, date_from: date, date_to: date, filters: Mapping[str, str], now: datetime
) -> EquityReport:
    """Every metric for the range, protected; `filters` may combine every dimension."""
    start, end = instants(date_from, date_to)
    observations = {
        DEMAND.code: _searches(start, end),
        TIME_TO_CARE.code: _first_searches(start, end, now),
        CAPACITY.code: capacity(start, end),
        SESSIONS.code: care.sessions(start, end),
        CONTINUITY.code: care.continuity(start, end),
        OUTCOMES.code: care.outcomes(start, end),
    }
    cells: list[PublishedCell] = []
    for family in FAMILIES:
        cells += publish(family, observations[family.code], filters)
    db.session.rollback()  # end the read transaction (SQLite holds a lock otherwise)
    return EquityReport(
        date_from, date_to, dict(filters), cells, _recruiting(observations[DEMAND.code], filters)
    )


def instants(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(date_from, time(0), tzinfo=UTC),
        datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=UTC),
    )


def _recruiting(
    searches: Sequence[Observation], filters: Mapping[str, str]
) -> list[RecruitingNeed]:
    """The top ten; a state, setting or language filter picks rows (a band filter does not
    apply: the list is drawn from every band so that it agrees with every view)."""
    no_match = [o for o in searches if o.numbers.get("no_match")]
    metric = DEMAND.metrics[1]
    published = published_one_way(DEMAND, metric, searches)
    hidden = {d: published[d] for d in ("state", "setting", "language")}
    needs = recruiting_list(no_match, published_hidden=hidden, limit=len(no_match))
    wanted = {d: c for d, c in filters.items() if d in hidden}
    return [n for n in needs if all(getattr(n, d) == c for d, c in wanted.items())][:10]


def _searches(start: datetime, end: datetime) -> list[Observation]:
    rows = db.session.execute(
        select(EquitySearch).where(
            EquitySearch.searched_at >= start, EquitySearch.searched_at < end
        )
    ).scalars()
    return [
        Observation(
            unit=("search", row.id),
            group={
                "fee_band": row.fee_band,
                "setting": row.setting,
                "language": row.required_languages.split(",")[0],
                "state": row.state,
                "most_removed_by": row.most_removed_by or "",
            },
            numbers={"searches": 1, "no_match": int(row.result_count == 0)},
        )
        for row in rows
    ]


def _first_searches(start: datetime, end: datetime, now: datetime) -> list[Observation]:
    observations = []
    condensed = db.session.scalars(
        select(EquityCareStart).where(
            EquityCareStart.searched_on >= start.date(), EquityCareStart.searched_on < end.date()
        )
    )
    old_enough = (now - timedelta(days=14)).date()
    for row in condensed:
        numbers: dict[str, float] = {"first_search": 1}
        if row.hours_to_first_session is not None:
            numbers |= {"hours": row.hours_to_first_session, "has_hours": 1}
        booked = row.hours_to_booking is not None and row.hours_to_booking <= FOURTEEN_DAYS_HOURS
        numbers["booked_14d"] = int(booked)
        numbers["eligible"] = int(booked or row.searched_on <= old_enough)
        observations.append(Observation(("care", row.id), _place(row), numbers))
    pending = db.session.scalars(
        select(EquityFirstSearch).where(
            EquityFirstSearch.searched_at >= start, EquityFirstSearch.searched_at < end
        )
    )
    for waiting in pending:
        eligible = int(waiting.searched_at <= now - timedelta(days=14))
        numbers = {"first_search": 1, "booked_14d": 0, "eligible": eligible}
        observations.append(Observation(("pending", waiting.user_id), _place(waiting), numbers))
    return observations


def _place(row: EquityCareStart | EquityFirstSearch) -> dict[str, str]:
    return {
        "fee_band": row.fee_band,
        "setting": row.setting,
        "language": row.language,
        "state": row.state,
    }


def _week_starts(start: datetime, end: datetime) -> list[date]:
    first = start.date() - timedelta(days=start.weekday())
    weeks = []
    while datetime.combine(first, time(0), tzinfo=UTC) < end:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def capacity(start: datetime, end: datetime) -> list[Observation]:
    # A band with an income ceiling is a reduced-fee band (domain.fees.FeeBand.is_reduced).
    reduced = list(
        db.session.scalars(select(FeeBandRow.code).where(FeeBandRow.max_fpl_percent.is_not(None)))
    )
    therapists = db.session.execute(
        select(
            TherapistProfile.id,
            TherapistProfile.license_state,
            TherapistProfile.reduced_fee_weekly_cap,
        ).where(
            TherapistProfile.reduced_fee_weekly_cap.is_not(None),
            TherapistProfile.verified_at.is_not(None),
            TherapistProfile.id.in_(
                select(TherapistFee.therapist_id).where(TherapistFee.band_code.in_(reduced))
            ),
        )
    ).all()
    weeks = _week_starts(start, end)
    used: dict[tuple[int, date], int] = defaultdict(int)
    for therapist_id, start_at in db.session.execute(
        select(Booking.therapist_id, Booking.start_at).where(
            Booking.start_at >= start,
            Booking.start_at < end,
            Booking.status.in_(USED_STATUSES),
            Booking.fee_band.in_(reduced),
            is_therapist_time(),
        )
    ):
        monday = start_at.date() - timedelta(days=start_at.weekday())
        used[therapist_id, monday] += 1
    observations = []
    for therapist_id, state, cap in therapists:
        cap = int(cap or 0)
        per_week = [used.get((therapist_id, w), 0) for w in weeks]
        observations.append(
            Observation(
                ("therapist", therapist_id),
                {"state": state or ""},
                {
                    "therapist": 1,
                    "offered": cap * len(weeks),
                    "used": sum(per_week),
                    "at_cap": int(any(n >= cap for n in per_week)),
                },
            )
        )
    return observations
