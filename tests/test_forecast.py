from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.model import Forecast
from alertd.rules.forecast import _local_runs, _slot_sums, project
from alertd.rules.periods import period_bounds

M = 1_000_000  # micro-units per dollar
HOUR = timedelta(hours=1)
BERLIN = ZoneInfo("Europe/Berlin")
NEVER = 10**15  # an amount no test reaches

Spend = Callable[[datetime], int]  # a UTC hour's start → its spend


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def flat(per_hour: int) -> Spend:
    return lambda t: per_hour


def per_day(dollars: int) -> Spend:
    """Exactly `dollars` a UTC day, as even as integers allow (16 hours round up, 8 down)."""
    share, extra = divmod(dollars * M, 24)
    return lambda t: share + (1 if t.hour < extra else 0)


def office(tz: ZoneInfo = BERLIN) -> Spend:
    """$5 an hour in local working hours on weekdays, $1 otherwise."""

    def spend(t: datetime) -> int:
        local = t.astimezone(tz)
        return 5 * M if local.weekday() < 5 and 9 <= local.hour < 17 else M

    return spend


def local_hour(hour: int, dollars: int, tz: ZoneInfo = BERLIN) -> Spend:
    """Spend only in one local hour of every day."""
    return lambda t: dollars * M if t.astimezone(tz).hour == hour else 0


