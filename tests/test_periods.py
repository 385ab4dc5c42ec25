from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from alertd.config import Config
from alertd.demo import forecast_period
from alertd.rules.periods import history_start, period_bounds, previous_period_start

BERLIN = ZoneInfo("Europe/Berlin")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "at", "tz", "week_start", "start", "end"),
    [
        ("day", "2026-11-21T12:00", "UTC", "monday", "2026-11-21T00:00", "2026-11-22T00:00"),
        # A Berlin month starts at 23:00 UTC (winter) or 22:00 UTC (summer) the day before.
        ("month", "2026-11-21T12:00", "Europe/Berlin", "monday", "2026-10-31T23:00", "2026-11-30T23:00"),
        ("month", "2026-10-31T22:30", "Europe/Berlin", "monday", "2026-09-30T22:00", "2026-10-31T23:00"),
        ("month", "2026-10-31T23:30", "Europe/Berlin", "monday", "2026-10-31T23:00", "2026-11-30T23:00"),
        # DST day: 2026-03-29 in Berlin has 23 hours; 2026-10-25 has 25.
        ("day", "2026-03-29T12:00", "Europe/Berlin", "monday", "2026-03-28T23:00", "2026-03-29T22:00"),
        ("day", "2026-10-25T12:00", "Europe/Berlin", "monday", "2026-10-24T22:00", "2026-10-25T23:00"),
        ("week", "2026-11-21T12:00", "UTC", "monday", "2026-11-16T00:00", "2026-11-23T00:00"),
        ("week", "2026-11-21T12:00", "UTC", "sunday", "2026-11-15T00:00", "2026-11-22T00:00"),
        ("week", "2026-11-22T12:00", "UTC", "sunday", "2026-11-22T00:00", "2026-11-29T00:00"),
        ("quarter", "2026-11-21T12:00", "UTC", "monday", "2026-10-01T00:00", "2027-01-01T00:00"),
        ("quarter", "2026-01-01T00:00", "UTC", "monday", "2026-01-01T00:00", "2026-04-01T00:00"),
        ("year", "2026-12-31T23:59", "UTC", "monday", "2026-01-01T00:00", "2027-01-01T00:00"),
        ("month", "2026-12-15T00:00", "America/New_York", "monday", "2026-12-01T05:00", "2027-01-01T05:00"),
    ],
)
def test_period_bounds(period: str, at: str, tz: str, week_start: str, start: str, end: str) -> None:
    assert period_bounds(period, utc(at), ZoneInfo(tz), week_start) == (utc(start), utc(end))


def test_previous_period_start() -> None:
    assert previous_period_start("month", utc("2026-03-15T00:00"), BERLIN) == utc("2026-01-31T23:00")
    assert previous_period_start("year", utc("2026-03-15T00:00"), ZoneInfo("UTC")) == utc("2025-01-01T00:00")


def test_history_start_covers_the_longest_rule() -> None:
    now = utc("2026-11-21T12:00")
    assert history_start(Config(), now) == utc("2026-10-21T00:00")  # a month back, no rules
    cfg = Config.model_validate(
        {
            "channels": {"c": "json://x"},
            "budgets": [
                {"name": "m", "amount": 1, "period": "month", "notify": ["c"]},
                {"name": "q", "amount": 1, "period": "quarter", "notify": ["c"]},
            ],
            "anomalies": [{"name": "a", "baseline": "200d", "notify": ["c"]}],
        }
    )
    # The anomaly rule reads its baseline plus two months (to know what recurs monthly).
    assert history_start(cfg, now) == utc("2026-03-04T12:00")


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (datetime(2026, 11, 22, 1, tzinfo=UTC), "month"),  # 70% through November
        (datetime(2026, 12, 1, 1, tzinfo=UTC), "week"),  # a Tuesday: the month is hours old
        (datetime(2026, 11, 30, 18, tzinfo=UTC), "day"),  # a Monday evening at the month's end
        (datetime(2027, 2, 1, 1, tzinfo=UTC), None),  # Monday 1 February, 01:00: all three too young
    ],
)
def test_the_demo_forecasts_over_a_period_far_enough_in(now: datetime, period: str | None) -> None:
    assert forecast_period(now, ZoneInfo("UTC")) == period
