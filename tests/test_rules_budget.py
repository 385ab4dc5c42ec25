"""Where a budget stands: plain tables of cost rows → spend, contributors, drivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alertd.config import Budget
from alertd.model import CostRecord
from alertd.rules.budget import budget_status

BERLIN = ZoneInfo("Europe/Berlin")
M = 1_000_000


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def rec(start: str, amount: float | int, item: str = "paas.cpu", source: str = "nf", seconds: int = 3600) -> CostRecord:
    return CostRecord(source, ts(start), item, seconds, int(amount * M), "USD")


def budget(**extra: object) -> Budget:
    return Budget.model_validate({"name": "b", "amount": 100, "period": "month", "notify": ["x"], **extra})


@pytest.mark.parametrize(
    ("tz", "now", "expected_spent"),
    [
        # 2026-10-31T23:30Z is already November in Berlin: only the 23:00Z hour counts.
        ("Europe/Berlin", "2026-11-01T00:30:00+00:00", 4),
        # In UTC it is still October: everything from Oct 1 counts.
        ("UTC", "2026-10-31T23:59:00+00:00", 1 + 2 + 4),
    ],
)
def test_month_boundary_follows_the_time_zone(tz: str, now: str, expected_spent: int) -> None:
    records = [
        rec("2026-10-01T05:00:00+00:00", 1),
        rec("2026-10-31T22:00:00+00:00", 2),
        rec("2026-10-31T23:00:00+00:00", 4),
    ]
    status = budget_status(budget(), records, datetime.fromisoformat(now), ZoneInfo(tz), "USD")
    assert status.spent == expected_spent * M


def test_a_day_bucket_belongs_to_the_period_holding_its_start() -> None:
    # A Friendli day starting 2026-11-30T00:00Z is in November (UTC) even though it ends in December.
    records = [rec("2026-11-30T00:00:00+00:00", 10, seconds=86400), rec("2026-12-01T00:00:00+00:00", 20, seconds=86400)]
    nov = budget_status(budget(), records, datetime(2026, 11, 30, 23, tzinfo=UTC), UTC, "USD")
    dec = budget_status(budget(), records, datetime(2026, 12, 1, 12, tzinfo=UTC), UTC, "USD")
    assert (nov.spent, dec.spent) == (10 * M, 20 * M)


def test_dst_day_budget_counts_25_hours() -> None:
    records = [
        CostRecord("nf", ts("2026-10-24T22:00:00+00:00") + h * 3600, "paas.cpu", 3600, M, "USD") for h in range(26)
    ]
    status = budget_status(budget(period="day"), records, datetime(2026, 10, 25, 23, 30, tzinfo=UTC), BERLIN, "USD")
    # 2026-10-25 in Berlin runs 22:00Z (Oct 24) to 23:00Z (Oct 25): 25 hours; `now` is past its end.
    assert status.period_start == datetime(2026, 10, 25, 23, tzinfo=UTC)
    earlier = budget_status(budget(period="day"), records, datetime(2026, 10, 25, 22, 59, tzinfo=UTC), BERLIN, "USD")
    assert earlier.spent == 25 * M
    assert earlier.period_end - earlier.period_start == timedelta(hours=25)


def test_sources_and_line_item_globs_select_spend() -> None:
    records = [
        rec("2026-11-02T00:00:00+00:00", 1, "paas.cpu"),
        rec("2026-11-02T00:00:00+00:00", 2, "paas.gpu"),
        rec("2026-11-02T00:00:00+00:00", 4, "byoc.gpu_memory"),
        rec("2026-11-02T00:00:00+00:00", 8, "h100, gpu time cost", source="fr", seconds=86400),
    ]
    now = datetime(2026, 11, 3, tzinfo=UTC)
    cases = [
        ({}, 15),
        ({"sources": ["nf"]}, 7),
        ({"line_items": ["paas.*"]}, 3),
        ({"line_items": ["*gpu*"]}, 14),
        ({"sources": ["nf", "fr"], "line_items": ["*gpu*"]}, 14),
    ]
    for extra, spent in cases:
        assert budget_status(budget(**extra), records, now, UTC, "USD").spent == spent * M, extra


def test_contributors_drivers_previous_point_and_daily() -> None:
    records = [
        rec("2026-10-02T10:00:00+00:00", 5, "paas.cpu"),  # previous month, before the same point
        rec("2026-10-02T11:00:00+00:00", 3, "paas.gpu"),
        rec("2026-10-20T10:00:00+00:00", 50, "paas.cpu"),  # previous month, after the same point: not compared
        rec("2026-11-01T10:00:00+00:00", 6, "paas.cpu"),
        rec("2026-11-02T10:00:00+00:00", 30, "paas.gpu"),
        rec("2026-11-02T10:00:00+00:00", 1, "paas.storage"),
    ]
    status = budget_status(budget(), records, datetime(2026, 11, 3, tzinfo=UTC), UTC, "USD")
    assert status.spent == 37 * M and status.previous_spent == 8 * M
    assert [(c.line_item, c.amount // M) for c in status.contributors] == [
        ("paas.gpu", 30),
        ("paas.cpu", 6),
        ("paas.storage", 1),
    ]
    assert [(c.line_item, c.change // M) for c in status.drivers] == [
        ("paas.gpu", 27),
        ("paas.cpu", 1),
        ("paas.storage", 1),
    ]
    assert status.daily == (6 * M, 31 * M, 0)
    assert f"{status.percent:.1f}" == "37.0"


def test_forecast_is_present_with_history_and_absent_without() -> None:
    now = datetime(2026, 11, 15, tzinfo=UTC)
    history = [
        CostRecord("nf", ts("2026-10-01T00:00:00+00:00") + h * 3600, "paas.cpu", 3600, M, "USD") for h in range(45 * 24)
    ]
    status = budget_status(budget(amount=1000), history, now, UTC, "USD")
    assert status.forecast is not None
    # A flat $1/hour: November's 720 hours project to about $720.
    assert 700 * M <= status.forecast.projected <= 740 * M
    assert budget_status(budget(), [], now, UTC, "USD").forecast is None
