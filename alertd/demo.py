"""`alertd demo`: the real pipeline against a simulated Northflank API on 127.0.0.1.

Real HTTP client, real SQLite store (in a temporary directory, removed afterwards), real
rules, real Apprise delivering to `console://`. No network, no credentials.
"""

from __future__ import annotations

import secrets
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from alertd import config as configuration
from alertd.daemon import run_cycle
from alertd.evaluate.budgets import statuses
from alertd.money import format_money
from alertd.percent import rounded_percent
from alertd.redact import register
from alertd.rules.periods import FORECAST_HISTORY, period_bounds
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import northflank_dollars, northflank_hours
from alertd.store import Store

HOUR = 3600
SPIKE = Decimal(6)  # a GPU job left running multiplies CPU and GPU spend over the last day
# A forecast alert waits for a tenth of its period, and near the end too little is left to project.
FORECAST_SHOWS = (0.12, 0.8)
ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly"}


def forecast_period(now: datetime, tz: ZoneInfo, candidates: tuple[str, ...] = ("month", "week", "day")) -> str | None:
    """The first of `candidates` that `now` is far enough into for a forecast alert to show, if any."""
    for period in candidates:
        start, end = period_bounds(period, now, tz)
        if FORECAST_SHOWS[0] <= (now - start) / (end - start) <= FORECAST_SHOWS[1]:
            return period
    return None


def run(keep: Path | None = None) -> int:
    """The demo; `keep`: a directory (new, or empty) to leave its rules and database in, for
    `alertd status` or `alertd dashboard` to look at after it."""
    started = time.monotonic()
    now = datetime.now(UTC)
    month_start, _ = period_bounds("month", now, UTC)
    first_hour = int((month_start - FORECAST_HISTORY).timestamp()) // HOUR * HOUR
    hours = (int(now.timestamp()) - first_hour) // HOUR + 1
    spike_from = int(now.timestamp()) // HOUR * HOUR - 24 * HOUR
    usage = northflank_hours(first_hour, hours, seed=2026, spike=(spike_from, spike_from + 25 * HOUR, SPIKE))
    token = f"demo-{secrets.token_hex(8)}"
    month_to_date = northflank_dollars(usage, int(month_start.timestamp()))
    today = northflank_dollars(usage, int(period_bounds("day", now, UTC)[0].timestamp()))
    period = forecast_period(now, ZoneInfo("UTC"))
    cloud = period or "month"
    cloud_to_date = northflank_dollars(usage, int(period_bounds(cloud, now, UTC)[0].timestamp()))

    place = nullcontext(str(keep)) if keep else tempfile.TemporaryDirectory(prefix="alertd-demo-")
    with FakeNorthflank(usage, token=token) as api, place as tmp:
        rules = Path(tmp) / "rules.yaml"
        text = _rules(api.url, token, cloud, cloud_to_date, month_to_date, today)
        rules.write_text(f"database: {Path(tmp).absolute() / 'alertd.db'}\n{text}", encoding="utf-8")
        cfg = configuration.load(rules, {}).config
        register(*cfg.secrets())
        print(f"alertd demo: a simulated Northflank API on {api.url} with {hours} hours of usage")
        print(f"(month to date {format_money(_micros(month_to_date), 'USD')}, and a runaway GPU job in the last day)")
        if period is None:
            print("(no forecast alert now: one waits for a tenth of its period and needs enough of it left to project)")
        print()
        store = Store(Path(tmp) / "alertd.db", cfg.tz)
        try:
            first = run_cycle(cfg, store, [s.name for s in cfg.sources], datetime.now(UTC))
            print()
            second = run_cycle(cfg, store, [s.name for s in cfg.sources], datetime.now(UTC))
            rows = store.conn.execute("SELECT count(*) FROM costs").fetchone()[0]
            standing = [status for _, status in statuses(cfg, store, datetime.now(UTC))]
        finally:
            store.close()
        requests = len(api.requests)

    print("Summary")
    print(f"  fetched {rows} cost rows in {requests} HTTP requests, stored in SQLite")
    assert first.evaluation is not None
    for status in standing:
        forecast = status.forecast
        projected = f", forecast {format_money(forecast.projected, 'USD')}" if forecast else ""
        print(
            f"  {status.rule}: {format_money(status.spent, 'USD')} of {format_money(status.amount, 'USD')}"
            f" ({rounded_percent(status.spent, status.amount)}%){projected}"
        )
    second_new = len(second.evaluation.new) if second.evaluation else 0
    print(f"  first check: {len(first.evaluation.new)} alerts, {first.deliveries.sent} delivered to console://")
    print(f"  second check: {second_new} alerts (each threshold fires once per period)")
    took = f"  took {time.monotonic() - started:.1f}s"
    if keep:
        print(f"{took}; the rules and the database are in {keep}: see them with")
        print(f"  alertd dashboard -c {keep / 'rules.yaml'}")
    else:
        print(f"{took}; nothing left behind (the database was in a temporary directory)")
    return 0 if first.ok and second.ok else 1


def _micros(amount: Decimal) -> int:
    return int(amount * 1_000_000)


def _round_up(amount: Decimal, unit: Decimal = Decimal(1)) -> Decimal:
    return amount.quantize(unit, rounding=ROUND_CEILING)


def _rules(url: str, token: str, cloud: str, cloud_to_date: Decimal, month_to_date: Decimal, today: Decimal) -> str:
    """Budgets sized against the simulated spend, so that each shows one behaviour."""
    crossed = _round_up(cloud_to_date / Decimal("0.85"), Decimal("0.01"))  # 85% spent: one alert, for 80%
    far = _round_up(month_to_date * 4)  # far away: says nothing
    # Today's spike: 130%. In cents, since just after midnight today is a few dollars.
    daily = _round_up(today / Decimal("1.3"), Decimal("0.01"))
    return f"""
timezone: UTC
sources:
  - name: northflank
    provider: northflank
    token: {token}
    base_url: {url}
channels:
  terminal: console://
budgets:
  - name: {ADJECTIVES[cloud]}-cloud
    amount: {crossed}
    period: {cloud}
    thresholds: [50, 80, 100]
    forecast: [100]
    notify: [terminal]
  - name: daily-burn
    amount: {daily}
    period: day
    thresholds: [80, 100, 120]
    notify: [terminal]
  - name: monthly-reserve
    amount: {far}
    period: month
    notify: [terminal]
"""
