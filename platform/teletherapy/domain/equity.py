"""Access-equity metrics from anonymous observations, with small-cell and complementary suppression.

A *family* of metrics shares one kind of observation (a search, a session, a client's
first search, a therapist's reduced-fee places) and the dimensions it can be broken
down by. Every published table is one metric by one dimension, with its total:

    metric x {fee_band | setting | language | state}  +  the total ("group": {})

Suppression (`protect`) works on the counts behind each cell: the number of distinct
people (clients, or therapists for capacity; each search counts as one person, as
searches carry no identity) a cell is drawn from.

1. Primary: a cell drawn from 1 to SUPPRESS_BELOW - 1 people is suppressed (a cell of
   no one shows 0, as zeros disclose nothing about anyone).
2. Complementary: the published cells and totals are linear equations (a total is the
   sum of its cells). While any suppressed count is *determined* by the visible ones
   (it lies in the row space of the equations restricted to the hidden cells), the
   smallest visible cell sharing an equation with it is suppressed too.

Filters narrow the population to a band, setting, language and state, in any
combination. A filtered table (band = a, by state) is one row of the two-way table
band x state, protected as a whole with the one-way tables as its margins, locked to
what the unfiltered views publish; band = a and setting = online, by state, is a slice
of the three-way table, protected with every two-way and one-way table as its margins,
and so on: every view that shows a cell shows it the same way, and subtracting views
from each other recovers nothing.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations, product
from typing import Literal

from teletherapy.domain import suppression
from teletherapy.domain.suppression import (
    ALL,
    Equation,
    Key,
    protect,
    protect_table,
)

DIMENSIONS = ("fee_band", "setting", "language", "state")

Kind = Literal["count", "share", "median", "p75", "sum"]


# --- what is computed ---------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One anonymous fact: drawn from `unit` (an opaque id), in `group`, with numbers."""

    unit: Hashable
    group: Mapping[str, str]
    numbers: Mapping[str, float]


@dataclass(frozen=True)
class Metric:
    """`count`: sum of `field`; `share`: sum(field) / sum(denominator); `sum`: a total over
    therapists (capacity); `median`/`p75`: of `field` among observations that have it.
    The cell's people are the distinct units of observations where `base` is non-zero."""

    code: str
    kind: Kind
    field: str
    base: str
    denominator: str | None = None


@dataclass(frozen=True)
class Family:
    code: str
    dimensions: tuple[str, ...]
    metrics: tuple[Metric, ...]


@dataclass(frozen=True)
class PublishedCell:
    metric: str
    group: Mapping[str, str]
    value: float | None
    suppressed: bool
    family: str = ""
    dimension: str = ""  # "" for the total

    def as_dict(self) -> dict[str, object]:
        return {
            "metric": self.metric,
            "group": dict(self.group),
            "value": self.value,
            "suppressed": self.suppressed,
        }


@dataclass(frozen=True)
class RecruitingNeed:
    state: str
    setting: str
    language: str
    searches: int
    most_removed_by: str | None


@dataclass
class _Counts:
    units: set[Hashable] = field(default_factory=set)


# --- statistics ---------------------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (statistics.quantiles 'inclusive')."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def metric_value(metric: Metric, observations: Sequence[Observation]) -> float | None:
    """The metric over these observations (None when it has nothing to be computed from)."""
    if metric.kind in ("count", "sum"):
        return float(sum(o.numbers.get(metric.field, 0) for o in observations))
    if metric.kind == "share":
        assert metric.denominator is not None
        denominator = sum(o.numbers.get(metric.denominator, 0) for o in observations)
        if not denominator:
            return None
        numerator = sum(o.numbers.get(metric.field, 0) for o in observations)
        return round(numerator / denominator, 3)
    values = [o.numbers[metric.field] for o in observations if metric.field in o.numbers]
    result = quantile(values, 0.5 if metric.kind == "median" else 0.75)
    return None if result is None else round(result, 1)


def people(metric: Metric, observations: Iterable[Observation]) -> int:
    return len({o.unit for o in observations if o.numbers.get(metric.base, 0)})


# --- publishing ---------------------------------------------------------------------------


def _matches(observation: Observation, filters: Mapping[str, str]) -> bool:
    return all(observation.group.get(d) == c for d, c in filters.items())


def _by(observations: Iterable[Observation], dimension: str) -> dict[str, list[Observation]]:
    groups: dict[str, list[Observation]] = {}
    for o in observations:
        groups.setdefault(o.group.get(dimension, ""), []).append(o)
    return groups


