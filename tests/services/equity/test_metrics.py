"""Equity report: each metric hand-computed on a small fixture, then the fixture suppressed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from teletherapy.domain import suppression
from teletherapy.domain.errors import ValidationError
from teletherapy.extensions import db
from teletherapy.models import (
    Booking,
    ClientProfile,
    EquityCareStart,
    EquityFirstSearch,
    EquitySearch,
    Payment,
    Screening,
)
from teletherapy.services.equity import metrics, therapist
from tests.matching_helpers import make_therapist

FROM, TO = date(2026, 11, 23), date(2026, 11, 29)  # Monday to Sunday: one week
MON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # every first search is 14 days old


def session(
    therapist_id: int,
    client_id: int,
    start: datetime,
    *,
    band: str,
    status: str = "completed",
    setting: str = "online",
    booked_hours_before: int = 96,
    **fields: Any,
) -> Booking:
    row = Booking(
        therapist_id=therapist_id,
        client_id=client_id,
        status=status,
        setting=setting,
        start_at=start,
        end_at=start + timedelta(minutes=50),
        blocked_start_at=start,
        blocked_end_at=start + timedelta(minutes=60),
        time_zone="America/New_York",
        fee_band=band,
        fee_cents=3000,
        created_at=start - timedelta(hours=booked_hours_before),
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def screened(client_id: int, instrument: str, *totals: int, first: datetime = MON) -> None:
    """Screenings a week apart, the last one in the range or after it."""
    for i, total in enumerate(totals):
        db.session.add(
            Screening(
                client_id=client_id,
                instrument=instrument,
                answers=[],
                total=total,
                severity="mild",
                completed_at=first + timedelta(days=3 * i),
            )
        )


def intake(user_id: int, **wishes: Any) -> None:
    profile = db.session.query(ClientProfile).filter_by(user_id=user_id).one()
    profile.intake = wishes


def search(
    band: str, setting: str, state: str, required: str, results: int, why: str | None
) -> None:
    db.session.add(
        EquitySearch(
            searched_at=MON,
            fee_band=band,
            setting=setting,
            state=state,
            required_languages=required,
            preferred_languages="",
            result_count=results,
            most_removed_by=why,
        )
    )


def care(
    band: str, setting: str, language: str, state: str, booked: int | None, first: int | None
) -> None:
    db.session.add(
        EquityCareStart(
            searched_on=FROM + timedelta(days=1),
            fee_band=band,
            setting=setting,
            language=language,
            state=state,
            hours_to_booking=booked,
            hours_to_first_session=first,
        )
    )


@pytest.fixture
def fixture(app: Any, make_user: Any, now: datetime) -> dict[str, int]:
    t1 = make_therapist(
        make_user,
        now,
        "Dr Ana",
        languages=("en", "es"),
        cultural_backgrounds=("latin_american",),
        reduced_fee_weekly_cap=2,
    )
    t2 = make_therapist(make_user, now, "Dr Bo", license_state="NJ", reduced_fee_weekly_cap=1)
    make_therapist(make_user, now, "Dr Cy")  # no cap: offers no reduced-fee places
    c1 = make_user("client").id
    c2 = make_user("client", state="NJ", zip="07030").id
    c3 = make_user("client").id
    intake(
        c1,
        languages=[{"code": "es", "required": True}],
        cultural_backgrounds=[{"code": "latin_american", "weight": 2}],
    )
    intake(c3, languages=[{"code": "zh", "required": False}])
    b1 = session(t1, c1, MON, band="a")
    session(t1, c1, MON + timedelta(days=1), band="a", status="confirmed")
    session(t1, c1, MON + timedelta(days=2), band="d")  # full fee: not a reduced place
    for week in (2, 3, 4):  # C1's fourth to sixth sessions, after the range
        session(t1, c1, MON + timedelta(weeks=week), band="a", status="confirmed")
    session(t2, c2, MON, band="d", status="no_show", setting="in_office")
    late = session(
        t2,
        c3,
        MON + timedelta(hours=2),
        band="d",
        status="cancelled",
        is_late_cancellation=True,
        cancelled_by="client",
    )
    session(t2, c3, MON + timedelta(days=3), band="d", booked_hours_before=10)
    db.session.add(
        Payment(
            booking_id=late.id,
            client_id=c3,
            therapist_id=t2,
            kind="late_fee",
            amount_cents=2500,
            status="waived",
            method="pay_at_session",
        )
    )
    search("a", "online", "NY", "es", 0, "language_required")
    search("a", "online", "NY", "es", 0, "language_required")
    search("b", "in_office", "NJ", "", 3, None)
    search("d", "online", "NY", "", 0, "no_therapist_in_place")
    care("a", "online", "es", "NY", 24, 48)
    care("a", "online", "es", "NY", 400, 500)
    care("b", "in_office", "", "NJ", None, None)
    # Outcomes: C1 (band a, Spanish) improves reliably on the PHQ-9 (18 -> 10, a drop of 8
    # >= 6) and not on the GAD-7 (10 -> 9); C2 (no session: no band, no language) worsens
    # reliably on the PHQ-9 (5 -> 14); C3 (band d, Chinese) is unchanged on the GAD-7
    # (12 -> 11). A fourth client answered once (not paired); a fifth's latest screening
    # is before the range.
    screened(c1, "phq9", 18, 10)
    screened(c1, "gad7", 10, 9)
    screened(c2, "phq9", 5, 14)
    screened(c3, "gad7", 12, 11)
    screened(make_user("client").id, "phq9", 20)
    screened(make_user("client").id, "phq9", 20, 5, first=MON - timedelta(days=30))
    db.session.add(
        EquityFirstSearch(
            user_id=c2, searched_at=MON, fee_band="d", setting="online", state="NJ", language=""
        )
    )
    db.session.commit()
    return {"t1": t1, "t2": t2, "b1": b1.id}  # fmt: skip


def table(report: metrics.EquityReport, metric: str, dimension: str = "") -> dict[str, Any]:
    return {
        (c.group.get(dimension, "") if dimension else "*"): c.value
        for c in report.cells
        if c.metric == metric and c.dimension == dimension
    }


EXPECTED = [
    # metric, dimension, {code: value}
    ("searches", "", {"*": 4}),
    ("searches", "fee_band", {"a": 2, "b": 1, "d": 1}),
    ("searches_no_match", "state", {"NJ": 0, "NY": 3}),  # a cell of no one shows 0
    ("no_match_share", "", {"*": 0.75}),
    ("no_match_share", "language", {"": 0.5, "es": 1.0}),
    ("first_searches", "", {"*": 4}),
    ("first_searches", "state", {"NJ": 2, "NY": 2}),
    ("hours_to_first_session_median", "", {"*": 274.0}),
    ("hours_to_first_session_p75", "", {"*": 387.0}),
    ("hours_to_first_session_median", "fee_band", {"a": 274.0, "b": None, "d": None}),
    ("booked_within_14_days_share", "", {"*": 0.25}),
    ("booked_within_14_days_share", "fee_band", {"a": 0.5, "b": 0.0, "d": 0.0}),
    ("therapists_offering_reduced_fees", "state", {"NJ": 1, "NY": 1}),
    ("reduced_fee_places_offered", "", {"*": 3}),
    ("reduced_fee_places_used", "state", {"NJ": 0, "NY": 2}),
    ("reduced_fee_places_used_share", "", {"*": 0.667}),
    ("therapists_at_cap", "", {"*": 1}),
    ("sessions", "fee_band", {"a": 2, "d": 2}),
    ("late_cancellations", "fee_band", {"a": 0, "d": 1}),
    ("no_shows", "setting", {"in_office": 1, "online": 0}),
    ("fees_waived", "", {"*": 1}),
    ("language_concordance_share", "", {"*": 0.75}),  # C1's 3 sessions in Spanish, C3's not
    ("language_concordance_share", "language", {"": None, "es": 1.0, "zh": 0.0}),
    ("cultural_concordance_share", "", {"*": 1.0}),
    ("clients_starting_care", "", {"*": 2}),
    ("second_session_share", "", {"*": 0.5}),
    ("fifth_session_share", "state", {"NY": 0.5}),
    ("clients_with_outcomes", "", {"*": 3}),
    ("clients_with_outcomes", "state", {"NJ": 1, "NY": 2}),
    ("reliable_improvement_share", "", {"*": 0.333}),
    ("reliable_improvement_share", "fee_band", {"": 0.0, "a": 1.0, "d": 0.0}),
    ("reliable_improvement_share", "language", {"": 0.0, "es": 1.0, "zh": 0.0}),
    ("reliable_deterioration_share", "language", {"": 1.0, "es": 0.0, "zh": 0.0}),
    ("reliable_deterioration_share", "setting", {"": 1.0, "online": 0.0}),
]


def test_every_metric_matches_the_hand_computed_table(
    fixture: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppression, "SUPPRESS_BELOW", 1)  # the arithmetic, without suppression
    report = metrics.equity_report(date_from=FROM, date_to=TO, filters={}, now=LATER)
    wrong = {
        (metric, dimension): table(report, metric, dimension)
        for metric, dimension, expected in EXPECTED
        if table(report, metric, dimension) != expected
    }
    assert wrong == {}
    codes = {c.metric for c in report.cells}
    assert codes == {m.code for f in metrics.FAMILIES for m in f.metrics}


def test_the_recruiting_list_ranks_places_with_no_match(
    fixture: dict[str, int], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppression, "SUPPRESS_BELOW", 1)
    report = metrics.equity_report(date_from=FROM, date_to=TO, filters={}, now=now)
    assert [(n.state, n.setting, n.language, n.searches, n.most_removed_by)
            for n in report.recruiting] == [
        ("NY", "online", "es", 2, "language_required"),
        ("NY", "online", "", 1, "no_therapist_in_place"),
    ]  # fmt: skip
    only_nj = metrics.equity_report(date_from=FROM, date_to=TO, filters={"state": "NJ"}, now=now)
    assert only_nj.recruiting == []


def test_a_filter_narrows_every_table_to_its_people(
    fixture: dict[str, int], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppression, "SUPPRESS_BELOW", 1)
    report = metrics.equity_report(date_from=FROM, date_to=TO, filters={"fee_band": "a"}, now=now)
    assert table(report, "searches") == {"*": 2}
    assert table(report, "searches", "state") == {"NY": 2}
    assert table(report, "sessions", "setting") == {"online": 2}
    assert table(report, "reduced_fee_places_offered") == {"*": 3}  # capacity has no bands
    assert all(c.group.get("fee_band", "a") == "a" for c in report.cells)


def test_with_fewer_than_eleven_people_everything_is_suppressed(
    fixture: dict[str, int], now: datetime
) -> None:
    report = metrics.equity_report(date_from=FROM, date_to=TO, filters={}, now=now)
    # Only cells of no one show (as 0, or no value for a share of nothing).
    assert report.cells and all(c.suppressed or c.value in (0, None) for c in report.cells)
    assert all(c.suppressed for c in report.cells if not c.dimension)
    assert report.recruiting == []


def test_a_therapist_sees_their_own_places_and_wait_beside_the_platform(
    fixture: dict[str, int], now: datetime
) -> None:
    mine = therapist.therapist_equity(
        therapist_id=fixture["t1"], date_from=FROM, date_to=TO, now=now
    )
    assert (mine.weekly_cap, mine.places_offered, mine.places_used) == (2, 2, 2)
    assert (mine.new_clients, mine.hours_to_first_session_median) == (1, 96.0)
    assert mine.platform_hours_to_first_session_median is None  # 3 clients: fewer than 11
    other = therapist.therapist_equity(
        therapist_id=fixture["t2"], date_from=FROM, date_to=TO, now=now
    )
    assert (other.places_offered, other.places_used, other.new_clients) == (1, 0, 2)
    assert other.hours_to_first_session_median == 53.0  # (96 + 10) / 2


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"date_from": "2026-13-01"}, "from"),
        ({"date_from": "2026-12-02", "date_to": "2026-12-01"}, "from"),
        ({"date_from": "2020-01-01", "date_to": "2026-12-01"}, "from"),
        ({"filters": {"fee_band": "zz"}}, "fee_band"),
    ],
)
def test_bad_ranges_and_filters_are_refused_by_field(
    app: Any, given: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {"date_from": None, "date_to": None, "filters": {}, **given}
    with pytest.raises(ValidationError) as exc:
        metrics.parse_request(today=date(2026, 12, 1), **arguments)
    assert field in exc.value.errors


def test_filters_combine(
    fixture: dict[str, int], now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suppression, "SUPPRESS_BELOW", 1)
    chosen = {"fee_band": "d", "setting": "online", "language": "zh", "state": "NY"}
    assert (
        metrics.parse_request(
            date_from=None, date_to=None, filters=chosen, today=date(2026, 12, 1)
        )[2]
        == chosen
    )
    both = metrics.equity_report(
        date_from=FROM, date_to=TO, filters={"fee_band": "d", "state": "NY"}, now=LATER
    )
    # Band d in New York: C3's two bookings (one cancelled late) and C1's full-fee session.
    assert table(both, "sessions") == {"*": 2}
    assert table(both, "late_cancellations", "language") == {"es": 0, "zh": 1}
    assert table(both, "searches", "setting") == {"online": 1}
    assert all(
        c.group.get("fee_band", "d") == "d" and c.group.get("state", "NY") == "NY"
        for c in both.cells
    )
    three = metrics.equity_report(date_from=FROM, date_to=TO, filters=chosen, now=LATER)
    assert table(three, "sessions") == {"*": 1}  # C3's session on Thursday
    assert table(three, "reliable_improvement_share") == {"*": 0.0}
    assert table(three, "searches") == {"*": 0}


def test_the_default_range_is_the_last_ninety_days(app: Any) -> None:
    assert metrics.parse_request(
        date_from=None,
        date_to=None,
        filters={"state": "NY", "setting": ""},
        today=date(2026, 12, 1),
    ) == (date(2026, 9, 3), date(2026, 12, 1), {"state": "NY"})
