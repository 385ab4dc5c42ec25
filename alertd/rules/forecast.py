"""Where a budget's spend is heading: the period's projected total and when it runs out.

"seasonal": expected spend per future hour = recent level × local hour-of-week shape, both
estimated from the hourly history after capping one-off spikes. "run-rate": a straight line,
for when there is less than a day of history. Pure: no I/O, no clock.

The range of a seasonal projection: each of the last (up to 28) days of history against what the
shape expected of it; the rest of the period at the pace of the 10th and the 90th percentile of
those days. Not a confidence interval: what the period comes to if it keeps on like the quieter
or the busier recent days.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.model import Forecast, utc

HOUR = 3600
DAY = 24 * HOUR
WEEK_HOURS = 168
SHAPE_WEEKS = 4  # the shape follows the last four weeks: recent enough, and a spike is one week in four
SPIKE_FACTOR = 3  # an hour above 3× its hour-of-day's usual high is a one-off, capped there
SPIKE_RANK = 3  # "usual high" = the 3rd largest value at that local hour: two odd days don't set it
RANGE_DAYS = 3  # days of history a range needs
RANGE_QUANTILES = (0.1, 0.9)
PRIOR_WEIGHT = 1.0  # a slot's own weeks (days) compete with one pseudo-week (day) of the smoother profile
_EPOCH_MONDAY = 72  # 1970-01-01 was a Thursday: local hour 0 sits 72 hours into its week
Run = tuple[int, int, int]  # first index, end index, local hour at the first (`_local_runs`)


def project(
    hourly: Sequence[int],
    start: datetime,
    data_end: datetime,
    period_start: datetime,
    period_end: datetime,
    spent: int,
    amount: int,
    tz: ZoneInfo,
) -> Forecast | None:
    """Projected spend at `period_end` and the moment it reaches `amount`, or None without data.

    `hourly[i]` is the spend (micro-units) of the UTC hour from `start + i` hours; the series
    ends at `data_end`, which is where the projection starts: data may lag the wall clock.
    `spent` is the actual spend of the period up to `data_end`. A day of history or more gives
    "seasonal" (hour-of-week shape from a week on, hour-of-day before); less gives "run-rate".
    """
    first, last = _seconds(start), _seconds(data_end)
    begin, end = max(last, _seconds(period_start)), _seconds(period_end)
    if first % HOUR or last % HOUR or last - first != len(hourly) * HOUR:
        raise ValueError(f"{len(hourly)} hourly values do not span {start.isoformat()} .. {data_end.isoformat()}")
    if end <= _seconds(period_start):
        raise ValueError(f"empty period {period_start.isoformat()} .. {period_end.isoformat()}")
    # Leading zeros are not history: a caller may pad a new source's series to a fixed window,
    # and a week of padding would halve the recent level.
    lead = next((i for i, v in enumerate(hourly) if v), len(hourly))
    hourly, first = hourly[lead:], first + lead * HOUR
    if not hourly and not spent:
        return None

    paces: list[float] = []  # each recent day's spend against its expected
    if len(hourly) >= 24:
        method = "seasonal"
        per_hour = _seasonal_rates(hourly, first, tz)
        paces = _paces(hourly, per_hour, first, tz)
    else:
        method = "run-rate"
        rate = _run_rate(hourly, last, _seconds(period_start), spent)
        if rate is None:
            return None
        per_hour = [max(0.0, rate)] * WEEK_HOURS  # credits are one-offs, not a rate to extrapolate

    # Expected spend of each future UTC hour of the period; only the first and last can be
    # partial (a period may start at :30 UTC, e.g. in India).
    hours = range(begin - begin % HOUR, end, HOUR)
    expected = _by_slot(per_hour, _local_runs(hours.start, len(hours), tz))
    if hours:
        expected[0] *= (min(hours[0] + HOUR, end) - begin) / HOUR
        if len(hours) > 1:
            expected[-1] *= (end - hours[-1]) / HOUR

    rest = sum(expected)
    projected = spent + round(rest)
    low = high = None
    if len(paces) >= RANGE_DAYS:
        paces.sort()
        low, high = (spent + round(rest * _quantile(paces, q)) for q in RANGE_QUANTILES)
        low, high = min(low, projected), max(high, projected)  # growth since: the projection is the edge
    return Forecast(
        projected=projected,
        run_out=_run_out(hours, begin, end, expected, spent, amount),
        method=method,
        history_hours=len(hourly),
        horizon=utc(last),
        low=low,
        high=high,
    )


def _paces(hourly: Sequence[int], per_hour: list[float], first: int, tz: ZoneInfo) -> list[float]:
    """Each whole day (24 hours back from the end) of the last four weeks: its spend over what
    the rates expect of those hours; days expected to spend nothing say nothing."""
    days = min(len(hourly) // 24, SHAPE_WEEKS * 7)
    span = days * 24
    expected = _by_slot(per_hour, _local_runs(first + (len(hourly) - span) * HOUR, span, tz))
    actual = hourly[len(hourly) - span :]
    paces = []
    for d in range(days):
        want = sum(expected[d * 24 : d * 24 + 24])
        if want > 0:
            paces.append(max(0.0, sum(actual[d * 24 : d * 24 + 24]) / want))
    return paces


def _quantile(ordered: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks of `ordered` (sorted)."""
    position = q * (len(ordered) - 1)
    i = int(position)
    j = min(i + 1, len(ordered) - 1)
    return ordered[i] + (ordered[j] - ordered[i]) * (position - i)