def _counts(metric: Metric, groups: Mapping[str, Sequence[Observation]]) -> dict[str, int]:
    return {code: people(metric, obs) for code, obs in groups.items()}


class _Lattice:
    """Every table a view of one metric can show: the total and one-way tables (level 1),
    and for views filtered on several dimensions, the tables of those dimensions crossed
    (level k: every k-way table). All tables of one level are protected together, with
    the level below as their margins, locked to what it publishes: every view that shows
    a cell shows it the same way, and no combination of views recovers a hidden one
    (sibling tables, such as band x state and setting x state, share cells' people)."""

    def __init__(self, family: Family, metric: Metric, observations: Sequence[Observation]):
        self.dimensions = family.dimensions
        self.codes = {
            d: sorted({o.group.get(d, "") for o in observations}) for d in family.dimensions
        }
        units: dict[tuple[str, ...], set[Hashable]] = {}
        for o in observations:
            if o.numbers.get(metric.base, 0):
                code = tuple(o.group.get(d, "") for d in family.dimensions)
                units.setdefault(code, set()).add(o.unit)
        self.units = units
        self._hidden: dict[tuple[str, ...], frozenset[tuple[str, ...]]] = {}

    def hidden(self, dims: Sequence[str]) -> frozenset[tuple[str, ...]]:
        """The suppressed cells (code tuples, in the family's order) of a table."""
        key = tuple(d for d in self.dimensions if d in dims)
        if key not in self._hidden:
            self._level(len(key))
        return self._hidden[key]

    def _count(self, dims: tuple[str, ...], code: tuple[str, ...]) -> int:
        where = [self.dimensions.index(d) for d in dims]
        return len(
            {
                unit
                for full, units in self.units.items()
                if all(full[i] == c for i, c in zip(where, code, strict=True))
                for unit in units
            }
        )

    def _grid(self, dims: tuple[str, ...]) -> list[tuple[str, ...]]:
        return list(product(*(self.codes[d] for d in dims)))

    def _level(self, k: int) -> None:
        """Protect every table of the family at once (the total, every one-way table and
        every crossed one): a view filtered on several dimensions is a slice of one of
        them, and tables of different levels constrain each other (a zero shown in a
        three-way table tells about the two-way cells it adds up to)."""
        tables = [
            dims
            for n in range(len(self.dimensions) + 1)
            for dims in combinations(self.dimensions, n)
        ]
        counts: dict[Key, int] = {}
        for dims in tables:
            counts |= {(dims, code): self._count(dims, code) for code in self._grid(dims)}
        equations: list[Equation] = []
        for dims in tables:
            for i, d in enumerate(dims):
                rest = dims[:i] + dims[i + 1 :]
                for code in self._grid(rest):
                    parts = [(dims, (*code[:i], c, *code[i:])) for c in self.codes[d]]
                    equations.append(((rest, code), parts))
        self._store(protect(counts, equations), tables)

    def _store(self, hidden: frozenset[Key], tables: Sequence[tuple[str, ...]]) -> None:
        for dims in tables:
            self._hidden[dims] = frozenset(
                code
                for key in hidden
                if isinstance(key, tuple) and key[0] == dims
                for code in [key[1]]
                if isinstance(code, tuple)
            )


def publish(
    family: Family, observations: Sequence[Observation], filters: Mapping[str, str]
) -> list[PublishedCell]:
    """Every metric of the family: its total and one table per dimension, protected.

    Filters on several dimensions combine: the view filtered on band a and state NY is
    one slice of the band x state table (its total) and of the band x state x setting
    and band x state x language tables (its breakdowns), each protected with all of
    its lower-order tables as margins (`_Lattice`). Filters on a dimension the family
    does not have are ignored (capacity is by state only).
    """
    filters = {d: c for d, c in filters.items() if d in family.dimensions}
    focus = tuple(d for d in family.dimensions if d in filters)
    code = tuple(filters[d] for d in focus)
    inside = [o for o in observations if _matches(o, filters)]
    cells: list[PublishedCell] = []
    lattices: dict[str, _Lattice] = {}  # metrics drawn from the same people share one
    for metric in family.metrics:
        if metric.base not in lattices:
            lattices[metric.base] = _Lattice(family, metric, observations)
        lattice = lattices[metric.base]
        total_hidden = (
            code in lattice.hidden(focus) or 0 < people(metric, inside) < suppression.SUPPRESS_BELOW
        )
        cells.append(
            PublishedCell(
                metric.code,
                dict(filters),
                None if total_hidden else metric_value(metric, inside),
                total_hidden,
                family.code,
            )
        )
        for dimension in family.dimensions:
            if dimension in filters:
                continue
            within = _by(inside, dimension)
            dims = tuple(d for d in family.dimensions if d in filters or d == dimension)
            at = dims.index(dimension)
            hidden = {
                k[at]
                for k in lattice.hidden(dims)
                if all(k[dims.index(d)] == c for d, c in filters.items())
            }
            for value in sorted(within):
                suppressed = value in hidden  # the same in every view that shows it
                cells.append(
                    PublishedCell(
                        metric.code,
                        {**filters, dimension: value},
                        None if suppressed else metric_value(metric, within[value]),
                        suppressed,
                        family.code,
                        dimension,
                    )
                )
    return cells