def hours(start: datetime, end: datetime) -> list[datetime]:
    """The hours starting in [start, end)."""
    return [start + k * HOUR for k in range(-((start - end) // HOUR))]


def period_spend(spend: Spend, p_start: datetime, until: datetime) -> int:
    """Spend in [p_start, until), prorating an hour the period starts inside."""
    first = p_start.replace(minute=0)
    return sum(
        spend(t) * int((min(t + HOUR, until) - max(t, p_start)).total_seconds()) // 3600 for t in hours(first, until)
    )


def run(
    spend: Spend,
    month: str,
    data_end: datetime,
    tz: ZoneInfo = BERLIN,
    history: timedelta = timedelta(weeks=5),
    amount: int = NEVER,
) -> tuple[Forecast | None, int]:
    """Project `month` (a local calendar month) from `history` before `data_end`, at most 5 weeks
    before the month; returns the forecast and the month's actual total."""
    p_start, p_end = period_bounds("month", at(f"{month}-15T12:00"), tz)
    start = max(data_end - history, p_start.replace(minute=0) - timedelta(weeks=5))
    hourly = [spend(t) for t in hours(start, data_end)]
    forecast = project(hourly, start, data_end, p_start, p_end, period_spend(spend, p_start, data_end), amount, tz)
    return forecast, period_spend(spend, p_start, p_end)


def run_rate(spend: Spend, month: str, data_end: datetime, tz: ZoneInfo = BERLIN) -> float:
    p_start, p_end = period_bounds("month", at(f"{month}-15T12:00"), tz)
    return period_spend(spend, p_start, data_end) / ((data_end - p_start) / (p_end - p_start))


@pytest.mark.parametrize(
    ("tz", "month", "data_end", "history", "method", "total"),
    [
        ("UTC", "2025-04", "2025-04-11T00:00", timedelta(weeks=5), "seasonal", 720 * 2 * M),
        ("UTC", "2025-04", "2025-04-11T00:00", timedelta(days=3), "seasonal", 720 * 2 * M),
        ("UTC", "2025-04", "2025-04-01T12:00", timedelta(hours=12), "run-rate", 720 * 2 * M),
        ("UTC", "2025-04", "2025-04-28T05:00", timedelta(weeks=5), "seasonal", 720 * 2 * M),
        # March in Berlin has 743 hours (DST), October 745.
        ("Europe/Berlin", "2025-03", "2025-03-20T00:00", timedelta(weeks=5), "seasonal", 743 * 2 * M),
        ("Europe/Berlin", "2025-10", "2025-10-05T00:00", timedelta(days=5), "seasonal", 745 * 2 * M),
        ("America/New_York", "2025-11", "2025-11-10T00:00", timedelta(weeks=5), "seasonal", 721 * 2 * M),
        # A Kolkata month starts at 18:30 UTC: the first and last UTC hours are half in it.
        ("Asia/Kolkata", "2025-04", "2025-04-10T00:00", timedelta(weeks=5), "seasonal", 720 * 2 * M),
        ("Asia/Kolkata", "2025-04", "2025-03-31T22:00", timedelta(hours=20), "run-rate", 720 * 2 * M),
    ],
)
def test_a_flat_series_projects_linearly(
    tz: str, month: str, data_end: str, history: timedelta, method: str, total: int
) -> None:
    forecast, actual = run(flat(2 * M), month, at(data_end), ZoneInfo(tz), history)
    assert actual == total
    assert forecast is not None and forecast.method == method
    assert abs(forecast.projected - total) <= 1
    assert isinstance(forecast.projected, int)


@pytest.mark.parametrize(
    ("tz", "month", "data_end"),
    [
        # Day 10 of months starting on a Saturday: the first ten days hold 4 weekend days of 10,
        # the month 8 of 28 or 10 of 31, so a straight line comes out low.
        ("UTC", "2025-02", "2025-02-11T00:00"),
        ("UTC", "2025-03", "2025-03-11T00:00"),
        ("Europe/Berlin", "2025-03", "2025-03-10T23:00"),
        ("America/New_York", "2025-11", "2025-11-11T05:00"),
    ],
)
def test_a_weekday_weekend_shape_projects_better_than_a_straight_line(tz: str, month: str, data_end: str) -> None:
    spend = office(ZoneInfo(tz))
    forecast, actual = run(spend, month, at(data_end), ZoneInfo(tz))
    line = run_rate(spend, month, at(data_end), ZoneInfo(tz))
    assert forecast is not None and forecast.method == "seasonal"
    assert abs(forecast.projected - actual) / actual < 0.005
    assert abs(line - actual) / actual > 0.03


@pytest.mark.parametrize(
    ("tz", "month", "data_end", "shape"),
    [
        ("UTC", "2025-04", "2025-04-11T00:00", "flat"),
        ("UTC", "2025-04", "2025-04-21T00:00", "flat"),
        ("Europe/Berlin", "2025-04", "2025-04-10T22:00", "flat"),
        ("Europe/Berlin", "2025-04", "2025-04-15T22:00", "office"),
    ],
)
def test_a_series_that_doubles_in_the_last_week_is_followed(tz: str, month: str, data_end: str, shape: str) -> None:
    zone, end = ZoneInfo(tz), at(data_end)
    base = flat(M) if shape == "flat" else office(zone)

    def spend(t: datetime) -> int:
        return base(t) * (2 if t >= end - timedelta(days=7) else 1)

    forecast, actual = run(spend, month, end, zone)
    assert forecast is not None
    assert abs(forecast.projected - actual) / actual < 0.005


@pytest.mark.parametrize(
    ("tz", "now", "lag_hours"),
    [
        ("UTC", "2025-01-11T00:00", 0),
        ("UTC", "2025-01-11T00:00", 24),
        ("UTC", "2025-01-11T07:00", 31),
        ("Europe/Berlin", "2025-01-10T23:00", 24),
        ("Europe/Berlin", "2025-01-10T23:00", 48),
    ],
)
def test_the_projection_starts_where_the_data_ends_not_now(tz: str, now: str, lag_hours: int) -> None:
    # $100 a day and $3,000: spent $1,000 by day 10 runs out at the end of day 30, and knowing
    # only the spend until a day or two earlier changes neither the total nor the day.
    zone = ZoneInfo(tz)
    data_end = at(now) - timedelta(hours=lag_hours)
    forecast, actual = run(per_day(100), "2025-01", data_end, zone, amount=3000 * M)
    end_of_day_30 = datetime(2025, 1, 31, tzinfo=zone).astimezone(UTC)
    assert forecast is not None and forecast.method == "seasonal"
    assert abs(forecast.projected - actual) <= 2
    assert forecast.run_out is not None and abs(forecast.run_out - end_of_day_30) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("history", "spent", "method"),
    [
        (timedelta(0), 0, None),
        (timedelta(0), 20 * M, "run-rate"),  # a total without hours: still a straight line
        (timedelta(hours=1), None, "run-rate"),
        (timedelta(hours=23), None, "run-rate"),
        (timedelta(hours=24), None, "seasonal"),
        (timedelta(days=6), None, "seasonal"),
        (timedelta(days=7), None, "seasonal"),
    ],
)
def test_the_method_follows_the_length_of_history(history: timedelta, spent: int | None, method: str | None) -> None:
    p_start, p_end, data_end = at("2025-04-01T00:00"), at("2025-05-01T00:00"), at("2025-04-08T00:00")
    hourly = [M] * int(history / HOUR)
    spent = len(hourly) * M if spent is None else spent
    forecast = project(hourly, data_end - history, data_end, p_start, p_end, spent, NEVER, ZoneInfo("UTC"))
    assert (forecast and forecast.method) == method


@pytest.mark.parametrize(
    ("zeros", "active", "method", "projected"),
    [
        # A source that started a few days ago, padded with zeros to the usual five weeks: $1 an
        # hour since then, so the rest of the month (20 days) at $1 an hour.
        (5 * 168, 3 * 24, "seasonal", (72 + 480) * M),
        (5 * 168, 8 * 24, "seasonal", (192 + 480) * M),
        (5 * 168 + 228, 12, "run-rate", 36 * M),  # $12 by day 10: a straight line through the month
        (5 * 168 + 240, 0, None, None),  # nothing spent, ever
    ],
)
def test_leading_zeros_are_not_history(zeros: int, active: int, method: str | None, projected: int | None) -> None:
    p_start, p_end, data_end = at("2025-04-01T00:00"), at("2025-05-01T00:00"), at("2025-04-11T00:00")
    hourly = [0] * zeros + [M] * active
    spent = sum(hourly[-240:])
    forecast = project(hourly, data_end - len(hourly) * HOUR, data_end, p_start, p_end, spent, NEVER, ZoneInfo("UTC"))
    assert (forecast and forecast.method) == method
    assert (forecast and forecast.projected) == projected


@pytest.mark.parametrize("days", [1, 3, 6])
def test_a_few_days_of_history_give_an_hour_of_day_shape(days: int) -> None:
    # Busy afternoons: from noon on the last day of the month, the rest of it is mostly busy
    # hours, which a straight line through the month so far underrates.
    def spend(t: datetime) -> int:
        return 6 * M if 12 <= t.hour < 20 else M

    data_end = at("2025-04-30T12:00")
    forecast, actual = run(spend, "2025-04", data_end, ZoneInfo("UTC"), history=timedelta(days=days))
    line = run_rate(spend, "2025-04", data_end, ZoneInfo("UTC"))
    assert forecast is not None and forecast.method == "seasonal"
    assert abs(forecast.projected - actual) < abs(line - actual)


@pytest.mark.parametrize(
    ("tz", "dollars_a_day", "amount", "data_end", "history_hours", "method", "run_out"),
    [
        # $100 a day, $3,000, $1,000 spent by day 10: runs out at the end of day 30.
        ("UTC", 100, 3000, "2025-01-11T00:00", 840, "seasonal", "2025-01-31T00:00"),
        ("UTC", 100, 3050, "2025-01-11T00:00", 840, "seasonal", "2025-01-31T12:00"),
        ("UTC", 100, 3101, "2025-01-11T00:00", 840, "seasonal", None),  # $3,100 in January: never
        ("UTC", 100, 1000, "2025-01-11T00:00", 840, "seasonal", None),  # already spent: not a forecast
        ("UTC", 100, 900, "2025-01-11T00:00", 840, "seasonal", None),
        ("UTC", 100, 3000, "2025-01-11T00:00", 72, "seasonal", "2025-01-31T00:00"),
        ("Europe/Berlin", 100, 3000, "2025-01-10T23:00", 840, "seasonal", "2025-01-30T23:00"),
        ("UTC", 240, 150, "2025-01-01T12:00", 12, "run-rate", "2025-01-01T15:00"),  # $10 an hour
        ("UTC", 240, 171, "2025-01-01T12:00", 12, "run-rate", "2025-01-01T17:06"),
    ],
)
def test_run_out_on_a_flat_series(
    tz: str, dollars_a_day: int, amount: int, data_end: str, history_hours: int, method: str, run_out: str | None
) -> None:
    history = timedelta(hours=history_hours)
    forecast, _ = run(per_day(dollars_a_day), "2025-01", at(data_end), ZoneInfo(tz), history, amount=amount * M)
    assert forecast is not None and forecast.method == method
    if run_out is None:
        assert forecast.run_out is None
    else:
        assert forecast.run_out is not None and abs(forecast.run_out - at(run_out)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("shape", "spike_hours_before_data_end", "width"),
    [
        ("flat", 1, 1),  # the newest hour
        ("flat", 30, 1),
        ("flat", 6 * 24 + 5, 1),
        ("flat", 20 * 24, 1),  # an older week: only the shape could carry it
        ("flat", 5 * 24, 2),
        ("office", 3 * 24 + 10, 1),
        ("office", 12 * 24 + 3, 1),  # before the month began
    ],
)
def test_a_spike_in_history_does_not_blow_up_the_projection(
    shape: str, spike_hours_before_data_end: int, width: int
) -> None:
    data_end = at("2025-04-10T22:00")
    base = flat(2 * M) if shape == "flat" else office()
    spike = [data_end - k * HOUR for k in range(spike_hours_before_data_end, spike_hours_before_data_end - width, -1)]

    def spend(t: datetime) -> int:
        return 1000 * base(t) if t in spike else base(t)

    forecast, _ = run(spend, "2025-04", data_end)
    calm, calm_actual = run(base, "2025-04", data_end)
    assert forecast is not None and calm is not None
    extra = sum(999 * base(t) for t in spike if t >= at("2025-03-31T22:00"))  # spent in the month, not repeated
    # Capped at 3× its hour's usual high, a spike in the last week still lifts the level a little.
    assert abs(forecast.projected - extra - calm.projected) / calm_actual < 0.03


@pytest.mark.parametrize(
    ("shape", "dollars"),
    [
        ("nightly", 40),  # one hour a night, 40× the rest
        ("weekly", 200),  # Saturday 03:00 only, four weeks of history show it is a habit
    ],
)
def test_a_recurring_batch_hour_is_not_a_spike(shape: str, dollars: int) -> None:
    def spend(t: datetime) -> int:
        local = t.astimezone(BERLIN)
        batch = local.hour == 3 and (shape == "nightly" or local.weekday() == 5)
        return dollars * M if batch else M

    forecast, actual = run(spend, "2025-04", at("2025-04-10T22:00"))
    assert forecast is not None
    assert abs(forecast.projected - actual) / actual < 0.01


@pytest.mark.parametrize(
    ("month", "data_end", "amount_days", "run_out"),
    [
        # Spend only 09:00-10:00 Berlin time, $10 a day; the amount is reached halfway through
        # that hour on a given day: 08:30 UTC in winter, 07:30 UTC in summer.
        ("2025-03", "2025-03-09T23:00", 28.5, "2025-03-29T08:30"),
        ("2025-03", "2025-03-09T23:00", 29.5, "2025-03-30T07:30"),  # DST began that night
        ("2025-03", "2025-03-09T23:00", 30.5, "2025-03-31T07:30"),
        ("2025-03", "2025-03-30T22:00", 30.5, "2025-03-31T07:30"),  # history across the change
        ("2025-04", "2025-04-02T22:00", 20.5, "2025-04-21T07:30"),  # 4 of 5 weeks of history in winter
        ("2025-10", "2025-10-09T22:00", 24.5, "2025-10-25T07:30"),
        ("2025-10", "2025-10-09T22:00", 25.5, "2025-10-26T08:30"),  # DST ended that night
        ("2025-10", "2025-10-09T22:00", 26.5, "2025-10-27T08:30"),
        ("2025-11", "2025-11-05T23:00", 9.5, "2025-11-10T08:30"),  # summer and winter history
    ],
)
def test_dst_months_in_berlin_map_hours_to_their_local_slot(
    month: str, data_end: str, amount_days: float, run_out: str
) -> None:
    forecast, actual = run(local_hour(9, 10), month, at(data_end), amount=int(amount_days * 10 * M))
    assert forecast is not None and forecast.method == "seasonal"
    # Every day, including the 23- and 25-hour ones (their weeks weigh a day-of-week a hair
    # differently: well under a cent).
    assert abs(forecast.projected - actual) < 1000
    assert forecast.run_out is not None and abs(forecast.run_out - at(run_out)) < timedelta(minutes=1)
    assert forecast.run_out.astimezone(BERLIN).hour == 9


def test_a_year_is_projected_quickly() -> None:
    p_start, p_end, data_end = at("2025-01-01T00:00"), at("2026-01-01T00:00"), at("2025-02-01T00:00")
    start = p_start - timedelta(weeks=5)
    spend = office()
    hourly = [spend(t) for t in hours(start, data_end)]
    spent = sum(hourly[-31 * 24 :])
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        forecast = project(hourly, start, data_end, p_start, p_end, spent, NEVER, BERLIN)
        best = min(best, time.perf_counter() - began)
    assert forecast is not None and forecast.projected > spent
    assert best < 0.05  # ~8,000 future hours; typically a few ms


@pytest.mark.parametrize(
    ("hourly", "start", "data_end", "period_end"),
    [
        ([M] * 23, "2025-04-01T00:00", "2025-04-02T00:00", "2025-05-01T00:00"),  # one hour short
        ([M] * 24, "2025-04-01T00:30", "2025-04-02T00:30", "2025-05-01T00:00"),  # not on the hour
        ([M] * 24, "2025-04-01T00:00", "2025-04-02T00:00", "2025-04-01T00:00"),  # empty period
    ],
)
def test_inconsistent_input_is_refused(hourly: list[int], start: str, data_end: str, period_end: str) -> None:
    with pytest.raises(ValueError):
        project(hourly, at(start), at(data_end), at("2025-04-01T00:00"), at(period_end), 0, M, ZoneInfo("UTC"))


def test_naive_times_are_refused() -> None:
    naive = datetime(2025, 4, 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        project(
            [M] * 24, naive - timedelta(days=1), naive, at("2025-04-01T00:00"), at("2025-05-01T00:00"), 0, M, BERLIN
        )


@settings(max_examples=300, deadline=None)
@given(
    hour=st.integers(0, 3 * 365 * 24),
    count=st.integers(0, 1000),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/Santiago", "Asia/Kolkata", "Australia/Lord_Howe"]),
    width=st.sampled_from([24, 168]),
    seed=st.integers(0, 2**32),
)
def test_hours_by_local_slot_are_each_hours_own_clock(hour: int, count: int, zone: str, width: int, seed: int) -> None:
    """The runs of local hours, and sums per local slot over them, against each UTC hour's own
    local clock (DST changes included: a skipped or a repeated hour breaks a run)."""
    tz = ZoneInfo(zone)
    first = int(at("2024-01-01T00:00").timestamp()) + hour * 3600
    local = []
    for u in range(first, first + count * 3600, 3600):
        offset = datetime.fromtimestamp(u, tz).utcoffset()
        assert offset is not None
        local.append((u + int(offset.total_seconds())) // 3600)
    runs = _local_runs(first, count, tz)
    assert [(i, h) for a, b, h0 in runs for i, h in zip(range(a, b), range(h0, h0 + b - a), strict=True)] == list(
        enumerate(local)
    )
    rng = random.Random(seed)
    values = [rng.randint(-M, 50 * M) for _ in range(count)]
    sums, counts = [0] * width, [0] * width
    for v, h in zip(values, local, strict=True):
        sums[(h + 72) % width] += v
        counts[(h + 72) % width] += 1
    assert _slot_sums(values, runs, width, 72) == (sums, counts)


@pytest.mark.parametrize(
    ("spend", "history", "narrow"),
    [
        (flat(2 * M), timedelta(weeks=5), True),  # every day the same: no range to speak of
        (office(), timedelta(weeks=5), True),  # a weekly shape, learnt: still steady
        (lambda t: (1 + t.day % 4) * M, timedelta(weeks=5), False),  # days of $24 to $96
    ],
)
def test_the_range_follows_how_the_recent_days_varied(spend: Spend, history: timedelta, narrow: bool) -> None:
    forecast, _ = run(spend, "2025-04", at("2025-04-11T00:00"), history=history)
    assert forecast is not None and forecast.low is not None and forecast.high is not None
    assert forecast.low <= forecast.projected <= forecast.high
    width = (forecast.high - forecast.low) / forecast.projected
    assert (width < 0.02) if narrow else (width > 0.2), width


@pytest.mark.parametrize("history", [timedelta(hours=12), timedelta(days=2)])
def test_too_little_history_gives_no_range(history: timedelta) -> None:
    forecast, _ = run(flat(M), "2025-04", at("2025-04-11T00:00"), history=history)
    assert forecast is not None and (forecast.low, forecast.high) == (None, None)
