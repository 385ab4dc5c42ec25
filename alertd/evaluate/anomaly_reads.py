"""What one anomaly evaluation reads: each source's line items as amounts per bucket of a step,
read once (one query per source and step) and shared by every rule and series that counts them.
A group's series is the sum of its line items' arrays, not one SQL sum per rule and source.

Every array is indexed by bucket number (`start // step`) from the grid's `base`. Values follow
`alertd.rules.series.dense`: a row counts when it ended by `until`; a bucket of a source that
reported nothing is a gap.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import or_

from alertd.rules.series import dense
from alertd.store import Store


@dataclass
class Grid:
    """One source's line items on the buckets [base, base + size) of `step`."""

    base: int
    size: int
    items: dict[str, array] = field(default_factory=dict)  # line item → 'q' amounts of rows that ended by `until`
    seen: dict[str, bytearray] = field(default_factory=dict)  # line item → 1 where it has a row
    reported: bytearray = field(default_factory=bytearray)  # 1 where the source has any row
    # Every row starts on a bucket of `step` and lasts at most one: then a bucket's sum of line
    # items equals SQL's sum of the rows, whatever `until` is (else a long row may end past it).
    exact: bool = True

    def covers(self, first: int, step: int) -> bool:
        return self.base <= first // step


class Reads:
    """Per (source, step): the range and line items wanted (`want`), then read at once (`load`)."""

    def __init__(self, store: Store, until: int) -> None:
        self.store = store
        self.until = until
        self._wants: dict[tuple[str, int], tuple[int, set[str] | None]] = {}
        self.grids: dict[tuple[str, int], Grid] = {}

    def want(self, source: str, step: int, since: int, items: Iterable[str] | None) -> None:
        """Buckets of `step` from `since` to `until`, of these line items (None: all)."""
        found = self._wants.get((source, step))
        if found is None:
            self._wants[source, step] = (since, None if items is None else set(items))
            return
        lo, names = found
        merged = None if names is None or items is None else names | set(items)
        self._wants[source, step] = (min(lo, since), merged)

    def load(self) -> None:
        """One query per (source, step) wanted: its line items' rows into arrays, SQLite grouping them."""
        scans, until = self.store.scan_states, self.until
        for (source, step), (since, names) in self._wants.items():
            base = since // step
            grid = self.grids[source, step] = Grid(base, max(0, until // step - base))
            reported = grid.reported = bytearray(grid.size)
            size, items, seen = grid.size, grid.items, grid.seen
            empty = array("q", bytes(8 * size))
            exact = True
            wanted = None if names is None else sorted(names)
            for item, buckets, amounts, on_grid in scans.item_arrays(source, base * step, until, wanted, step):
                exact = exact and on_grid
                values, marks = items[item], seen[item] = empty[:], bytearray(size)
                lo, n = buckets[0], len(buckets)
                if buckets == list(range(lo, lo + n)):  # a row in every bucket from the first: placed in one go
                    n = max(0, min(n, size - lo))  # not the bucket still running at `until`
                    values[lo : lo + n] = array("q", amounts[:n])
                    marks[lo : lo + n] = b"\x01" * n
                    continue
                for i, amount in zip(buckets, amounts, strict=True):
                    if i < size:
                        marks[i] = 1
                        values[i] += amount
            grid.exact = exact
            if names is None:  # every row was read: what the source reported is where any item has one
                for marks in seen.values():
                    reported[:] = bytes(map(or_, reported, marks))
            else:
                for start, _ in scans.reported(source, base * step, until):
                    if start // step - base < size:
                        reported[start // step - base] = 1
        self._wants.clear()

    def grid(self, source: str, step: int) -> Grid:
        return self.grids[source, step]

    def series(
        self, selected: Sequence[tuple[str, list[str]]], first: int, count: int, step: int, per_item: bool
    ) -> list[int | None]:
        """`count` buckets from unix time `first` of the sum of the `selected` (source, line items);
        a gap where none of those sources reported anything."""
        grids = [self.grids[source, step] for source, _ in selected]
        if per_item or all(g.exact for g in grids):
            return _summed(grids, [names for _, names in selected], first, count, step)
        # A row outlasts its bucket: summed per bucket in SQL, counted if the bucket ended by `until`.
        scans, until = self.store.scan_states, self.until
        seen = chain.from_iterable(scans.reported(source, first, until) for source, _ in selected)
        rows = [
            (start, seconds, amount)
            for source, names in selected
            for _, start, seconds, amount in scans.buckets(source, first, until, names, False)
        ]
        return dense(first, count, step, until, seen, rows)

    def parts(
        self,
        sources: Sequence[str],
        wanted: Callable[[str], bool],
        item: str | None,
        first: int,
        count: int,
        step: int,
    ) -> dict[str, list[int]]:
        """Per wanted line item of `sources` with a row in the buckets [first, first + count), its
        amounts there (a line item of several sources summed), as `drivers` takes them: in the
        order SQL would list the rows (sources in turn, then by bucket and name), which breaks ties
        between drivers of the same size."""
        grids = [self.grids[source, step] for source in sources]
        if not all(g.exact for g in grids):  # rows that ended by the last bucket, read again
            return _parts_in_sql(self.store, sources, wanted, item, first, count, step)
        order: dict[str, tuple[int, int]] = {}
        found: dict[str, list[int]] = {}
        for k, grid in enumerate(grids):
            lo = first // step - grid.base
            for name, amounts in grid.items.items():
                at = grid.seen[name].find(1, lo, lo + count) if wanted(name) else -1
                if at < 0:
                    continue
                order.setdefault(name, (k, at))
                window = amounts[lo : lo + count].tolist()
                have = found.get(name)
                found[name] = window if have is None else [a + b for a, b in zip(have, window, strict=True)]
        return {name: found[name] for name in sorted(order, key=lambda name: (*order[name], name))}


def _parts_in_sql(
    store: Store,
    sources: Sequence[str],
    wanted: Callable[[str], bool],
    item: str | None,
    first: int,
    count: int,
    step: int,
) -> dict[str, list[int]]:
    end = first + count * step
    found: dict[str, list[tuple[int, int, int]]] = {}
    for source in sources:
        for name, start, seconds, amount in store.scan_states.buckets(
            source, first, end, None if item is None else [item], True
        ):
            if wanted(name):
                found.setdefault(name, []).append((start, seconds, amount))
    return {name: [v or 0 for v in dense(first, count, step, end, (), rows)] for name, rows in found.items()}


def _summed(
    grids: Sequence[Grid], selected: Sequence[Sequence[str]], first: int, count: int, step: int
) -> list[int | None]:
    """The series of `count` buckets from unix time `first`: per bucket, the sum of the selected
    line items of each grid's source, or None where none of those sources reported anything."""
    parts = []
    reported = None
    for grid, names in zip(grids, selected, strict=True):
        lo = first // step - grid.base
        parts += [grid.items[name][lo : lo + count] for name in names]
        marks = grid.reported[lo : lo + count]
        reported = marks if reported is None else bytes(map(or_, reported, marks))
    assert reported is not None
    totals = (
        parts[0].tolist() if len(parts) == 1 else list(map(sum, zip(*parts, strict=True))) if parts else [0] * count
    )
    return [v if r else None for v, r in zip(totals, reported, strict=True)]
