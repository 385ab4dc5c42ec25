"""What a bucket's own past says it should be (pure): the median of the same moment in past
weeks, or of recent days of the same kind (weekday or weekend) while history is short; by the
wall clock or the UTC clock of a time zone. Values are integer micro-units, `MISSING` for a
bucket without data. The anomaly scan (`alertd.rules.anomaly`) builds on these."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from operator import ne

from alertd.rules.clock import weekend

DAY = 86400
MISSING = -(1 << 63)  # a bucket without data (or without an expectation) in the scan state's int lists


def steady_flags(clock: list[int] | int, n: int, reach: int, since: int = 0) -> bytes:
    """Per bucket from `since` to `n` (indexed from 0; those before `since` are not looked at),
    whether the zone's offset stayed the same over the `reach` buckets before it (then the wall
    clock and the UTC clock give the same lags)."""
    if isinstance(clock, int):
        return b"\x01" * n
    flags = bytearray(b"\x01") * n
    lo = max(1, since - reach)  # a short resume looks at its new buckets only, not its memory
    for i in compress(range(lo, n), map(ne, clock[lo:], clock[lo - 1 :])):  # where the offset changes
        flags[i : i + reach] = b"\x00" * len(flags[i : i + reach])
    return bytes(flags)


def weekly_medians(vals: Sequence[int], base: int, end: int, week: int, weeks: int) -> list[int | None]:
    """Per bucket from `base` to `end`: the median of the buckets 1..`weeks` weeks before it that
    have data, None when fewer than two have (the first part of `seasonal_median`, by the UTC clock)."""
    early = min(end, max(base, weeks * week))  # the buckets with fewer weeks behind them
    medians = [_lag_median(vals[t % week : t : week]) for t in range(base, early)]
    # The others' lags sorted in one go; MISSING, the least int64, sorts first.
    medians += _medians([vals[early - lag * week : end - lag * week] for lag in range(1, weeks + 1)])
    return medians


def seasonal_pairs(
    vals: Sequence[int],
    base: int,
    end: int,
    week: int,
    weeks: int,
    per_day: int,
    days: int,
    first: int,
    step: int,
    clock: list[int] | int,
) -> tuple[list[int | None], list[int | None]]:
    """Per bucket from `base` to `end` with data: what `seasonal_median` says by the wall clock and
    by the UTC clock (`clock`: the offset of each bucket, or the one offset), worked out a lag at a
    time over all buckets rather than a bucket at a time. They differ only in the weeks after an
    offset change (not `steady`); before two weeks have data, both are the same-kind median."""
    utc = weekly_medians(vals, base, end, week, weeks)
    steady = steady_flags(clock, end, max(weeks * week, days * per_day) + 2, base)
    wall = utc[:]
    for t in range(base, end):
        if steady[t] and utc[t - base] is None and vals[t] != MISSING:
            offset = clock if isinstance(clock, int) else clock[t]
            wall[t - base] = utc[t - base] = same_kind_median(vals, t, per_day, days, first, step, offset)
    if isinstance(clock, int):
        return wall, utc
    shifted = [t for t in range(base, end) if not steady[t] and vals[t] != MISSING]
    for t, found in zip(shifted, _wall_weekly_medians(vals, shifted, week, weeks, step, clock), strict=True):
        # Under two weeks with data: the fallbacks of `seasonal_median`, rare enough to ask it.
        if found is None:
            found = seasonal_median(vals, t, week, weeks, per_day, days, first, step, clock[t], clock)
        wall[t - base] = found
        if utc[t - base] is None:
            utc[t - base] = seasonal_median(
                vals, t, week, weeks, per_day, days, first, step, clock[t], clock, wall=False
            )
    return wall, utc


def _wall_weekly_medians(
    vals: Sequence[int], ts: Sequence[int], week: int, weeks: int, step: int, clock: list[int]
) -> list[int | None]:
    """The weekly part of `seasonal_median` by the wall clock for each bucket of `ts`."""
    adjust = step < DAY
    columns = []
    for lag in range(1, weeks + 1):
        back = lag * week
        column = []
        for t in ts:
            i = t - back
            if i >= 0 and adjust:
                i += (clock[t] - clock[i]) // step  # the same wall-clock hour across the change
            column.append(vals[i] if 0 <= i < t else MISSING)
        columns.append(column)
    return _medians(columns)


def _medians(columns: Sequence[Sequence[int]]) -> list[int | None]:
    """Per row of the columns: the median of its values with data, None when under two (`_median`
    of them); the lags of a row sorted in one go, MISSING, the least int64, first."""
    n = len(columns)
    rows = map(sorted, zip(*columns, strict=True))
    if n % 2:
        return [lags[n // 2] if lags[0] != MISSING else _lag_median(lags) for lags in rows]
    low, high = n // 2 - 1, n // 2
    return [round((lags[low] + lags[high]) / 2) if lags[0] != MISSING else _lag_median(lags) for lags in rows]


def _lag_median(lags: Sequence[int]) -> int | None:
    found = [x for x in lags if x != MISSING]
    return _median(found) if len(found) >= 2 else None


def seasonal_median(
    values: Sequence[int],
    t: int,
    week: int,
    weeks: int,
    per_day: int,
    days: int,
    first: int,
    step: int,
    offset: int,
    clock: list[int] | None,
    wall: bool = True,
) -> int | None:
    """Median of the same moment in past weeks, or of recent same-kind days while history is short.

    `wall`: the same local wall-clock hour (people's working hours); else the same UTC hour (a
    server's cron). They differ only for the weeks after a DST change (`clock`: the offset of
    each bucket; None when it never changes)."""
    adjust = wall and clock is not None and step < DAY
    weekly = []
    for lag in range(1, weeks + 1):
        i = t - lag * week
        if i < 0:
            break
        if adjust:
            i += (offset - clock[i]) // step  # type: ignore[index]  # same wall-clock hour across a DST change
        if 0 <= i < t and values[i] != MISSING:
            weekly.append(values[i])
    if len(weekly) >= 2:
        return _median(weekly)
    if clock is None:
        return same_kind_median(values, t, per_day, days, first, step, offset)
    weekend_t = weekend(first + t * step, offset)
    same_kind = []
    for lag in range(1, days + 1):
        i = t - lag * per_day
        if i < 0:
            break
        if adjust:
            i += (offset - clock[i]) // step  # type: ignore[index]
        if 0 <= i < t and values[i] != MISSING and weekend(first + i * step, clock[i]) == weekend_t:
            same_kind.append(values[i])
    if len(same_kind) >= 2:
        return _median(same_kind)
    return None


def same_kind_median(
    values: Sequence[int], t: int, per_day: int, days: int, first: int, step: int, offset: int
) -> int | None:
    """The fallback of `seasonal_median` at one UTC offset: the median of the same moment of the last
    `days` days of the same kind as t's (weekday or weekend) that have data, None if under two."""
    kind = weekend(first + t * step, offset)
    found = [
        values[i]
        for i in range(t - per_day, max(-1, t - (days + 1) * per_day), -per_day)
        if values[i] != MISSING and weekend(first + i * step, offset) == kind
    ]
    return _median(found) if len(found) >= 2 else None


def _median(items: list[int]) -> int:
    """round(statistics.median(items)): ties of the middle two to even, as `round` does."""
    items.sort()
    n = len(items)
    return items[n // 2] if n % 2 else round((items[n // 2 - 1] + items[n // 2]) / 2)