def published_one_way(
    family: Family, metric: Metric, observations: Sequence[Observation]
) -> dict[str, frozenset[str]]:
    """What the family's one-way tables of `metric` suppress, by dimension (ALL when the
    total is suppressed), as `publish` shows them."""
    lattice = _Lattice(family, metric, observations)
    total = {ALL} if () in lattice.hidden(()) else set()
    return {d: frozenset({c for (c,) in lattice.hidden((d,))} | total) for d in family.dimensions}


def one_way_hidden(
    metric: Metric, observations: Sequence[Observation], dimension: str
) -> frozenset[str]:
    counts = _counts(metric, _by(observations, dimension))
    return protect_table(counts, people(metric, observations))


def recruiting_list(
    no_match: Sequence[Observation],
    *,
    published_hidden: Mapping[str, frozenset[str]],
    limit: int = 10,
) -> list[RecruitingNeed]:
    """The state x setting x required language cells with the most searches that found
    no one: at most `limit`, each from at least SUPPRESS_BELOW searches, and only those
    whose count cannot be recovered from the one-way tables of no-match searches
    (`published_hidden`: the codes each of those tables suppresses). A cell that would
    give another away is left off the list rather than shown as suppressed, so the order
    of the list reveals nothing about hidden counts."""
    dims = ("state", "setting", "language")
    triples = Counter(tuple(o.group.get(d, "") for d in dims) for o in no_match)
    filters: dict[tuple[str, str, str], Counter[str]] = {}
    for o in no_match:
        key = (o.group.get("state", ""), o.group.get("setting", ""), o.group.get("language", ""))
        filters.setdefault(key, Counter())[o.group.get("most_removed_by", "")] += 1
    codes = [sorted({t[i] for t in triples}) for i in range(3)]
    every = [(s, se, la) for s in codes[0] for se in codes[1] for la in codes[2]]
    counts: dict[Key, int] = {t: triples.get(t, 0) for t in every}
    equations: list[Equation] = []
    for i, dimension in enumerate(dims):
        for code in codes[i]:
            margin = (dimension, code)
            counts[margin] = sum(n for t, n in triples.items() if t[i] == code)
            equations.append((margin, [t for t in every if t[i] == code]))
    counts[ALL] = sum(triples.values())
    equations.append((ALL, list(every)))
    ranked = sorted(
        (t for t in every if counts[t] >= suppression.SUPPRESS_BELOW), key=lambda t: (-counts[t], t)
    )
    shown = ranked[:limit]
    margins = [k for k in counts if (isinstance(k, tuple) and len(k) == 2) or k == ALL]
    hidden_margins = [
        k
        for k in margins
        if (k == ALL and ALL in published_hidden.get("state", frozenset()))
        or (isinstance(k, tuple) and k[1] in published_hidden.get(str(k[0]), frozenset()))
    ]
    hidden = protect(
        counts,
        equations,
        locked_visible=[k for k in margins if k not in hidden_margins],
        locked_hidden=[*hidden_margins, *(t for t in every if t not in shown)],
    )
    return [
        RecruitingNeed(
            state=t[0],
            setting=t[1],
            language=t[2],
            searches=counts[t],
            most_removed_by=filters[t].most_common(1)[0][0] or None,
        )
        for t in shown
        if t not in hidden
    ]


def summary_statistics(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Median and 75th percentile (a therapist's own numbers need no suppression)."""
    if not values:
        return None, None
    return float(statistics.median(values)), quantile(values, 0.75)
