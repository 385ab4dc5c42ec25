"""One budget's spend as its buckets arrive, for `alertd replay`.

Each bucket arrives at its end. Arrivals are summed once, into running totals per period and
series, per local day and per hour; a status at any hour is then a few lookups, so replaying a
year costs what arrived plus what is asked, not the history times the number of hours.
`spend(w)` equals `rules.budget.spend_of_rows` over the buckets arrived by `w.now`.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Iterator
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.model import utc
from alertd.rules.budget import HOUR, Series, Spend, Windows, selects
from alertd.rules.periods import period_bounds
from alertd.store.rollup import day_start, local_day

Row = tuple[str, str, int, int, int]  # source, line_item, bucket_start, bucket_seconds, amount


class Timeline:
    """Fed `rows` in the order they arrive (by bucket end); keeps the current and the previous
    period's buckets of the budget's series, per-day and per-hour totals."""

    def __init__(self, budget: Budget, rows: Iterator[Row], tz: ZoneInfo) -> None:
        self.budget = budget
        self.tz = tz
        self._rows = rows
        self._waiting: Row | None = next(rows, None)
        self.newest = 0  # end of the newest arrived bucket
        self._days: dict[int, int] = {}  # bucket start hour → local day
        self._periods: dict[int, int] = {}  # local day → start of its period
        self.totals: dict[int, dict[Series, int]] = defaultdict(lambda: defaultdict(int))  # per period
        self.rows: dict[int, dict[Series, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
        self._cumulative: dict[tuple[int, Series], tuple[list[int], list[int]]] = {}
        self.day_totals: dict[int, int] = defaultdict(int)
        self.hour_totals: dict[int, int] = defaultdict(int)

    def advance(self, now: int) -> None:
        """Take in every bucket of the budget's series that has ended by `now`."""
        budget, row = self.budget, self._waiting
        while row is not None and row[2] + row[3] <= now:
            if selects(budget, row[0], row[1]):
                self._arrive(row)
            row = next(self._rows, None)
        self._waiting = row

    def _arrive(self, row: Row) -> None:
        source, item, start, seconds, amount = row
        day = self._day(start)
        period = self._period(day)
        series = (source, item)
        self.totals[period][series] += amount
        rows = self.rows[period][series]
        if rows and rows[-1][0] > start:
            insort(rows, (start, amount))
        else:
            rows.append((start, amount))
        self._cumulative.pop((period, series), None)
        self.day_totals[day] += amount
        span = max(1, seconds // HOUR)
        share, remainder = divmod(amount, span)
        first = start // HOUR * HOUR
        for k in range(span):
            self.hour_totals[first + k * HOUR] += share + (remainder if k == 0 else 0)
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
            self._cumulative = {k: v for k, v in self._cumulative.items() if k[0] >= previous}
        current = dict(self.totals.get(start, {}))
        before = {s: self._before(previous, s, point) for s in self.rows.get(previous, {})}
        now = int(w.now.timestamp())
        first_day, today = local_day(start, self.tz), local_day(now, self.tz)
        daily = [self.day_totals.get(d, 0) for d in range(first_day, today + 1)]
        first = w.hourly_since
        if self.newest <= first:
            return Spend(current, before, daily, [], first)
        last = min(self.newest, -(-now // HOUR) * HOUR)
        hourly = [self.hour_totals.get(h, 0) for h in range(first, last, HOUR)]
        return Spend(current, before, daily, hourly, last)

    def _before(self, period: int, series: Series, point: int) -> int:
        """The series' arrived buckets of `period` starting before `point`."""
        key = (period, series)
        if key not in self._cumulative:
            rows = self.rows[period][series]
            self._cumulative[key] = ([s for s, _ in rows], list(accumulate((a for _, a in rows), initial=0)))
        starts, sums = self._cumulative[key]
        return sums[bisect_left(starts, point)]