def _run_rate(hourly: Sequence[int], last: int, period_start: int, spent: int) -> float | None:
    """Spend per hour as a straight line: the period so far, else the little history there is."""
    if last > period_start:
        return spent * HOUR / (last - period_start)
    if hourly:
        return sum(hourly) / len(hourly)
    return None


def _seasonal_rates(hourly: Sequence[int], first: int, tz: ZoneInfo) -> list[float]:
    """Expected spend of one hour in each local hour-of-week slot (Monday 00:00 = 0)."""
    n = len(hourly)
    weeks = min(n // WEEK_HOURS, SHAPE_WEEKS)
    # Whole weeks, so every slot is seen equally often; under a week, all of it (hour-of-day only).
    span = weeks * WEEK_HOURS if weeks else n
    runs = _local_runs(first + (n - span) * HOUR, span, tz)
    values = _capped(hourly[n - span :], runs)
    total = sum(values)
    if total <= 0:
        return [0.0] * WEEK_HOURS
    mean = total / span

    # Integer sums per slot, so any order of adding gives the same floats below. A week starts at
    # a local midnight: its slot s is hour-of-day s % 24.
    if weeks:
        slot_sum, slot_count = _slot_sums(values, runs, WEEK_HOURS, _EPOCH_MONDAY)
        hod_sum = [sum(slot_sum[h::24]) for h in range(24)]
        hod_count = [sum(slot_count[h::24]) for h in range(24)]
        dow_sum = [sum(slot_sum[d * 24 : d * 24 + 24]) for d in range(7)]
        dow_count = [sum(slot_count[d * 24 : d * 24 + 24]) for d in range(7)]
        # Smoother profile: hour-of-day × day-of-week, each from ~4× (or 24×) more data than a slot.
        hod = [hod_sum[h] / hod_count[h] if hod_count[h] else mean for h in range(24)]
        dow = [dow_sum[d] / dow_count[d] / mean if dow_count[d] else 1.0 for d in range(7)]
        shape = [
            (slot_sum[s] + PRIOR_WEIGHT * hod[s % 24] * dow[s // 24]) / (slot_count[s] + PRIOR_WEIGHT)
            for s in range(WEEK_HOURS)
        ]
    else:
        hod_sum, hod_count = _slot_sums(values, runs, 24, 0)
        by_hour = [(hod_sum[h] + PRIOR_WEIGHT * mean) / (hod_count[h] + PRIOR_WEIGHT) for h in range(24)]
        shape = [by_hour[s % 24] for s in range(WEEK_HOURS)]

    # Level: the last 7 days' actual spend against what the shape expects of those very hours,
    # so a partial week or a DST week is measured fairly and growth is followed.
    recent = min(span, WEEK_HOURS)
    expected = sum(_by_slot(shape, runs)[-recent:])
    if expected <= 0:
        return [0.0] * WEEK_HOURS
    level = sum(values[-recent:]) / expected
    return [max(0.0, level * x) for x in shape]  # a slot of net credits is not expected to repeat


def _slot_sums(values: list[int], runs: list[Run], width: int, shift: int) -> tuple[list[int], list[int]]:
    """Sum and count of the values in each slot `(local hour + shift) % width`: each run laid out
    in rows of `width` slots, zeros around it, and summed by column."""
    sums, counts = [0] * width, [0] * width
    for a, b, local in runs:
        lead = (local + shift) % width
        cells = [0] * lead + values[a:b] + [0] * (-(lead + b - a) % width)
        rows = [cells[i : i + width] for i in range(0, len(cells), width)]
        sums = list(map(operator.add, sums, map(sum, zip(*rows, strict=True))))
        full, rest = divmod(b - a, width)  # the `rest` slots from `lead` on see one value more
        seen = [full + 1] * rest + [full] * (width - rest)
        counts = list(map(operator.add, counts, seen[width - lead :] + seen[: width - lead]))
    return sums, counts


def _capped(values: Sequence[int], runs: list[Run]) -> list[int]:
    """`values` with one-off spikes cut down to SPIKE_FACTOR × the usual high of their local hour.

    The usual high is the SPIKE_RANK-th largest value at that hour, raised to the day's typical
    such high so a quiet hour's first busy moment is not mistaken for a spike.
    """
    values = list(values)
    days = len(values) // 24
    if days < 2:
        return values  # one day: a spike and a daily batch look the same
    by_hour: list[list[int]] = [[] for _ in range(24)]
    for a, b, local in runs:
        for h in range(24):
            by_hour[h] += values[a + (h - local) % 24 : b : 24]
    rank = min(SPIKE_RANK, days)
    high = [sorted(vs)[-rank] if len(vs) >= rank else max(vs, default=0) for vs in by_hour]
    typical = sum(high) // 24
    caps = [SPIKE_FACTOR * max(x, typical) for x in high]
    for a, b, local in runs:
        for h in range(24):
            i, cap = a + (h - local) % 24, caps[h]
            if max(values[i:b:24], default=cap) > cap:  # rare: a spike
                values[i:b:24] = [min(v, cap) for v in values[i:b:24]]
    return values


def _run_out(hours: range, begin: int, end: int, expected: list[float], spent: int, amount: int) -> datetime | None:
    """First moment cumulative spend reaches `amount`, interpolated within the hour."""
    if spent >= amount:
        return None  # already run out: not a forecast
    cumulative = list(accumulate(expected, initial=float(spent)))
    i = bisect_left(cumulative, amount) - 1  # rates are >= 0, so cumulative never falls
    if i + 1 == len(cumulative):
        return None
    lo = max(hours[i], begin)
    return utc(round(lo + (amount - cumulative[i]) / expected[i] * (min(hours[i] + HOUR, end) - lo)))


def _local_runs(first: int, count: int, tz: ZoneInfo) -> list[Run]:
    """The `count` UTC hours from `first` as stretches of consecutive local wall-clock hours
    (hours since 1970-01-01 00:00 local): one, or a few around a DST change. Within one, an
    hour-of-day (-week) slot is every 24th (168th) hour: slices, not a Python loop per hour.
    Offsets change at most once a day: look them up daily, and hourly only on a day with a change."""
    runs: list[list[int]] = []

    def extend(index: int, hours: int, local: int) -> None:
        if runs and runs[-1][1] == index and runs[-1][2] + index - runs[-1][0] == local:
            runs[-1][1] += hours
        else:
            runs.append([index, index + hours, local])

    t, end = first, first + count * HOUR
    offset = _offset(t, tz)
    while t < end:
        stop = min(t + DAY, end)
        after = _offset(stop, tz)
        if after == offset:
            extend((t - first) // HOUR, (stop - t) // HOUR, (t + offset) // HOUR)
        else:
            for u in range(t, stop, HOUR):
                extend((u - first) // HOUR, 1, (u + _offset(u, tz)) // HOUR)
        t, offset = stop, after
    return [(a, b, local) for a, b, local in runs]


def _by_slot(table: list[float], runs: list[Run]) -> list[float]:
    """`table`'s hour-of-week slot of each hour of `runs`, in order."""
    out: list[float] = []
    for a, b, local in runs:
        k = (local + _EPOCH_MONDAY) % WEEK_HOURS
        week = table[k:] + table[:k]
        out += week * ((b - a) // WEEK_HOURS) + week[: (b - a) % WEEK_HOURS]
    return out


def _offset(ts: int, tz: ZoneInfo) -> int:
    return int((datetime.fromtimestamp(ts, tz).utcoffset() or timedelta(0)).total_seconds())


def _seconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: times must be timezone-aware")
    return int(moment.timestamp())
