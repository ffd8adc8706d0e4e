"""0019_online_listings: the listings an online search reads are the profiles, tags and
fees they come from, whoever writes those and however many at once."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import delete, insert, select, text, update

from teletherapy.models import (
    FeeBandRow,
    OnlineListing,
    TherapistFee,
    TherapistProfile,
    TherapistTag,
)
from tests.conftest import _truncate_all

STATES = ("NY", "CA", "TX", "WA")


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: the triggers are PostgreSQL's (SQLite leaves the table empty)."""
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


Row = tuple[Any, ...]


def _kept(db: Any) -> set[Row]:
    L = OnlineListing
    return {
        (*row[:-1], tuple(row[-1] or ()))
        for row in db.session.execute(
            select(
                L.state,
                L.band_code,
                L.therapist_id,
                L.fee_cents,
                L.offers_group,
                L.gender,
                L.faith_integrated,
                L.lgbtq_affirming,
                L.reduced_fee_weekly_cap,
                L.tag_codes,
            )
        )
    }


def _expected(db: Any) -> set[Row]:
    """Worked out in Python from the tables the listings come from."""
    tags: dict[int, list[tuple[str, str]]] = {}
    for tid, kind, code in db.session.execute(
        select(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code)
    ):
        tags.setdefault(tid, []).append((kind, code))
    fees: dict[int, list[tuple[str, int]]] = {}
    for tid, band, cents in db.session.execute(
        select(TherapistFee.therapist_id, TherapistFee.band_code, TherapistFee.fee_cents)
    ):
        fees.setdefault(tid, []).append((band, cents))
    P = TherapistProfile
    found = set()
    for p in db.session.execute(
        select(
            P.id,
            P.verified_at,
            P.accepting_new_clients,
            P.offers_group,
            P.gender,
            P.faith_integrated,
            P.lgbtq_affirming,
            P.reduced_fee_weekly_cap,
        )
    ):
        if p.verified_at is None or not p.accepting_new_clients:
            continue
        own = sorted(tags.get(p.id, []))
        codes = tuple(f"{kind}:{code}" for kind, code in own)
        for kind, state in own:
            if kind != "online_state":
                continue
            for band, cents in fees.get(p.id, []):
                found.add(
                    (
                        state,
                        band,
                        p.id,
                        cents,
                        p.offers_group,
                        p.gender,
                        p.faith_integrated,
                        p.lgbtq_affirming,
                        p.reduced_fee_weekly_cap,
                        codes,
                    )
                )
    return found


def _step(db: Any, rng: random.Random, ids: list[int], bands: list[str]) -> str:
    """One random change of what the listings come from; returns its name."""
    P = TherapistProfile
    tid = rng.choice(ids)
    step = rng.choice(
        (
            "verify",
            "accepting",
            "traits",
            "online_add",
            "online_remove",
            "tag",
            "fee_add",
            "fee_change",
            "fee_remove",
            "bulk",
            "delete",
        )
    )
    if step == "verify":
        verified = db.session.scalar(select(P.verified_at).where(P.id == tid))
        new = None if verified is not None else datetime(2026, 12, 1, tzinfo=UTC)
        db.session.execute(update(P).where(P.id == tid).values(verified_at=new))
    elif step == "accepting":
        db.session.execute(
            update(P).where(P.id == tid).values(accepting_new_clients=~P.accepting_new_clients)
        )
    elif step == "traits":
        db.session.execute(
            update(P)
            .where(P.id == tid)
            .values(
                gender=rng.choice((None, "woman", "man", "nonbinary")),
                offers_group=rng.random() < 0.5,
                faith_integrated=rng.random() < 0.5,
                lgbtq_affirming=rng.random() < 0.5,
                reduced_fee_weekly_cap=rng.choice((None, 0, 3, 10)),
            )
        )
    elif step == "online_add":
        db.session.execute(
            text(
                "INSERT INTO therapist_tags (therapist_id, kind, code)"
                " VALUES (:t, 'online_state', :s) ON CONFLICT DO NOTHING"
            ),
            {"t": tid, "s": rng.choice(STATES)},
        )
    elif step == "online_remove":
        db.session.execute(
            delete(TherapistTag).where(
                TherapistTag.therapist_id == tid,
                TherapistTag.kind == "online_state",
                TherapistTag.code == rng.choice(STATES),
            )
        )
    elif step == "tag":
        db.session.execute(
            insert(TherapistTag).values(
                therapist_id=tid, kind="language", code=f"x{rng.randint(0, 10**6)}"
            )
        )
    elif step == "fee_add":
        db.session.execute(
            text(
                "INSERT INTO therapist_fees (therapist_id, band_code, fee_cents)"
                " VALUES (:t, :b, :c) ON CONFLICT DO NOTHING"
            ),
            {"t": tid, "b": rng.choice(bands), "c": rng.randint(0, 20_000)},
        )
    elif step == "fee_change":
        db.session.execute(
            update(TherapistFee)
            .where(TherapistFee.therapist_id == tid)
            .values(fee_cents=TherapistFee.fee_cents + 100)
        )
    elif step == "fee_remove":
        db.session.execute(
            delete(TherapistFee).where(
                TherapistFee.therapist_id == tid, TherapistFee.band_code == rng.choice(bands)
            )
        )
    elif step == "bulk":  # one statement over several therapists
        many = rng.sample(ids, min(4, len(ids)))
        db.session.execute(
            update(P).where(P.id.in_(many)).values(accepting_new_clients=~P.accepting_new_clients)
        )
    elif len(ids) > 3:  # delete
        db.session.execute(delete(P).where(P.id == tid))
        ids.remove(tid)
    return step


