"""Budgets end to end: a Northflank-like API, `alertd check` as a subprocess, a webhook receiver."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd import config as configuration
from alertd.demo import forecast_period
from alertd.evaluate.budgets import statuses
from alertd.money import format_money
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import northflank_hours
from alertd.store import Store
from tests.conftest import run_cli
from tests.receivers import Webhook

TOKEN = "nf-canary-budget-31"
HOUR = 3600


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), ROUND_HALF_UP)


def rules(url: str, hook: str, tz: str, period: str, budgets: str = "") -> str:
    return f"""
timezone: {tz}
database: costs.db
sources:
  - {{name: nf, provider: northflank, token: {TOKEN}, base_url: "{url}"}}
channels:
  slack: {hook}
budgets:
  - {{name: probe, amount: 1, period: {period}, thresholds: [1000000], notify: [slack]}}
{budgets}"""


@pytest.mark.slow
@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_each_budget_gets_exactly_the_alert_it_should(write, tmp_path: Path, tz: str) -> None:
    now = datetime.now(UTC)
    hour = int(now.timestamp()) // HOUR * HOUR
    usage = northflank_hours(hour - 70 * 24 * HOUR, 70 * 24 + 1, seed=21)
    # A period far enough in for a forecast alert, with enough left to project: a month, else a week, ...
    period = forecast_period(now, ZoneInfo(tz), ("month", "week", "quarter", "year", "day"))
    assert period is not None, "no calendar period is far enough in for a forecast right now (a few hours a year)"
    with FakeNorthflank(usage, token=TOKEN) as api, Webhook() as hook:
        path = write("rules.yaml", rules(api.url, hook.url, tz, period))
        assert run_cli("backfill", "-c", str(path)).returncode == 0
        # Size the budgets against what the store holds now, with alertd's own arithmetic.
        cfg = configuration.load(path, {}).config
        store = Store(tmp_path / "costs.db", cfg.tz)
        ((_, probe),) = statuses(cfg, store, datetime.now(UTC))
        store.close()
        spent = Decimal(probe.spent) / 10**6
        assert probe.forecast is not None
        projected = Decimal(probe.forecast.projected) / 10**6
        assert projected > spent * Decimal("1.01"), (spent, projected)
        budgets = f"""
  - {{name: at-80-1, amount: {cents(spent / Decimal("0.801"))}, period: {period}, notify: [slack]}}
  - {{name: at-79-9, amount: {cents(spent / Decimal("0.799"))}, period: {period}, notify: [slack]}}
  - {{name: forecast, amount: {cents((spent + projected) / 2)}, period: {period}, thresholds: [100], forecast: [100], notify: [slack]}}
  - {{name: far-away, amount: {cents(spent * 10)}, period: {period}, forecast: [100], notify: [slack]}}
"""
        path = write("rules.yaml", rules(api.url, hook.url, tz, period, budgets))

        first = run_cli("check", "-c", str(path))
        assert first.returncode == 0, first.stderr
        titles = sorted(hook.titles())
        assert len(titles) == 3, titles
        assert next(t for t in titles if "at-80-1" in t).count("80%") == 1
        assert "at-79-9" in " ".join(titles) and "50%" in next(t for t in titles if "at-79-9" in t)
        assert any("forecast" in t and "100%" in t for t in titles)
        assert not any("far-away" in t or "probe" in t for t in titles)
        so_far = format_money(probe.spent, "USD")
        assert all(so_far in post["message"] for post in hook.posts), so_far

        second = run_cli("check", "-c", str(path))
        assert second.returncode == 0, second.stderr
        assert len(hook.posts) == 3  # nothing twice
        assert "0 new alert(s)" in second.stdout
        assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr

        # The provider revises the latest hour up by a third of the month: at-80-1 escalates to 100%.
        latest = max(usage)
        entry = usage[latest]
        extra = cents(spent / 3 * 100)
        price = entry["paasUsage"]["price"]
        api.set_hour(
            latest,
            {**entry, "paasUsage": {"price": {**price, "cpu": price["cpu"] + extra, "total": price["total"] + extra}}},
        )
        third = run_cli("check", "-c", str(path))
        assert third.returncode == 0, third.stderr
        escalated = [p["title"] for p in hook.posts[3:] if "at-80-1" in p["title"]]
        assert len(escalated) == 1 and "crossed 100%" in escalated[0]
