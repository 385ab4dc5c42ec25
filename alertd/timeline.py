"""Budgets' spend as their buckets arrive, for `alertd replay`.

Each bucket arrives at its end. The `Ledger` keeps every series' buckets once, as growing arrays
of starts and running sums, however many budgets count the series; a `Timeline` (one per
selection of series: budgets that filter alike share one) adds its series' spend per local day
and per hour. A status at any hour is then a few bisections and slices, so replaying a year
costs what arrived plus what is asked, not the history times the hours or the budgets.
`Timeline.spend(w)` equals `rules.budget.spend_of_rows` over its series' buckets arrived by `w.now`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
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
        # Whether the previous period has data: a local day of it summing to anything but zero.
        known = any(self.days.window(local_day(previous, self.tz), local_day(start, self.tz)))
        daily = self.days.window(local_day(start, self.tz), local_day(now, self.tz) + 1)
        first = w.hourly_since
        if self.newest <= first:
            return Spend(current, compared, before, known, daily, [], first)
        last = min(self.newest, -(-now // HOUR) * HOUR)
        hourly = self.hours.window(first // HOUR, -(-last // HOUR))
        sources = {s for s, _ in self.series if self.through.get(s, 0) > first}
        hourly, last, after = horizon_cut(hourly, first, last, horizon(sources, self.through), start)
        return Spend(current, compared, before, known, daily, hourly, last, after)


class Ledger:
    """Every arrived bucket, kept once per series, and counted by the timelines selecting it."""

    def __init__(self, tz: ZoneInfo, counting: Mapping[Series, Sequence[Timeline]]) -> None:
        self.tz = tz
        self.counting = counting  # series → the timelines selecting it
        self.buckets: dict[Series, _Buckets] = {}
        self._days: dict[int, int] = {}  # bucket start hour → local day
        self.through: dict[str, int] = {}  # per source, the end of its newest arrived bucket
        for timelines in counting.values():
            for timeline in timelines:
                timeline.through = self.through

    def arrive(self, rows: Iterable[Row]) -> None:
        """Buckets at their end (in the order of their ends). A timeline counts the hourly ones
        summed per hour: one bucket's worth of work per hour, not one per series. A longer one is
        spread over its hours on its own, as `hour_shares` spreads one bucket."""
        added: dict[tuple[Timeline, int], int] = {}  # (timeline, hour) → its one-hour buckets' sum
        through, counting, known = self.through, self.counting, self.buckets
        for source, item, start, seconds, amount in rows:
            series = (source, item)
            buckets = known.get(series)
            if buckets is None:
                buckets = known[series] = _Buckets()
                for timeline in counting[series]:
                    timeline.series[series] = buckets
            buckets.add(start, amount)
            end = start + seconds
            if end > through.get(source, 0):
                through[source] = end
            if seconds == HOUR and start % HOUR == 0:
                for timeline in counting[series]:
                    key = (timeline, start)
                    added[key] = added.get(key, 0) + amount
            else:
                for timeline in counting[series]:
                    timeline.count(self._day(start), start, seconds, amount)
        for (timeline, start), amount in added.items():
            timeline.count(self._day(start), start, HOUR, amount)

    def _day(self, start: int) -> int:
        if start % HOUR:  # a bucket not on the hour: not worth caching
            return local_day(start, self.tz)
        day = self._days.get(start)
        if day is None:
            day = self._days[start] = local_day(start, self.tz)
        return day
