"""Spend per hour of the recent past, per series, held between the evaluations of one process.

The forecast projects from the last weeks of hours; reading them is most of what a budget pass
costs once the rollup gives the days (~140k rows at 160 series). A running daemon keeps what it
read, per source: the next read takes in only the hours the change log says were written since,
and the hours new since the last read, and drops the hours that left the window. A command reads
once and gains nothing, which is also how a fresh process starts.

What is held is the same, hour for hour, as a fresh read: a read whose bookkeeping it cannot
trust (changes pruned past it, a window that moved back) is a fresh read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from alertd.rules.budget import HOUR, hour_shares

if TYPE_CHECKING:
    from collections.abc import Sequence

    from alertd.store.rollup import Rollup
    from alertd.store.sums import Sums

LONGEST_BUCKET = 31 * 86400  # a monthly row (FOCUS) spreads into the window from before it
Series = tuple[str, str]  # (source, line item)


@dataclass(frozen=True, slots=True)
class _Held:
    """One source's hours [first, first + len) as of change `as_of`, from rows starting before `until`."""

    first: int
    until: int
    as_of: int
    longest: int  # the longest bucket read: how far back a row may reach into a later read
    values: dict[str, list[int]]  # line item → spend per hour
    newest: dict[str, int]  # line item → where its newest bucket ends


class Hours:
    def __init__(self, sums: Sums, rollup: Rollup) -> None:
        self.sums, self.rollup = sums, rollup
        self._held: dict[str, _Held] = {}

    def series(self, sources: Sequence[str], first: int, count: int, until: int) -> dict[Series, tuple[list[int], int]]:
        """Per series of `sources` with a bucket in the hours [first, first + count) (`first` on the
        hour; long buckets spread over their hours), its spend per hour and where its newest bucket
        ends, from the rows starting before `until`. The lists are not to be changed."""
        as_of = self.rollup.newest_change()  # before reading: a write after it is read again next time
        pruned = self.rollup.pruned()
        spans: dict[int, dict[str, tuple[int, int]]] = {}
        found: dict[Series, tuple[list[int], int]] = {}
        for source in sources:
            held = self._held.get(source)
            if held is None or held.as_of < pruned or first < held.first or until < held.until:
                held = self._read(source, first, count, until, as_of)
            else:
                if held.as_of not in spans:
                    spans[held.as_of] = self.rollup.changes_since(held.as_of)[0]
                held = self._update(held, source, first, count, until, as_of, spans[held.as_of].get(source))
            self._held[source] = held
            for item, values in held.values.items():
                found[source, item] = (values, held.newest[item])
        return found

    def _update(
        self, held: _Held, source: str, first: int, count: int, until: int, as_of: int, span: tuple[int, int] | None
    ) -> _Held:
        """`held` moved to the window [first, first + count) with the hours from `redo` on read again:
        the hour of its last read's end (a bucket may have grown) or the first changed, if earlier."""
        redo = held.until // HOUR * HOUR
        reach = held.longest  # rows held that start before `redo` and reach past it are read again
        if span is not None:
            redo = min(redo, span[0] // HOUR * HOUR)
            reach = min(LONGEST_BUCKET, max(reach, first - span[0]))  # a changed row from before the window
        redo = max(redo, first)
        shift, keep = (first - held.first) // HOUR, (redo - first) // HOUR
        base = {
            item: (values[shift : shift + keep] + [0] * (keep - len(values[shift : shift + keep])), held.newest[item])
            for item, values in held.values.items()
            if held.newest[item] > first
        }
        return self._read(source, first, count, until, as_of, redo, reach, held.longest, base)

    def _read(
        self,
        source: str,
        first: int,
        count: int,
        until: int,
        as_of: int,
        redo: int = 0,
        reach: int = LONGEST_BUCKET,
        longest: int = HOUR,
        base: dict[str, tuple[list[int], int]] | None = None,
    ) -> _Held:
        """The hours from `redo` (default `first`) read from the store, rows starting up to `reach`
        before it included, after `base`'s hours before it (per line item, and its newest end)."""
        redo = max(redo, first)
        keep = (redo - first) // HOUR
        values: dict[str, list[int]] = {}
        newest: dict[str, int] = {}
        for item, (head, end) in (base or {}).items():
            values[item] = head + [0] * (count - keep)
            newest[item] = min(end, redo)  # what ended after `redo` is read again below
        for _, item, hours, amounts, end in self.sums.hour_arrays([source], redo, until):
            row = values.get(item)
            if row is None:
                row = values[item] = [0] * count
            for hour, amount in zip(hours, amounts, strict=True):
                row[keep + hour] += amount
            newest[item] = max(newest.get(item, 0), end)
        for _, item, start, seconds, amount in self.sums.rows_off_the_hour([source], redo, until, reach):
            row = values.get(item)
            if row is None:
                row = values[item] = [0] * count
            longest = max(longest, seconds)
            newest[item] = max(newest.get(item, 0), start + seconds)
            for hour, part in hour_shares(start, seconds, amount):
                if redo <= hour < first + count * HOUR:
                    row[(hour - first) // HOUR] += part
        return _Held(first, until, as_of, longest, values, newest)
