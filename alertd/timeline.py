"""Budgets' spend as their buckets arrive, for `alertd replay`.

Each bucket arrives at its end. The `Ledger` keeps every series' buckets once, as growing arrays
of starts and running sums, however many budgets count the series; a `Timeline` (one per
selection of series: budgets that filter alike share one) adds its series' spend per local day
and per hour. A status at any hour is then a few bisections and slices, so replaying a year
costs what arrived plus what is asked, not the history times the hours or the budgets.
`Timeline.spend(w)` equals `rules.budget.spend_of_rows` over its series' buckets arrived by `w.now`.
A series' one-hour buckets on the hour are in its arrays before they arrive: a status asks only
about spans ending by its `now`, and every such bucket starting before then has ended.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate, pairwise
from zoneinfo import ZoneInfo

from alertd.rules.budget import (
    HOUR,
    Series,
    Spend,
    Windows,
    compare_point,
    horizon,
    horizon_cut,
    hour_shares,
    previous_point,
)
from alertd.store.rollup import local_day

Row = tuple[str, str, int, int, int]  # source, line_item, bucket_start, bucket_seconds, amount


class _Buckets:
    """One series' buckets by start, with `sums[i]` = the amounts of the first i (a year of hours
    is 8,760 × 16 bytes, not 8,760 tuples)."""

    __slots__ = ("starts", "sums")

    def __init__(self) -> None:
        self.starts, self.sums = array("q"), array("q", [0])

    def add(self, start: int, amount: int) -> None:
        if self.starts and self.starts[-1] > start:  # a longer bucket, begun before one arrived
            i = bisect_left(self.starts, start)
            self.starts.insert(i, start)
            self.sums[i + 1 :] = array("q", [s + amount for s in self.sums[i:]])
        else:
            self.starts.append(start)
            self.sums.append(self.sums[-1] + amount)

    def between(self, since: int, until: int) -> int | None:
        """The buckets starting in [since, until); None if there are none."""
        lo, hi = bisect_left(self.starts, since), bisect_left(self.starts, until)
        return self.sums[hi] - self.sums[lo] if hi > lo else None


class _Dense:
    """Integers in consecutive slots (local days, unix hours), grown to the slots added."""

    __slots__ = ("origin", "values")

    def __init__(self) -> None:
        self.origin, self.values = 0, array("q")

    def add(self, slot: int, amount: int) -> None:
        if not self.values:
            self.origin = slot
        elif slot < self.origin:
            self.values[0:0] = array("q", bytes(8 * (self.origin - slot)))
            self.origin = slot
        i = slot - self.origin
        if i >= len(self.values):
            self.values.frombytes(bytes(8 * (i + 1 - len(self.values))))
        self.values[i] += amount

    def window(self, first: int, end: int) -> list[int]:
        """Slots [first, end), 0 where nothing was added."""
        lo, hi = max(first, self.origin), min(end, self.origin + len(self.values))
        if lo >= hi:
            return [0] * max(0, end - first)
        return [0] * (lo - first) + self.values[lo - self.origin : hi - self.origin].tolist() + [0] * (end - hi)

    def total(self, first: int, end: int) -> int:
        lo, hi = max(0, first - self.origin), max(0, end - self.origin)
        return sum(self.values[lo:hi])


class Timeline:
    """The spend of one selection of series as its buckets arrive (through a `Ledger`)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.newest = 0  # end of the newest arrived bucket
        # Per source, the end of its newest arrived bucket: its data is complete through then
        # (the ledger's, shared by every timeline).
        self.through: dict[str, int] = {}
        self.series: dict[Series, _Buckets] = {}  # the ledger's, for the series this one counts
        self.days = _Dense()  # by local day of the bucket's start
        self.hours = _Dense()  # by unix hour, long buckets spread (`hour_shares`)

    def count(self, day: int, start: int, seconds: int, amount: int) -> None:
        """One bucket of its series, or its one-hour buckets of one hour, summed."""
        self.days.add(day, amount)
        if seconds == HOUR and start % HOUR == 0:  # the common case, without the spreading
            self.hours.add(start // HOUR, amount)
        else:
            for hour, part in hour_shares(start, seconds, amount):
                self.hours.add(hour // HOUR, part)
        self.newest = max(self.newest, start + seconds)

    def spent(self, first_day: int, today: int) -> int:
        """What arrived for the local days [first_day, today]: a period's spend so far."""
        return self.days.total(first_day, today + 1)

    def spend(self, w: Windows) -> Spend:
        """The spend at `w.now` (every bucket ended by then has arrived, no later one)."""
        start, now = int(w.start.timestamp()), int(w.now.timestamp())
        previous = int(w.previous.timestamp())
        current, compared, before = {}, {}, {}
        for s, buckets in self.series.items():
            point = compare_point(w, self.through.get(s[0]))
            if (spent := buckets.between(start, now)) is not None:
                current[s] = spent
            if (spent := buckets.between(start, point)) is not None:
                compared[s] = spent
            if (spent := buckets.between(previous, previous_point(w, point))) is not None:
                before[s] = spent
        before_days = self.days.window(local_day(previous, self.tz), local_day(start, self.tz))
        daily = self.days.window(local_day(start, self.tz), local_day(now, self.tz) + 1)
        first = w.hourly_since
        if self.newest <= first:
            return Spend(current, compared, before, before_days, daily, [], first)
        last = min(self.newest, -(-now // HOUR) * HOUR)
        hourly = self.hours.window(first // HOUR, -(-last // HOUR))
        sources = {s for s, _ in self.series if self.through.get(s, 0) > first}
        hourly, last, after = horizon_cut(hourly, first, last, horizon(sources, self.through), start)
        return Spend(current, compared, before, before_days, daily, hourly, last, after)


class Ledger:
    """Every arrived bucket, kept once per series, and counted by the timelines selecting it.

    One-hour buckets on the hour, nearly all of a replay's, are loaded up front (`hourly`, from
    arrays SQLite groups per series) and summed per timeline and hour in one pass; at each hour
    a timeline then counts one sum, not one bucket per series. The others arrive as rows."""

    def __init__(self, tz: ZoneInfo, counting: Mapping[Series, Sequence[Timeline]], first: int, until: int) -> None:
        self.tz = tz
        self.counting = counting  # series → the timelines selecting it
        self.buckets: dict[Series, _Buckets] = {}
        self._days: dict[int, int] = {}  # bucket start hour → local day
        self.through: dict[str, int] = {}  # per source, the end of its newest arrived bucket
        for timelines in counting.values():
            for timeline in timelines:
                timeline.through = self.through
        # Loaded one-hour buckets by slot (the hour from `first`, a whole hour): per timeline their
        # sum and whether there is one at all (a gap counts nothing), per source whether it has one.
        self.first, self._slots, self._next = first, max(0, -(-(until - first) // HOUR)), 0
        timelines = {t for ts in counting.values() for t in ts}
        self._sums = {t: array("q", bytes(8 * self._slots)) for t in timelines}
        self._counted = {t: bytearray(self._slots) for t in timelines}
        self._sourced = {source: bytearray(self._slots) for (source, _), ts in counting.items() if ts}

    def hourly(self, series: Series, hours: Sequence[int], amounts: Sequence[int]) -> None:
        """A series' one-hour buckets on the hour (`hours` counted from `first`, distinct, within
        the slots), before any of its buckets arrives as a row: they arrive as `arrive` passes
        their ends."""
        if any(a > b for a, b in pairwise(hours)):  # a GROUP BY need not keep the order of the key
            hours, amounts = zip(*sorted(zip(hours, amounts, strict=True)), strict=True)
        buckets = self._series(series)
        buckets.starts.extend(self.first + h * HOUR for h in hours)
        buckets.sums.extend(accumulate(amounts, initial=buckets.sums.pop()))
        self._mark(self._sourced[series[0]], hours)
        for timeline in self.counting[series]:
            self._mark(self._counted[timeline], hours)
            sums = self._sums[timeline]
            for h, amount in zip(hours, amounts, strict=True):
                sums[h] += amount

    @staticmethod
    def _mark(flags: bytearray, hours: Sequence[int]) -> None:
        for h in hours:
            flags[h] = 1

    def arrive(self, now: int, rows: Iterable[Row]) -> None:
        """The loaded buckets ended by `now`, and `rows`: the other buckets that ended since the
        last call (in the order of their ends; a longer one is spread over its hours on its own,
        as `hour_shares` spreads one bucket)."""
        through = self.through
        for slot in range(self._next, min(self._slots, (now - self.first) // HOUR)):
            start = self.first + slot * HOUR
            for source, flags in self._sourced.items():
                if flags[slot] and start + HOUR > through.get(source, 0):
                    through[source] = start + HOUR
            for timeline, flags in self._counted.items():
                if flags[slot]:
                    timeline.count(self._day(start), start, HOUR, self._sums[timeline][slot])
            self._next = slot + 1
        for source, item, start, seconds, amount in rows:
            series = (source, item)
            self._series(series).add(start, amount)
            if start + seconds > through.get(source, 0):
                through[source] = start + seconds
            for timeline in self.counting[series]:
                timeline.count(self._day(start), start, seconds, amount)

    def _series(self, series: Series) -> _Buckets:
        buckets = self.buckets.get(series)
        if buckets is None:
            buckets = self.buckets[series] = _Buckets()
            for timeline in self.counting[series]:
                timeline.series[series] = buckets
        return buckets

    def _day(self, start: int) -> int:
        if start % HOUR:  # a bucket not on the hour: not worth caching
            return local_day(start, self.tz)
        day = self._days.get(start)
        if day is None:
            day = self._days[start] = local_day(start, self.tz)
        return day
