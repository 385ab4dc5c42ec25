"""One budget's spend as its buckets arrive, for `alertd replay`.

Each bucket arrives at its end. Arrivals are summed once, into running totals per period and
series, per local day and per hour; a status at any hour is then a few lookups, so replaying a
year costs what arrived plus what is asked, not the history times the number of hours.
`spend(w)` equals `rules.budget.spend_of_rows` over the buckets arrived by `w.now`; the caller
feeds each budget's timeline only the buckets of its series.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.model import utc
from alertd.rules.budget import HOUR, Series, Spend, Windows, hour_shares
from alertd.rules.periods import period_bounds
from alertd.store.rollup import day_start, local_day

Row = tuple[str, str, int, int, int]  # source, line_item, bucket_start, bucket_seconds, amount


class _Buckets:
    """One series' buckets of one period, by start: two integer arrays (a year of hours is
    8,760 × 16 bytes, not 8,760 tuples)."""

    __slots__ = ("amounts", "cumulative", "starts")

    def __init__(self) -> None:
        self.starts, self.amounts = array("q"), array("q")
        self.cumulative: list[int] | None = None

    def add(self, start: int, amount: int) -> None:
        if self.starts and self.starts[-1] > start:  # a late, shorter bucket: keep the order
            i = bisect_left(self.starts, start)
            self.starts.insert(i, start)
            self.amounts.insert(i, amount)
        else:
            self.starts.append(start)
            self.amounts.append(amount)
        self.cumulative = None

    def before(self, point: int) -> int:
        if self.cumulative is None:
            self.cumulative = list(accumulate(self.amounts, initial=0))
        return self.cumulative[bisect_left(self.starts, point)]


class Timeline:
    """A budget's buckets as they arrive (`arrive`, in the order of their ends): totals per period
    and series, the current and previous period's buckets, per-day and per-hour totals."""

    def __init__(self, budget: Budget, tz: ZoneInfo) -> None:
        self.budget = budget
        self.tz = tz
        self.newest = 0  # end of the newest arrived bucket
        self._days: dict[int, int] = {}  # bucket start hour → local day
        self._periods: dict[int, int] = {}  # local day → start of its period
        self.totals: dict[int, dict[Series, int]] = defaultdict(lambda: defaultdict(int))  # per period
        self.rows: dict[int, dict[Series, _Buckets]] = defaultdict(lambda: defaultdict(_Buckets))
        self.day_totals: dict[int, int] = defaultdict(int)
        self.hour_totals: dict[int, int] = defaultdict(int)

    def arrive(self, row: Row) -> None:
        source, item, start, seconds, amount = row
        day = self._day(start)
        period = self._period(day)
        series = (source, item)
        self.totals[period][series] += amount
        self.rows[period][series].add(start, amount)
        self.day_totals[day] += amount
        for hour, part in hour_shares(start, seconds, amount):
            self.hour_totals[hour] += part
        self.newest = max(self.newest, start + seconds)

    def _day(self, start: int) -> int:
        hour = start // HOUR * HOUR
        if start != hour:  # a bucket not on the hour: no sharing
            return local_day(start, self.tz)
        if hour not in self._days:
            self._days[hour] = local_day(hour, self.tz)
        return self._days[hour]

    def _period(self, day: int) -> int:
        if day not in self._periods:
            moment = utc(day_start(day, self.tz))
            start, _ = period_bounds(self.budget.period, moment, self.tz, self.budget.week_start)
            self._periods[day] = int(start.timestamp())
        return self._periods[day]

    def spend(self, w: Windows) -> Spend:
        """The budget's spend at `w.now` (advance to it first)."""
        start, previous = int(w.start.timestamp()), int(w.previous.timestamp())
        point = int(w.previous_point.timestamp())
        for old in [p for p in self.rows if p < previous]:  # periods no status looks at again
            del self.rows[old], self.totals[old]
        current = dict(self.totals.get(start, {}))
        before = {s: buckets.before(point) for s, buckets in self.rows.get(previous, {}).items()}
        now = int(w.now.timestamp())
        first_day, today = local_day(start, self.tz), local_day(now, self.tz)
        daily = [self.day_totals.get(d, 0) for d in range(first_day, today + 1)]
        first = w.hourly_since
        if self.newest <= first:
            return Spend(current, before, daily, [], first)
        last = min(self.newest, -(-now // HOUR) * HOUR)
        hourly = [self.hour_totals.get(h, 0) for h in range(first, last, HOUR)]
        return Spend(current, before, daily, hourly, last)
