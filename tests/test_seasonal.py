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
