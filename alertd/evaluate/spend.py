"""Budgets' spend from the store's sums, read once per evaluation and shared by every budget.

Per series (source, line item) it holds the rollup's whole local days as prefix sums, and the
cost rows of the forecast's recent hours (which also cover today and any cut day within them);
a budget's `Spend` is then a few subtractions and vector sums over its series. What is read
depends on the periods the budgets look at, never on how much history is stored.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.rules.budget import (
    HOUR,
    Series,
    Spend,
    Windows,
    compare_point,
    horizon,
    horizon_cut,
    previous_point,
    selects,
)
from alertd.store import Store
from alertd.store.rollup import day_start, local_day


class SpendCube:
    def __init__(
        self, store: Store, sources: Sequence[str], views: Iterable[Windows], tz: ZoneInfo, through: Mapping[str, int]
    ) -> None:
        """Reads the rollup's days and today's rows now; the forecast's hours on the first ask.
        `through`: per source, where its data is complete (the comparisons and forecasts stop there)."""
        views = list(views)
        if store.rollup.tz.key != tz.key:
            raise ValueError(f"the store sums days in {store.rollup.tz.key}, the budgets' periods are in {tz.key}")
        self.store, self.sources, self.tz, self.through = store, sources, tz, through
        now = int(views[0].now.timestamp())
        self.now = now
        self.today = local_day(now, tz)
        self.today_start = day_start(self.today, tz)
        self.first_day = min((local_day(int(w.previous.timestamp()), tz) for w in views), default=self.today)
        self.first_hour = min((w.hourly_since for w in views), default=now // HOUR * HOUR)
        self.hours = max(0, (-(-now // HOUR) * HOUR - self.first_hour) // HOUR)

        self.days: dict[Series, list[int]] = {}
        for source, item, offsets, amounts in store.sums.day_arrays(sources, self.first_day, self.today):
            values = self.days[source, item] = [0] * (self.today - self.first_day)
            for day, amount in zip(offsets, amounts, strict=True):
                values[day] += amount
        self.prefix = {s: list(accumulate(v, initial=0)) for s, v in self.days.items()}

        # Cost rows of today, and of each day cut by a comparison (where a source's data is complete,
        # and as far into the previous period), keyed by bucket start: a series has one row per
        # bucket, however the ranges overlap.
        self.rows: dict[Series, dict[int, tuple[int, int]]] = defaultdict(dict)
        for source, item, start, seconds, amount in store.sums.rows(sources, self.today_start, now):
            self.rows[source, item][start] = (seconds, amount)
        cuts: dict[tuple[str, int], int] = {}  # (source, start of a cut day) → how far into it
        for w in {(v.start, v.previous, v.now): v for v in views}.values():
            for source in sources:
                point = compare_point(w, through.get(source))
                for moment in (point, previous_point(w, point)):
                    cut = day_start(local_day(moment, tz), tz)
                    if cut < moment and cut != self.today_start:
                        cuts[source, cut] = max(moment, cuts.get((source, cut), moment))
        for (source, cut), moment in sorted(cuts.items()):
            for _, item, start, seconds, amount in store.sums.rows([source], cut, moment):
                self.rows[source, item][start] = (seconds, amount)
        self.series = sorted(set(self.prefix) | set(self.rows))
        self._hourly: dict[Series, tuple[list[int], int]] | None = None
        self._cuts: dict[Series, tuple[list[int], list[int]]] = {}
        self._hourly_sums: dict[tuple[tuple[Series, ...], int], tuple[list[int], int]] = {}
        self._source_hours: dict[str, tuple[list[int], int]] = {}
        self._by_source: dict[str, list[Series]] = defaultdict(list)  # the series with hours, per source
        self._chosen: dict[tuple[object, object], list[Series]] = {}
        self._spends: dict[tuple[object, ...], Spend] = {}
        self._window_sums: dict[tuple[object, object], dict[Series, tuple[int, int, int, int]]] = {}
        self._day_series: dict[str, list[Series]] = defaultdict(list)  # the series with days, per source
        for series in self.days:
            self._day_series[series[0]].append(series)
        self._source_days: dict[tuple[str, int, int], list[int]] = {}

    def spend(self, budget: Budget, w: Windows, *, hourly: bool) -> Spend:
        """The budget's spend, with the forecast's hours if asked; budgets with the same filters
        and period share one."""
        key = (budget.sources, budget.line_items, w.start, w.previous)
        if key not in self._spends:
            self._spends[key] = self._spend(self._select(budget), w)
        spend = self._spends[key]
        if not hourly:
            return spend
        values, data_end, limit = self._hourly_of(self._select(budget), w.hourly_since)
        values, data_end, after = horizon_cut(values, w.hourly_since, data_end, limit, int(w.start.timestamp()))
        return replace(spend, hourly=values, data_end=data_end, after=after)

    def _spend(self, chosen: Sequence[Series], w: Windows) -> Spend:
        start = int(w.start.timestamp())
        d_start, d_prev = local_day(start, self.tz), local_day(int(w.previous.timestamp()), self.tz)
        sums = self._window_sums.setdefault((w.start, w.previous), {})
        current, compared, previous = {}, {}, {}
        today = 0
        for s in chosen:
            if s not in sums:  # once per series and period, however many budgets take it
                cut = self._cut(s, self.today_start, self.now)
                point = compare_point(w, self.through.get(s[0]))
                sums[s] = (
                    cut,
                    self._closed(s, d_start, self.today) + cut,
                    self._upto(s, d_start, point),
                    self._upto(s, d_prev, previous_point(w, point)),
                )
            cut, current[s], compared[s], previous[s] = sums[s]
            today += cut
        daily = self._daily(chosen, d_start, self.today)
        daily.append(today)
        return Spend(current, compared, previous, self._daily(chosen, d_prev, d_start), daily, [], w.hourly_since)

    def _daily(self, chosen: Sequence[Series], first: int, end: int) -> list[int]:
        """The chosen series' spend per local day of [first, end), whole days from the rollup; a
        source whose every series is chosen adds its total (summed once per range)."""
        per_source: dict[str, list[Series]] = defaultdict(list)
        for s in chosen:
            if s in self.days:
                per_source[s[0]].append(s)
        daily = [0] * (end - first)
        for source, series in per_source.items():
            if len(series) == len(self._day_series[source]):
                key = (source, first, end)
                if key not in self._source_days:
                    self._source_days[key] = self._days_of(series, first, end)
                daily = list(map(operator.add, daily, self._source_days[key]))
            else:
                daily = list(map(operator.add, daily, self._days_of(series, first, end)))
        return daily

    def _days_of(self, series: Sequence[Series], first: int, end: int) -> list[int]:
        lo, hi = first - self.first_day, end - self.first_day
        daily = [0] * (end - first)
        for s in series:
            daily = list(map(operator.add, daily, self.days[s][lo:hi]))
        return daily

    def _upto(self, s: Series, first: int, moment: int) -> int:
        """One series from the local day `first` to `moment`: whole days, then the cut day's rows."""
        day = local_day(moment, self.tz)
        return self._closed(s, first, day) + self._cut(s, day_start(day, self.tz), moment)

    def _select(self, budget: Budget) -> list[Series]:
        key = (budget.sources, budget.line_items)
        if key not in self._chosen:
            self._chosen[key] = [s for s in self.series if selects(budget, *s)]
        return self._chosen[key]

    def _closed(self, s: Series, first: int, end: int) -> int:
        """The rollup's whole days [first, end) of one series."""
        prefix = self.prefix.get(s)
        if prefix is None or end <= first:
            return 0
        lo, hi = max(0, first - self.first_day), max(0, end - self.first_day)
        return prefix[hi] - prefix[lo]

    def _cut(self, s: Series, since: int, until: int) -> int:
        """Buckets of one series starting in [since, until), from the cost rows."""
        if s not in self._cuts:
            rows = sorted((start, amount) for start, (_, amount) in self.rows.get(s, {}).items())
            self._cuts[s] = ([start for start, _ in rows], list(accumulate((a for _, a in rows), initial=0)))
        starts, sums = self._cuts[s]
        return sums[bisect_left(starts, until)] - sums[bisect_left(starts, since)]

    def _hourly_of(self, chosen: Sequence[Series], first: int) -> tuple[list[int], int, int | None]:
        """The chosen series' spend per hour from `first`, where their newest data ends, and the
        `horizon` of their sources (budgets with the same filters share one sum)."""
        key = (tuple(chosen), first)
        if key not in self._hourly_sums:
            self._hourly_sums[key] = self._sum_hourly(chosen, first)
        return self._hourly_sums[key]

    def _sum_hourly(self, chosen: Sequence[Series], first: int) -> tuple[list[int], int, int | None]:
        hourly = self._series_hours()
        per_source: dict[str, list[Series]] = defaultdict(list)
        for s in chosen:
            if s in hourly:
                per_source[s[0]].append(s)
        total = [0] * self.hours
        newest = None
        counted = set()  # the sources with data in the window
        for source, series in per_source.items():
            # Most budgets take whole sources: one sum per source instead of one per series.
            whole = len(series) == len(self._by_source[source])
            parts = [self._source_total(source)] if whole else [hourly[s] for s in series]
            for values, end in parts:
                if end > first:
                    newest = end if newest is None else max(newest, end)
                    total = list(map(operator.add, total, values))
                    counted.add(source)
        if newest is None:
            return [], first, None
        last = min(newest, -(-self.now // HOUR) * HOUR)
        offset = (first - self.first_hour) // HOUR
        return total[offset : offset + max(0, (last - first) // HOUR)], last, horizon(counted, self.through)

    def _source_total(self, source: str) -> tuple[list[int], int]:
        if source not in self._source_hours:
            total, newest = [0] * self.hours, 0
            for s in self._by_source[source]:
                values, end = self._series_hours()[s]
                total = list(map(operator.add, total, values))
                newest = max(newest, end)
            self._source_hours[source] = (total, newest)
        return self._source_hours[source]

    def _series_hours(self) -> dict[Series, tuple[list[int], int]]:
        """Per series, spend per hour from `first_hour` (long buckets spread) and where its newest
        bucket ends; read on the first forecast asked for (a daemon's store reads what changed)."""
        if self._hourly is None:
            self._hourly = self.store.hours.series(self.sources, self.first_hour, self.hours, self.now)
            for s in self._hourly:
                self._by_source[s[0]].append(s)
        return self._hourly
