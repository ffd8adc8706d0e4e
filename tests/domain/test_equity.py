"""Equity domain: metric values, suppression, and an attacker who tries to recover hidden cells."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import product

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from teletherapy.domain.equity import (
    Family,
    Metric,
    Observation,
    PublishedCell,
    metric_value,
    publish,
    quantile,
    recruiting_list,
    summary_statistics,
)
from teletherapy.domain.suppression import ALL, determined, protect_table


def obs(unit: object, numbers: dict[str, float], **group: str) -> Observation:
    return Observation(unit=unit, group=group, numbers=numbers)


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7], 0.75, 7.0),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([1, 2, 3, 4], 0.75, 3.25),
        ([10, 0, 5], 0.75, 7.5),
    ],
)
def test_quantiles_interpolate_between_closest_ranks(
    values: list[float], q: float, expected: float | None
) -> None:
    assert quantile(values, q) == expected


def test_each_kind_of_metric_is_computed_from_its_observations() -> None:
    rows = [
        obs(1, {"n": 1, "late": 1, "asked": 1, "matched": 1, "hours": 10}),
        obs(2, {"n": 1, "asked": 1, "hours": 30}),
        obs(3, {"n": 1}),
    ]
    assert metric_value(Metric("late", "count", "late", "n"), rows) == 1.0
    assert metric_value(Metric("concordance", "share", "matched", "asked", "asked"), rows) == 0.5
    assert metric_value(Metric("median", "median", "hours", "hours"), rows) == 20.0
    assert metric_value(Metric("p75", "p75", "hours", "hours"), rows) == 25.0
    assert metric_value(Metric("share", "share", "late", "n", "none"), rows) is None
    assert summary_statistics([]) == (None, None)
    assert summary_statistics([1, 2, 3, 4]) == (2.5, 3.25)


# --- suppression, by hand -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({"a": 20, "b": 30, "c": 40}, set()),
        ({"a": 5, "b": 30, "c": 40}, {"a", "b"}),  # b is the smallest visible: hidden too
        ({"a": 5, "b": 3, "c": 40}, {"a", "b"}),  # two small ones already protect each other
        ({"a": 5}, {"a", ALL}),  # the total is the cell
        ({"a": 2, "b": 3}, {"a", "b", ALL}),
        ({"a": 0, "b": 12, "c": 12}, set()),  # a cell of no one is shown as 0
    ],
)
def test_a_one_way_table_hides_small_cells_and_one_more_when_alone(
    counts: dict[str, int], expected: set[str]
) -> None:
    assert protect_table(counts, sum(counts.values())) == expected


def test_determined_finds_what_subtraction_recovers() -> None:
    equations = [("t", ["a", "b", "c"]), ("u", ["a", "d"])]
    assert determined({"a"}, equations) == {"a"}
    assert determined({"a", "b"}, equations) == {"a", "b"}  # u - d, then t - a
    assert determined({"a", "b", "d"}, equations) == set()
    assert determined({"a", "c", "d"}, [*equations, ("t", ["b", "d"])]) == {"a", "c", "d"}


FAMILY = Family(
    "test",
    ("fee_band", "state"),
    (
        Metric("people", "count", "n", "n"),
        Metric("no_shows", "count", "no_show", "n"),
        Metric("share", "share", "no_show", "n", "n"),
    ),
)


def cell(cells: Sequence[PublishedCell], metric: str, **group: str) -> PublishedCell:
    """The cell of `metric` for exactly `group` (filters included)."""
    return next(c for c in cells if c.metric == metric and dict(c.group) == group)


def test_a_published_family_hand_checked() -> None:
    rows = [obs(i, {"n": 1, "no_show": i % 2}, fee_band="a", state="NY") for i in range(12)]
    rows += [obs(100 + i, {"n": 1}, fee_band="b", state="NJ") for i in range(15)]
    rows += [obs(200 + i, {"n": 1}, fee_band="c", state="NY") for i in range(3)]
    cells = publish(FAMILY, rows, {})
    assert cell(cells, "people").value == 30
    assert cell(cells, "no_shows").value == 6
    # c (3) is small; a (12) is the smallest other band, so it hides too.
    assert [(c.value, c.suppressed) for c in cells if c.dimension == "fee_band"][:3] == [
        (None, True),
        (15.0, False),
        (None, True),
    ]
    assert cell(cells, "people", state="NY").value == 15
    assert cell(cells, "share", state="NY").value == 0.4
    # Filtered on band b: visible in the band table, so its total shows.
    filtered = publish(FAMILY, rows, {"fee_band": "b"})
    assert cell(filtered, "people", fee_band="b").value == 15
    # Filtered on band a: hidden in the band table, so everything in the view is hidden.
    hidden = publish(FAMILY, rows, {"fee_band": "a"})
    assert all(c.suppressed and c.value is None for c in hidden)
    # Band and state together: the one cell of the band x state table (band a is hidden
    # in the band table, so its row of the two-way table is hidden too).
    both = publish(FAMILY, rows, {"fee_band": "a", "state": "NY"})
    assert [(c.metric, c.suppressed) for c in both] == [
        ("people", True),
        ("no_shows", True),
        ("share", True),
    ]
    # Band b in NJ: all 15 of band b, visible as in the band table.
    both = publish(FAMILY, rows, {"fee_band": "b", "state": "NJ"})
    assert cell(both, "people", fee_band="b", state="NJ").value == 15


def test_a_small_total_hides_the_whole_table() -> None:
    rows = [obs(i, {"n": 1}, fee_band="a", state="NY") for i in range(10)]
    assert all(c.suppressed for c in publish(FAMILY, rows, {}))


# --- the attacker -------------------------------------------------------------------------


def _rank(vectors: list[list[Fraction]]) -> int:
    rows = [list(v) for v in vectors]
    rank, width = 0, len(rows[0]) if rows else 0
    for col in range(width):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        for r in range(len(rows)):
            if r != rank and rows[r][col] != 0:
                factor = rows[r][col] / rows[rank][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        rank += 1
    return rank


def recoverable(
    cells: Sequence[PublishedCell],
    combos: list[tuple[str, ...]],
    dims: tuple[str, ...] = FAMILY.dimensions,
    metric: str = "people",
) -> list[str]:
    """Suppressed count cells whose value is a linear combination of visible ones.

    Every published cell is the sum of the unknown people counts of the combinations
    of dimensions it covers; a hidden one is recovered when its vector lies in the
    span of the visible ones (exact rational arithmetic, independent of the code)."""

    def vector(c: PublishedCell) -> list[Fraction]:
        return [
            Fraction(int(all(c.group.get(d, v) == v for d, v in zip(dims, combo, strict=True))))
            for combo in combos
        ]

    people = [c for c in cells if c.metric == metric]
    visible = [vector(c) for c in people if not c.suppressed]
    base = _rank(visible) if visible else 0
    return [
        f"{dict(c.group)}"
        for c in people
        if c.suppressed and _rank([*visible, vector(c)]) == base and any(vector(c))
    ]


tables = st.dictionaries(
    st.tuples(st.sampled_from("abc"), st.sampled_from(["NY", "NJ", "CT"])),
    st.integers(min_value=0, max_value=30),
    min_size=1,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables)
def test_no_suppressed_cell_can_be_recovered_from_every_view_published(
    table: dict[tuple[str, str], int],
) -> None:
    rows = [
        obs(f"{band}{state}{i}", {"n": 1}, fee_band=band, state=state)
        for (band, state), n in table.items()
        for i in range(n)
    ]
    views = [{}]
    views += [{"fee_band": b} for b in "abc"]
    views += [{"state": s} for s in ("NY", "NJ", "CT")]
    cells = [c for view in views for c in publish(FAMILY, rows, view)]
    combos = list(product("abc", ["NY", "NJ", "CT"]))
    # The attacker knows which bands and states appear at all (the tables list them).
    bands = {b for (b, _), n in table.items() if n}
    states = {s for (_, s), n in table.items() if n}
    present = {(b, s) for b, s in combos if b in bands and s in states}
    people = [c for c in cells if c.metric == "people"]
    # Primary suppression: every visible cell is drawn from 11 people or more.
    for c in people:
        n = sum(1 for r in rows if all(r.group.get(d) == v for d, v in c.group.items()))
        assert c.suppressed or n >= 11 or n == 0, c
    assert recoverable(cells, [c for c in combos if c in present] or combos) == []


@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from(["NY", "TX"]),
            st.sampled_from(["online", "home"]),
            st.sampled_from(["es", "vi", ""]),
        ),
        st.integers(min_value=0, max_value=40),
        min_size=1,
    )
)
@example({("NY", "home", "es"): 1, ("NY", "home", ""): 40, ("TX", "home", "vi"): 0})
@settings(max_examples=60, deadline=None)
def test_the_recruiting_list_never_gives_away_a_hidden_count(
    table: dict[tuple[str, str, str], int],
) -> None:
    rows = [
        obs(f"{k}{i}", {"n": 1}, state=k[0], setting=k[1], language=k[2], most_removed_by="x")
        for k, n in table.items()
        for i in range(n)
    ]
    dims = ("state", "setting", "language")
    hidden: dict[str, frozenset[str]] = {}
    for i, d in enumerate(dims):
        # As the published one-way tables count them: from the rows, so a code nobody
        # has is not a cell at all. (Counted from the table's zeros too, a hidden zero
        # was taken for a complement, which the attacker below rightly sees through.)
        counts: dict[str, int] = {}
        for k, n in table.items():
            if n:
                counts[k[i]] = counts.get(k[i], 0) + n
        hidden[d] = protect_table(counts, sum(counts.values()))
    needs = recruiting_list(rows, published_hidden=hidden)
    assert len(needs) <= 10
    assert all(n.searches >= 11 and n.most_removed_by == "x" for n in needs)
    # The attacker: margins visible in the one-way tables, plus the list's counts.
    # The attacker knows which codes appear (the one-way tables list them), not which
    # combinations of them do.
    codes = [sorted({k[i] for k, n in table.items() if n}) for i in range(3)]
    combos = list(product(*codes))
    vectors = []
    for i, d in enumerate(dims):
        for code in codes[i]:
            if code not in hidden[d] and ALL not in hidden[d]:
                vectors.append([Fraction(int(c[i] == code)) for c in combos])
    if ALL not in hidden["state"]:
        vectors.append([Fraction(1)] * len(combos))
    shown = {(n.state, n.setting, n.language) for n in needs}
    vectors += [[Fraction(int(c == s)) for c in combos] for s in shown]
    base = _rank(vectors) if vectors else 0
    for combo in combos:
        if combo in shown:
            continue
        unit = [Fraction(int(c == combo)) for c in combos]
        assert _rank([*vectors, unit]) > base, combo


THREE = Family("three", ("fee_band", "setting", "state"), (Metric("people", "count", "n", "n"),))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.tuples(
            st.sampled_from("ab"),
            st.sampled_from(["online", "home"]),
            st.sampled_from(["NY", "NJ"]),
        ),
        st.integers(min_value=0, max_value=25),
        min_size=1,
    )
)
def test_combined_filters_give_nothing_away_across_every_view(
    table: dict[tuple[str, str, str], int],
) -> None:
    """Every combination of filters (none, one, two, all three) published at once."""
    rows = [
        obs(f"{k}{i}", {"n": 1}, fee_band=k[0], setting=k[1], state=k[2])
        for k, n in table.items()
        for i in range(n)
    ]
    axes = {"fee_band": "ab", "setting": ["online", "home"], "state": ["NY", "NJ"]}
    views: list[dict[str, str]] = []
    for chosen in product([False, True], repeat=3):
        names = [d for d, on in zip(THREE.dimensions, chosen, strict=True) if on]
        views += [
            dict(zip(names, codes, strict=True)) for codes in product(*(axes[d] for d in names))
        ]
    cells = [c for view in views for c in publish(THREE, rows, view)]
    for c in cells:  # primary suppression, and one state per cell in every view
        n = sum(1 for r in rows if all(r.group.get(d) == v for d, v in c.group.items()))
        assert c.suppressed or n >= 11 or n == 0, c
        same = {x.suppressed for x in cells if dict(x.group) == dict(c.group)}
        assert len(same) == 1, c
    codes = [
        sorted({k[i] for k, n in table.items() if n}) or list(axes[d])
        for i, d in enumerate(THREE.dimensions)
    ]
    assert recoverable(cells, list(product(*codes)), THREE.dimensions) == []


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ab"), st.sampled_from(["en", "es", ""])),
        st.tuples(st.integers(min_value=0, max_value=20), st.integers(min_value=0, max_value=20)),
        min_size=1,
    )
)
def test_outcomes_by_band_and_language_give_nothing_away(
    table: dict[tuple[str, str], tuple[int, int]],
) -> None:
    """The outcomes family as the report publishes it: clients screened twice, improved or
    not, by band and language (one setting, one state), every filter combination."""
    from teletherapy.services.equity.metrics import OUTCOMES

    rows = [
        obs(
            f"{k}{i}",
            {"client": 1, "improved": int(i < better), "deteriorated": 0},
            fee_band=k[0],
            language=k[1],
            setting="online",
            state="NY",
        )
        for k, (n, better) in table.items()
        for i in range(n)
    ]
    views: list[dict[str, str]] = [{}, {"setting": "online"}, {"state": "NY"}]
    views += [{"fee_band": b} for b in "ab"] + [{"language": la} for la in ("en", "es", "")]
    views += [{"fee_band": b, "language": la} for b in "ab" for la in ("en", "es", "")]
    views += [{"fee_band": b, "state": "NY"} for b in "ab"]
    cells = [c for view in views for c in publish(OUTCOMES, rows, view)]
    for c in cells:
        n = sum(1 for r in rows if all(r.group.get(d) == v for d, v in c.group.items()))
        assert c.suppressed or n >= 11 or n == 0, c
    present = [
        sorted({k[0] for k, (n, _) in table.items() if n}) or ["a"],
        sorted({k[1] for k, (n, _) in table.items() if n}) or ["en"],
    ]
    combos = [(b, "online", la, "NY") for b, la in product(*present)]
    assert recoverable(cells, combos, OUTCOMES.dimensions, "clients_with_outcomes") == []
