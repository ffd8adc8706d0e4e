"""0018_tag_codes: each profile's `tag_codes` is its therapist_tags, whoever writes them."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from teletherapy.models import TherapistProfile, TherapistTag
from tests.conftest import _truncate_all


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: the triggers are PostgreSQL's (SQLite leaves the column NULL)."""
    url: str = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return url


def _kept_and_expected(db: Any) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    kept = {
        tid: list(codes or ())
        for tid, codes in db.session.execute(
            select(TherapistProfile.id, TherapistProfile.tag_codes)
        )
    }
    expected: dict[int, list[str]] = {tid: [] for tid in kept}
    for tid, kind, code in db.session.execute(
        select(TherapistTag.therapist_id, TherapistTag.kind, TherapistTag.code)
    ):
        expected[tid].append(f"{kind}:{code}")
    return kept, {tid: sorted(codes) for tid, codes in expected.items()}


def test_tag_codes_follow_every_change_of_the_tags(db: Any) -> None:
    from teletherapy.demo.seed import seed_demo

    seed_demo(therapists=12, clients=2, seed=9)
    db.session.commit()
    kept, expected = _kept_and_expected(db)
    assert kept == expected and any(expected.values())
    rng = random.Random(18)
    ids = sorted(kept)
    for _ in range(30):
        tid = rng.choice(ids)
        step = rng.choice(("add", "remove", "rename", "clear", "bulk"))
        if step == "add":
            db.session.execute(
                insert(TherapistTag).values(
                    therapist_id=tid, kind="language", code=f"x{rng.randint(0, 999)}"
                )
            )
        elif step == "remove" and expected[tid]:
            kind, _, code = rng.choice(expected[tid]).partition(":")
            db.session.execute(
                delete(TherapistTag).where(
                    TherapistTag.therapist_id == tid,
                    TherapistTag.kind == kind,
                    TherapistTag.code == code,
                )
            )
        elif step == "rename" and expected[tid]:
            kind, _, code = rng.choice(expected[tid]).partition(":")
            other = rng.choice([i for i in ids if i != tid])
            db.session.execute(  # moved to another therapist, under a new code
                update(TherapistTag)
                .where(
                    TherapistTag.therapist_id == tid,
                    TherapistTag.kind == kind,
                    TherapistTag.code == code,
                )
                .values(therapist_id=other, code=f"moved{rng.randint(0, 999)}")
            )
        elif step == "clear":
            db.session.execute(delete(TherapistTag).where(TherapistTag.therapist_id == tid))
        else:  # one statement over several therapists
            many = rng.sample(ids, 3)
            db.session.execute(
                insert(TherapistTag),
                [{"therapist_id": t, "kind": "concern", "code": f"c{rng.random()}"} for t in many],
            )
        if rng.random() < 0.5:
            db.session.commit()
        kept, expected = _kept_and_expected(db)
        assert kept == expected, step
