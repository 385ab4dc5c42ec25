"""Spend past the range of an hourly series (`alertd.rules.extremes` and the scan's use of it):
plain tables of cases, and scans of series where the z-score cannot speak."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.alerts.anomaly import replay_series
from alertd.rules.anomaly import fresh, resume, scan
from alertd.rules.extremes import NONE_LOW, Sliding, beyond, extremes, kind_seen
from alertd.rules.seasonal import MISSING
from alertd.rules.verdicts import AnomalyParams

UTCZ = ZoneInfo("UTC")
H = 3600
D = 86400
START = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday
M = 1_000_000
_ = MISSING


@pytest.mark.parametrize(
    ("values", "lo", "hi", "expected"),
    [
        ([3, 1, 4, 1, 5], 0, 5, (5, 4, 1, 3)),  # ties: the last one, which stays longest
        ([3, 1, 4, 1, 5], 1, 4, (4, 2, 1, 3)),
        ([_, 2, _, 7, _], 0, 5, (7, 3, 2, 1)),  # no data is neither peak nor trough
        ([_, _, _], 0, 3, (MISSING, 2, NONE_LOW, 2)),  # none at all: looked for again a window later
        ([], 0, 0, (MISSING, -1, NONE_LOW, -1)),
        ([-4, 0, 2], 0, 3, (2, 2, -4, 0)),  # a credit is a trough like any value
    ],
)
def test_extremes(values: list[int], lo: int, hi: int, expected: tuple[int, int, int, int]) -> None:
    assert extremes(values, lo, hi) == expected


@pytest.mark.parametrize(
    ("values", "width"),
    [
        ([0, 5, 5, 1, 1, 0], 3),  # ties: the last one, which stays longest, for the peak and the trough
        ([9, 8, 7, 6, 5, 4, 3], 3),  # a decline: the peak leaves at every bucket
        ([1, 2, 3, 4, 5, 6, 7], 3),  # a rise: the trough does
        ([4, _, _, _, 2, _], 2),  # a window without data, then data again
    ],
)
def test_a_sliding_window_has_the_extremes_of_its_buckets(values: list[int], width: int) -> None:
    sliding = Sliding(values, 0, min(width, len(values)))
    for hi in range(min(width, len(values)) + 1, len(values) + 1):
        lo = max(0, hi - width)
        assert sliding.slide(lo, hi) == extremes(values, lo, hi)


@given(st.lists(st.one_of(st.just(MISSING), st.integers(-3, 3)), max_size=80), st.integers(1, 12))
def test_any_sliding_window_has_the_extremes_of_its_buckets(values: list[int], width: int) -> None:
    # Few distinct values (many ties), gaps, and windows without data.
    test_a_sliding_window_has_the_extremes_of_its_buckets(values, width)


def test_a_steady_trend_scans_like_the_same_trend_in_pieces() -> None:
    # Its peak (falling) or trough (rising) leaves the range at every bucket: the queues' case.
    for rate in (-0.0001, 0.0001):
        values: list[int | None] = [round(10 * M * (1 + rate * t)) for t in range(2000)]
        values[1700] = 40 * M
        whole = scan(values, START, H, UTCZ, AnomalyParams(direction="both"))
        assert [i for i, p in enumerate(whole) if p.anomalous] == [1700]
        state, pieces = fresh(START, H), []
        for cut in range(0, 2000, 333):
            verdicts, state = resume(state, values[cut : cut + 333], UTCZ, AnomalyParams(direction="both"))
            pieces.extend(verdicts)
        assert pieces == list(whole)


@pytest.mark.parametrize(
    ("value", "peak", "trough", "typical", "direction", "expected"),
    [
        (115, 100, 10, 50, "up", ""),  # past the peak, not by enough: 100 + 0.3 x 50 + 0.1 x 50 = 120
        (121, 100, 10, 50, "up", "peak"),
        (121, 100, 10, 50, "down", ""),
        (121, 100, 10, 50, "both", "peak"),
        (111, 100, 100, 100, "both", "peak"),  # a flat series: a tenth above it
        (109, 100, 100, 100, "both", ""),
        (1, 0, 0, 0, "up", "peak"),  # an idle series' first spend: its own reason ("new") comes first in the scan
        (18, 100, 30, 50, "down", "trough"),  # 30 - 0.3 x 20 - 0.1 x 50 = 19
        (20, 100, 30, 50, "both", ""),
        (18, 100, 30, 50, "up", ""),
        (0, 100, 0, 50, "both", ""),  # a series that was idle at times has no trough to fall through
        (5, MISSING, NONE_LOW, 0, "both", ""),  # no range yet
    ],
)
def test_beyond(value: int, peak: int, trough: int, typical: int, direction: str, expected: str) -> None:
    assert beyond(value, peak, trough, typical, direction) == expected


def test_a_kind_of_day_is_seen_after_a_day_of_it() -> None:
    weekdays = [M] * (5 * 24)  # Monday to Friday
    saturday = len(weekdays)
    assert kind_seen(weekdays, 4 * 24, START, H, 0)
    assert not kind_seen(weekdays, saturday, START, H, 0)
    assert not kind_seen([*weekdays, *[M] * 23], saturday + 23, START, H, 0)
    assert kind_seen([*weekdays, *[M] * 24], saturday + 24, START, H, 0)
    assert not kind_seen([*weekdays, *[_] * 24], saturday + 24, START, H, 0)  # hours without data


def noisy(days: int, seed: int = 1, sigma: float = 0.6) -> list[int | None]:
    """$2/h with heavy multiplicative noise and no shape: a z-score's threshold sits far out."""
    rng = random.Random(seed)
    return [int(2 * M * math.exp(rng.gauss(0, sigma))) for _ in range(days * 24)]


