"""Small-cell and complementary suppression of published tables (see domain.equity).

A cell drawn from 1 to SUPPRESS_BELOW - 1 people is hidden; while any hidden count is
determined by the visible cells and the equations the tables publish (a total is the
sum of its cells), the smallest visible cell sharing an equation with it is hidden too.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence

SUPPRESS_BELOW = 11
ALL = "*"  # the total of a table in `protect`'s keys
PRIME = (1 << 61) - 1  # rank over a large prime field: exact for these 0/1 systems

Key = Hashable
Equation = tuple[Key, Sequence[Key]]  # value(total) == sum(value(part) for part in parts)


def determined(hidden: Iterable[Key], equations: Sequence[Equation]) -> frozenset[Key]:
    """The hidden cells whose value the equations fix, given every other cell's value.

    A hidden cell is fixed exactly when its unit vector lies in the row space of the
    equations restricted to the hidden cells: in reduced row echelon form, a pivot
    column whose row has no other non-zero entry.
    """
    columns = list(dict.fromkeys(hidden))
    index = {key: i for i, key in enumerate(columns)}
    rows: list[dict[int, int]] = []
    for total, parts in equations:
        row: dict[int, int] = {}
        for key, sign in [(total, -1), *((p, 1) for p in parts)]:
            if key in index:
                col = index[key]
                row[col] = (row.get(col, 0) + sign) % PRIME
        row = {c: v for c, v in row.items() if v}
        if row:
            rows.append(row)
    pivots: dict[int, dict[int, int]] = {}  # pivot column -> its row (pivot entry 1)
    for row in rows:
        for col, pivot_row in pivots.items():  # reduce by the earlier pivots
            factor = row.get(col)
            if factor:
                for c, v in pivot_row.items():
                    row[c] = (row.get(c, 0) - factor * v) % PRIME
                row = {c: v for c, v in row.items() if v}
        if not row:
            continue
        col = min(row)
        inverse = pow(row[col], PRIME - 2, PRIME)
        row = {c: v * inverse % PRIME for c, v in row.items()}
        for other in pivots.values():  # keep the earlier rows reduced
            factor = other.get(col)
            if factor:
                for c, v in row.items():
                    other[c] = (other.get(c, 0) - factor * v) % PRIME
                for c in [c for c, v in other.items() if not v]:
                    del other[c]
        pivots[col] = row
    return frozenset(columns[col] for col, row in pivots.items() if len(row) == 1)


def protect(
    counts: Mapping[Key, int],
    equations: Sequence[Equation],
    *,
    locked_visible: Iterable[Key] = (),
    locked_hidden: Iterable[Key] = (),
    below: int | None = None,
) -> frozenset[Key]:
    """The cells to suppress: every cell under `below`, plus the fewest, smallest visible
    cells that stop any suppressed cell being recovered from the equations.

    Locked cells keep their state (they are published elsewhere as they are).
    """
    below = SUPPRESS_BELOW if below is None else below
    fixed_visible = set(locked_visible)
    for total, parts in equations:
        # A total published as 0 tells everyone that each of its parts is 0.
        if total in fixed_visible and counts.get(total) == 0:
            fixed_visible.update(parts)
    # A cell of no one is shown as 0: it says nothing about anybody.
    must = {k for k, n in counts.items() if 0 < n < below and k not in fixed_visible}
    must |= set(locked_hidden)
    hidden = set(must)
    while True:
        recovered = determined(hidden, equations) & must
        if not recovered:
            break
        free = [k for k in counts if k not in hidden and k not in fixed_visible]
        if not free:
            break  # nothing left to hide: what stays recoverable is public elsewhere
        # For each recovered cell, the smallest free cell sharing an equation with it (all
        # at once: large tables need far fewer rounds), else the smallest free cell.
        near: dict[Key, set[Key]] = {}
        for total, parts in equations:
            keys = {total, *parts}
            for r in recovered & keys:
                near.setdefault(r, set()).update(keys)
        rank = {k: (counts[k], repr(k)) for k in free}
        chosen = set()
        for r in sorted(recovered, key=repr):
            candidates = [k for k in near.get(r, ()) if k in rank]
            if candidates:
                chosen.add(min(candidates, key=rank.__getitem__))
        hidden |= chosen or {min(free, key=rank.__getitem__)}
    # A cell hidden only to protect others, whose value the visible cells fix anyway,
    # is shown: hiding it would protect nothing.
    return frozenset(hidden - (determined(hidden, equations) - must))


def protect_table(counts: Mapping[str, int], total: int) -> frozenset[str]:
    """A one-way table with its total: the codes to suppress (ALL for the total)."""
    cells: dict[Key, int] = {code: n for code, n in counts.items()}
    cells[ALL] = total
    return frozenset(str(k) for k in protect(cells, [(ALL, list(counts))]))


def protect_crossed(
    counts: Mapping[tuple[str, str], int],
    *,
    rows_hidden: frozenset[str],
    columns_hidden: frozenset[str],
) -> frozenset[tuple[str, str]]:
    """A two-way table (one dimension by another) whose margins are the one-way tables,
    published as they are (`rows_hidden`, `columns_hidden`: what those suppress, ALL for
    their total): the inner cells to suppress. A filtered view is one row (or column) of
    it, so every view that shows a cell shows it the same way."""
    rows = sorted({r for r, _ in counts})
    columns = sorted({c for _, c in counts})
    cells: dict[Key, int] = {(r, c): counts.get((r, c), 0) for r in rows for c in columns}
    for r in rows:
        cells[r, ALL] = sum(counts.get((r, c), 0) for c in columns)
    for c in columns:
        cells[ALL, c] = sum(counts.get((r, c), 0) for r in rows)
    cells[ALL, ALL] = sum(counts.values())
    equations: list[Equation] = [((r, ALL), [(r, c) for c in columns]) for r in rows]
    equations += [((ALL, c), [(r, c) for r in rows]) for c in columns]
    equations.append(((ALL, ALL), [(r, ALL) for r in rows]))
    margins = [(r, ALL) for r in rows] + [(ALL, c) for c in columns] + [(ALL, ALL)]
    hidden_margins = {(r, ALL) for r in rows if r in rows_hidden}
    hidden_margins |= {(ALL, c) for c in columns if c in columns_hidden}
    if ALL in rows_hidden:
        hidden_margins.add((ALL, ALL))
    hidden = protect(
        cells,
        equations,
        locked_visible=[m for m in margins if m not in hidden_margins],
        locked_hidden=hidden_margins,
    )
    return frozenset(
        (str(k[0]), str(k[1])) for k in hidden if isinstance(k, tuple) and ALL not in k
    )