def test_the_listings_follow_every_change_of_what_they_come_from(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=14, clients=2, seed=19)
    db.session.commit()
    kept = _kept(db)
    assert kept == _expected(db)
    assert len({row[2] for row in kept}) >= 5  # the demo lists most of its therapists
    rng = random.Random(19)
    ids = sorted(db.session.scalars(select(TherapistProfile.id)))
    bands = sorted(db.session.scalars(select(FeeBandRow.code)))
    steps = set()
    for _ in range(80):
        steps.add(_step(db, rng, ids, bands))
        if rng.random() < 0.4:
            db.session.commit()
        assert _kept(db) == _expected(db), steps
    db.session.commit()
    assert _kept(db) == _expected(db)
    assert len(steps) == 11  # every kind of change was made


def test_a_change_the_search_does_not_read_rewrites_no_listing(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=4, clients=1, seed=3)
    db.session.commit()
    versions = "SELECT therapist_id, state, band_code, xmin::text FROM online_listings"
    before = set(db.session.execute(text(versions)))
    assert before
    P = TherapistProfile
    db.session.execute(update(P).values(bio="A new bio", photo_url="https://example.org/p.png"))
    db.session.commit()
    assert set(db.session.execute(text(versions))) == before
    db.session.execute(update(P).values(gender="nonbinary"))
    db.session.commit()
    after = set(db.session.execute(text(versions)))
    assert after.isdisjoint(before)  # every row written again
    assert _kept(db) == _expected(db)


def test_two_transactions_changing_one_therapist_list_both_changes(
    db: Any, database_url: str
) -> None:
    """The second refresh waits for the first to commit and reads what it wrote: neither
    the first's change is lost nor its rows listed twice."""
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=4, clients=1, seed=3)
    db.session.commit()
    tid = db.session.scalar(select(OnlineListing.therapist_id).limit(1))
    assert tid is not None
    db.session.remove()
    url = "postgresql://" + database_url.split("://", 1)[1]
    errors: list[BaseException] = []
    with psycopg.connect(url) as first, psycopg.connect(url) as second:
        first.execute("UPDATE therapist_profiles SET gender = 'x-first' WHERE id = %s", (tid,))

        def change_fees() -> None:
            try:
                second.execute(
                    "UPDATE therapist_fees SET fee_cents = fee_cents + 1 WHERE therapist_id = %s",
                    (tid,),
                )
                second.commit()
            except BaseException as exc:  # reported below
                errors.append(exc)

        worker = threading.Thread(target=change_fees)
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive()  # waiting for the first transaction's refresh
        first.commit()
        worker.join(10)
    assert not errors, errors
    assert _kept(db) == _expected(db)
    genders = set(
        db.session.scalars(select(OnlineListing.gender).where(OnlineListing.therapist_id == tid))
    )
    assert genders == {"x-first"}