def test_past_a_noisy_series_range_is_an_anomaly_its_z_score_misses() -> None:
    values = noisy(50)
    peak = max(v for v in values if v is not None)
    at = 45 * 24
    values[at] = 2 * peak
    points = scan(values, START, H, UTCZ, AnomalyParams(sensitivity=40))  # a z-score that never speaks
    assert points[at].anomalous and points[at].reason == "peak"
    assert [i for i, p in enumerate(points) if p.anomalous] == [at]
    assert replay_series(values, START, H, UTCZ, AnomalyParams(sensitivity=40)) == [at]


def test_a_spike_in_the_first_days_is_said_once_there_are_two_of_them() -> None:
    values = noisy(10, sigma=0.1)
    at = 2 * 24 + 5  # Wednesday 05:00, after 53 hours: no expectation from the z-score yet
    values[at] = 10 * M
    points = scan(values, START, H, UTCZ, AnomalyParams())
    assert points[at].reason == "peak" and points[at].expected is not None
    assert points[at].sigma == 0.0 and points[at].low == points[at].high == 0  # no usual range yet
    values[at], values[30] = None, 10 * M  # after 30 hours: too early to know the range
    assert not any(p.anomalous for p in scan(values, START, H, UTCZ, AnomalyParams()))


def test_a_first_weekend_is_neither_a_drop_nor_a_peak() -> None:
    weekdays = [2 * M] * (5 * 24)
    for weekend in (M // 2, 8 * M):  # quiet weekends; weekend batches
        values: list[int | None] = [*weekdays, *[weekend] * 48, *weekdays]
        assert replay_series(values, START, H, UTCZ, AnomalyParams(direction="both")) == []


def test_a_drop_below_a_series_lowest_hour_alerts_when_drops_are_asked_for() -> None:
    values = noisy(30, sigma=0.1)
    at = 25 * 24
    values[at : at + 12] = [M // 2] * 12
    assert replay_series(values, START, H, UTCZ, AnomalyParams(sensitivity=40)) == []  # up only
    got = replay_series(values, START, H, UTCZ, AnomalyParams(sensitivity=40, direction="down"))
    assert got == [at + 1]  # an hour down is a blip; its second hour says it
    points = scan(values, START, H, UTCZ, AnomalyParams(sensitivity=40, direction="down"))
    assert points[at].reason == "trough"


def test_a_daily_series_has_no_range_test() -> None:
    values: list[int | None] = [10 * M] * 120
    values[100] = 12 * M
    points = scan(values, START, D, UTCZ, AnomalyParams(sensitivity=40))
    assert not any(p.anomalous for p in points)


def test_a_checkpoint_without_its_range_resumes_as_one_with_it() -> None:
    """Checkpoints from before the range was kept (and any without it) look for it once."""
    from array import array
    from dataclasses import replace

    from alertd.rules.anomaly import fresh, resume

    values = noisy(80)
    for i in (40 * 24, 70 * 24 + 3):
        values[i] = 30 * M  # peaks, which leave the range two months on
    whole = scan(values, START, H, UTCZ, AnomalyParams())
    cut = 75 * 24
    head, state = resume(fresh(START, H), values[:cut], UTCZ, AnomalyParams())
    assert len(state.bounds) == 4
    tail, _ = resume(replace(state, bounds=array("q")), values[cut:], UTCZ, AnomalyParams())
    assert list(head) + list(tail) == list(whole)
    assert sum(p.reason == "peak" for p in whole) >= 1


_AMOUNT = st.one_of(st.none(), st.integers(-(10**6), 10**9), st.sampled_from([0, 1, 2 * M, 10**15]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pattern=st.lists(_AMOUNT, min_size=1, max_size=40),
    trend=st.sampled_from([0.0, -0.0003, 0.0003]),
    cuts=st.lists(st.integers(1, 900), min_size=1, max_size=8),
    direction=st.sampled_from(["up", "down", "both"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin"]),
)
def test_the_range_carried_across_pieces_is_the_range_of_one_scan(
    pattern: list[int | None], trend: float, cuts: list[int], direction: str, zone: str
) -> None:
    """Over two months and more (so peaks and troughs leave the range: a trend makes them), with
    gaps, credits and huge amounts, in pieces of any size: the verdicts of one scan."""
    from alertd.rules.anomaly import fresh, resume

    repeated = (pattern * (1700 // len(pattern) + 1))[:3000]
    values = [None if v is None else int(v * max(0.0, 1 + trend * i)) for i, v in enumerate(repeated)]
    tz, params = ZoneInfo(zone), AnomalyParams(direction=direction)
    verdicts, last = resume(fresh(START, H), values, tz, params)
    whole = list(verdicts)
    state, pieces, at = fresh(START, H), [], 0
    for i in range(len(values)):
        if at >= len(values):
            break
        end = min(len(values), at + cuts[i % len(cuts)])
        points, state = resume(state, values[at:end], tz, params)
        pieces += list(points)
        at = end
    assert pieces == whole
    assert state.bounds == last.bounds  # where the range stands, to the bucket
