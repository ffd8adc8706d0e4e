"""Random wishes for the matching agreement tests (what a client may ask besides place)."""

from __future__ import annotations

import random
from typing import Any

from teletherapy.domain.matching_types import LanguageWish, Preference

MODALITIES = ("cbt", "dbt", "act", "group", "psychodynamic", "mindfulness", "emdr")
CONCERNS = ("anxiety", "depression", "trauma", "grief", "stress")
CULTURES = ("latin_american", "east_asian", "african_american", "lgbtq", "jewish")


def random_wishes(rng: random.Random, languages: tuple[str, ...]) -> dict[str, Any]:
    """MatchRequest's wish fields and limit, drawn from `rng`."""

    def some(codes: tuple[str, ...], most: int) -> list[str]:
        return rng.sample(codes, rng.randint(0, most))

    return {
        "languages": tuple(
            LanguageWish(code, rng.random() < 0.4, rng.randint(0, 3)) for code in some(languages, 2)
        ),
        "modalities": tuple(some(MODALITIES, 3)),
        "concerns": tuple(some(CONCERNS, 3)),
        "cultural_backgrounds": tuple(
            Preference(code, rng.randint(0, 3)) for code in some(CULTURES, 2)
        ),
        "gender": Preference(rng.choice(("woman", "man")), rng.randint(0, 3))
        if rng.random() < 0.3
        else None,
        "faith_integrated": rng.choice((0, 0, 1, 3)),
        "lgbtq_affirming": rng.choice((0, 0, 1, 2)),
        "age_group": rng.choice((None, None, "adults", "children", "adolescents")),
        "limit": rng.choice((1, 2, 3, 5, 20)),
    }
