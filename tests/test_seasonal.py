"""What a bucket's past says it should be: the fast per-bucket medians against plain ones."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime

import pytest

from alertd.rules.seasonal import MISSING, same_kind_median, seasonal_median, steady_flags, weekly_medians

H = 3600
START = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday


def plain_weekly(values: list[int], t: int, week: int, weeks: int) -> int | None:
    lags = [values[t - k * week] for k in range(1, weeks + 1) if t - k * week >= 0]
    found = [v for v in lags if v != MISSING]
    return round(statistics.median(found)) if len(found) >= 2 else None


@pytest.mark.parametrize(("week", "weeks", "base"), [(168, 4, 0), (168, 4, 700), (7, 8, 0), (7, 8, 30)])
def test_weekly_medians_are_the_median_of_the_weeks_with_data(week: int, weeks: int, base: int) -> None:
    rng = random.Random(week + base)
    values = [MISSING if rng.random() < 0.15 else rng.randrange(-5, 10**7) for _ in range(week * weeks * 3)]
    got = weekly_medians(values, base, len(values), week, weeks)
    assert got == [plain_weekly(values, t, week, weeks) for t in range(base, len(values))]
    assert len(set(got)) > len(got) // 2  # medians, not a constant


def test_same_kind_median_takes_weekdays_for_a_weekday_and_weekends_for_a_weekend() -> None:
    values = [(5 if (t // 24) % 7 < 5 else 1) * 1000 + t % 24 for t in range(21 * 24)]  # weekdays 5x
    monday, sunday = 14 * 24 + 9, 20 * 24 + 9
    assert same_kind_median(values, monday, 24, 7, START, H, 0) == 5009
    assert same_kind_median(values, sunday, 24, 7, START, H, 0) == 1009
    assert seasonal_median(values, 9, 168, 4, 24, 7, START, H, 0, None) is None  # no day before it


def test_steady_flags_mark_the_reach_after_an_offset_change() -> None:
    clock = [3600] * 10 + [7200] * 10
    assert steady_flags(clock, 20, 3) == b"\x01" * 10 + b"\x00" * 3 + b"\x01" * 7
    assert steady_flags(3600, 4, 3) == b"\x01" * 4


def per_bucket(values: list[int], base: int, first: int, step: int, clock: list[int] | int) -> tuple[list, list]:
    """What the scan asked `seasonal_median` bucket by bucket: (by the wall clock, by the UTC clock)."""
    week, weeks, per_day, days = (168, 4, 24, 7) if step == H else (7, 8, 1, 14)
    steady = steady_flags(clock, len(values), max(weeks * week, days * per_day) + 2)
    weekly = weekly_medians(values, base, len(values), week, weeks)
    wall, utc = [], []
    for t in range(base, len(values)):
        if values[t] == MISSING:
            wall.append(weekly[t - base])
            utc.append(weekly[t - base])
        elif steady[t]:
            offset = clock if isinstance(clock, int) else clock[t]
            found = weekly[t - base]
            if found is None:
                found = same_kind_median(values, t, per_day, days, first, step, offset)
            wall.append(found)
            utc.append(found)
        else:
            assert not isinstance(clock, int)
            args = (values, t, week, weeks, per_day, days, first, step, clock[t], clock)
            wall.append(seasonal_median(*args))
            utc.append(weekly[t - base] if weekly[t - base] is not None else seasonal_median(*args, wall=False))
    return wall, utc


@pytest.mark.parametrize(
    ("zone", "step", "start", "base", "gaps"),
    [
        ("Europe/Berlin", H, datetime(2026, 9, 20, tzinfo=UTC), 0, 0.1),  # DST ends 2026-10-25
        ("Europe/Berlin", H, datetime(2026, 3, 1, tzinfo=UTC), 500, 0.3),  # DST starts 2026-03-29
        ("America/New_York", H, datetime(2026, 10, 10, tzinfo=UTC), 0, 0.6),  # mostly gaps: fallbacks
        ("UTC", H, datetime(2026, 1, 5, tzinfo=UTC), 0, 0.2),
        ("Europe/Berlin", 86400, datetime(2026, 1, 5, tzinfo=UTC), 0, 0.2),
        ("Europe/Berlin", 86400, datetime(2026, 2, 1, tzinfo=UTC), 40, 0.5),
    ],
)
def test_seasonal_pairs_are_what_seasonal_median_says_bucket_by_bucket(
    zone: str, step: int, start: datetime, base: int, gaps: float
) -> None:
    from zoneinfo import ZoneInfo

    from alertd.rules.clock import offsets
    from alertd.rules.seasonal import seasonal_pairs

    rng = random.Random(f"{zone}{step}{base}")
    n = (8 * 168 if step == H else 120) + base
    values = [MISSING if rng.random() < gaps else rng.randrange(0, 10**7) for _ in range(n)]
    first = int(start.timestamp())
    clock = offsets(ZoneInfo(zone), first, n, step)
    week, weeks, per_day, days = (168, 4, 24, 7) if step == H else (7, 8, 1, 14)
    wall, utc = seasonal_pairs(values, base, n, week, weeks, per_day, days, first, step, clock)
    want_wall, want_utc = per_bucket(values, base, first, step, clock)
    data = [t - base for t in range(base, n) if values[t] != MISSING]  # asked only where there is data
    assert [wall[i] for i in data] == [want_wall[i] for i in data]
    assert [utc[i] for i in data] == [want_utc[i] for i in data]
    assert len({wall[i] for i in data}) > len(data) // 4  # medians, not a constant
