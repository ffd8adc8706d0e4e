"""Observations about clients in care for the equity report: their sessions (concordance,
cancellations, waivers), whether they stay in care, and their screening outcomes.

See services/equity/metrics.py for the definitions; cells are computed in domain.equity.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from teletherapy.domain import screening as scoring
from teletherapy.domain.booking import BookingStatus
from teletherapy.domain.equity import Observation
from teletherapy.domain.payments import LedgerStatus
from teletherapy.extensions import db
from teletherapy.models import Booking, ClientProfile, Payment, Screening, TherapistTag, User

SESSION_STATUSES = ("confirmed", "completed")


@dataclass(frozen=True)
class _Wishes:
    languages: frozenset[str]
    primary_language: str
    cultures: frozenset[str]
    state: str


def _wishes(client_ids: set[int]) -> dict[int, _Wishes]:
    if not client_ids:
        return {}
    rows = db.session.execute(
        select(User.id, User.state, ClientProfile.intake)
        .outerjoin(ClientProfile, ClientProfile.user_id == User.id)
        .where(User.id.in_(client_ids))
    ).all()
    wishes: dict[int, _Wishes] = {}
    for row in rows:
        user_id, state = int(row[0]), str(row[1] or "")
        intake: dict[str, Any] = dict(row[2] or {})
        languages = [w for w in intake.get("languages") or () if isinstance(w, dict)]
        required = [str(w.get("code")) for w in languages if w.get("required")]
        preferred = [str(w.get("code")) for w in languages if not w.get("required")]
        cultures = {
            str(p.get("code"))
            for p in intake.get("cultural_backgrounds") or ()
            if isinstance(p, dict) and int(p.get("weight", 1) or 0) > 0
        }
        wishes[user_id] = _Wishes(
            frozenset(required + preferred),
            (required or preferred or [""])[0],
            frozenset(cultures),
            state,
        )
    return wishes


def _therapist_tags(therapist_ids: set[int]) -> dict[tuple[int, str], set[str]]:
    tags: dict[tuple[int, str], set[str]] = defaultdict(set)
    if therapist_ids:
        for therapist_id, kind, code in db.session.execute(
            select(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code).where(
                TherapistTag.therapist_id.in_(therapist_ids),
                TherapistTag.kind.in_(("language", "culture")),
            )
        ):
            tags[therapist_id, kind].add(code)
    return tags


def _client_bookings(start: datetime, end: datetime) -> list[Any]:
    return list(
        db.session.execute(
            select(
                Booking.id,
                Booking.client_id,
                Booking.therapist_id,
                Booking.status,
                Booking.setting,
                Booking.fee_band,
                Booking.is_late_cancellation,
                Booking.start_at,
            ).where(
                Booking.client_id.is_not(None),
                Booking.start_at >= start,
                Booking.start_at < end,
                Booking.status != BookingStatus.EXPIRED,
                Booking.status != BookingStatus.HELD,
                (Booking.cancelled_by.is_(None)) | (Booking.cancelled_by != "reschedule"),
            )
        ).all()
    )


def sessions(start: datetime, end: datetime) -> list[Observation]:
    rows = _client_bookings(start, end)
    wishes = _wishes({r.client_id for r in rows})
    tags = _therapist_tags({r.therapist_id for r in rows})
    waived = set(
        db.session.scalars(
            select(Payment.booking_id).where(
                Payment.kind == "late_fee",
                Payment.status == LedgerStatus.WAIVED,
                Payment.booking_id.in_([r.id for r in rows] or [0]),
            )
        )
    )
    observations = []
    for r in rows:
        wish = wishes.get(r.client_id) or _Wishes(frozenset(), "", frozenset(), "")
        is_session = r.status in SESSION_STATUSES
        language_asked = is_session and bool(wish.languages)
        culture_asked = is_session and bool(wish.cultures)
        observations.append(
            Observation(
                ("client", r.client_id),
                {
                    "fee_band": r.fee_band or "",
                    "setting": r.setting,
                    "language": wish.primary_language,
                    "state": wish.state,
                },
                {
                    "booking": 1,
                    "session": int(is_session),
                    "late_cancellation": int(
                        r.status == BookingStatus.CANCELLED and r.is_late_cancellation
                    ),
                    "no_show": int(r.status == BookingStatus.NO_SHOW),
                    "fee_waived": int(r.id in waived),
                    "language_asked": int(language_asked),
                    "language_match": int(
                        language_asked and bool(wish.languages & tags[r.therapist_id, "language"])
                    ),
                    "culture_asked": int(culture_asked),
                    "culture_match": int(
                        culture_asked and bool(wish.cultures & tags[r.therapist_id, "culture"])
                    ),
                },
            )
        )
    return observations


def continuity(start: datetime, end: datetime) -> list[Observation]:
    rows = db.session.execute(
        select(Booking.client_id, Booking.start_at, Booking.fee_band, Booking.setting)
        .where(Booking.client_id.is_not(None), Booking.status.in_(SESSION_STATUSES))
        .order_by(Booking.client_id, Booking.start_at, Booking.id)
    ).all()
    sessions: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        sessions[row.client_id].append(row)
    starting = {c: s for c, s in sessions.items() if start <= s[0].start_at < end}
    wishes = _wishes(set(starting))
    observations = []
    for client_id, own in starting.items():
        wish = wishes.get(client_id) or _Wishes(frozenset(), "", frozenset(), "")
        observations.append(
            Observation(
                ("client", client_id),
                {
                    "fee_band": own[0].fee_band or "",
                    "setting": own[0].setting,
                    "language": wish.primary_language,
                    "state": wish.state,
                },
                {"client": 1, "second": int(len(own) >= 2), "fifth": int(len(own) >= 5)},
            )
        )
    return observations


def outcomes(start: datetime, end: datetime) -> list[Observation]:
    """One observation per client with a first and a latest score of some instrument,
    the latest in the range (see the module's definitions)."""
    history: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    latest_at: dict[tuple[int, str], datetime] = {}
    for client_id, instrument, total, completed_at in db.session.execute(
        select(Screening.client_id, Screening.instrument, Screening.total, Screening.completed_at)
        .where(Screening.completed_at < end)
        .order_by(Screening.client_id, Screening.instrument, Screening.completed_at, Screening.id)
    ):
        history[client_id][instrument].append(total)
        latest_at[client_id, instrument] = completed_at
    changes: dict[int, list[scoring.Change]] = {}
    for client_id, instruments in history.items():
        paired = [
            scoring.classify_change(
                scoring.get_instrument(code), baseline=totals[0], latest=totals[-1]
            )
            for code, totals in instruments.items()
            if len(totals) >= 2 and latest_at[client_id, code] >= start
        ]
        if paired:
            changes[client_id] = paired
    if not changes:
        return []
    wishes = _wishes(set(changes))
    first: dict[int, Any] = {}
    for row in db.session.execute(
        select(Booking.client_id, Booking.fee_band, Booking.setting)
        .where(Booking.client_id.in_(changes), Booking.status.in_(SESSION_STATUSES))
        .order_by(Booking.client_id, Booking.start_at, Booking.id)
    ):
        first.setdefault(row.client_id, row)
    observations = []
    for client_id, paired in changes.items():
        wish = wishes.get(client_id) or _Wishes(frozenset(), "", frozenset(), "")
        session = first.get(client_id)
        worse = any(c.is_reliable_deterioration for c in paired)
        better = any(c.is_reliable_improvement for c in paired) and not worse
        observations.append(
            Observation(
                ("client", client_id),
                {
                    "fee_band": (session.fee_band or "") if session else "",
                    "setting": session.setting if session else "",
                    "language": wish.primary_language,
                    "state": wish.state,
                },
                {"client": 1, "improved": int(better), "deteriorated": int(worse)},
            )
        )
    return observations
