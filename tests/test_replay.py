"""`alertd replay`'s budget half against the plainest reading of its contract: hour by hour, the
buckets that have ended by then, summed from the rows, through the same decisions."""

from __future__ import annotations

import random
from bisect import bisect_right
from decimal import Decimal
from pathlib import Path

from alertd.alerts.budget import decide
from alertd.model import Sent, utc
from alertd.replay import forecast_due, replay
from alertd.rules.budget import budget_status
from alertd.store import Store
from tests.test_evaluate_budgets import DAY, START, config, history, write

ZONE = "Australia/Adelaide"  # its periods start on the half hour, between the hourly buckets

H = 3600


def reference(cfg, rows, since: int, until: int) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    found = []
    rows = sorted(rows, key=lambda r: r.bucket_start + r.bucket_seconds)
    ends = [r.bucket_start + r.bucket_seconds for r in rows]
    for budget in cfg.budgets:
        sent: dict[object, list[Sent]] = {}
        last_forecast = None
        for hour in range(since, until + 1, H):
            now = utc(hour)
            arrived = rows[: bisect_right(ends, hour)]  # the buckets ended by then
            status = budget_status(budget, arrived, now, cfg.tz, cfg.currency)
            log = sent.setdefault(status.period_start, [])
            actual = [s for s in log if s.kind == "budget"]
            highest = max((s.threshold for s in actual), default=Decimal(0))
            crossing = any(t > highest and status.percent >= t for t in budget.thresholds)
            last = max((s.created for s in actual if s.threshold == highest), default=None)
            reminding = budget.repeat is not None and last is not None and now - last >= budget.repeat
            start, end = int(status.period_start.timestamp()), int(status.period_end.timestamp())
            forecasting = forecast_due(budget, start, end, hour, status.percent, log, last_forecast)
            if not (crossing or reminding or forecasting):
                continue
            if forecasting:
                last_forecast = hour
            for alert in decide(budget, status, log, now):
                log.append(Sent(alert.kind, alert.threshold or Decimal(0), alert.repeat, now))
                found.append((now.isoformat(), alert.rule, alert.kind, str(alert.threshold)))
    return sorted(found)


def test_replayed_budget_alerts_are_those_of_the_rows_hour_by_hour(tmp_path: Path) -> None:
    rng = random.Random(5)
    specs = [
        {"amount": 400, "period": "day", "thresholds": [50, 100], "repeat": "5h"},
        {"amount": 1350, "period": "week", "forecast": [100], "sources": ["nf", "fr"]},
        {"amount": 20000, "period": "month", "forecast": [80, 120], "line_items": ["gpu.*", "ep*"]},
        {"amount": 90000, "period": "quarter", "thresholds": [10, 30]},
    ]
    cfg = config(ZONE, [{"name": f"b{i}", "notify": ["x"], **s} for i, s in enumerate(specs)])
    rows = history(rng, 24 * 24)
    with Store(tmp_path / "a.db", cfg.tz) as store:
        write(store, rows, complete=False)
        since, until = START + 8 * DAY, START + 23 * DAY
        got = sorted(
            (r.at.isoformat(), r.alert.rule, r.alert.kind, str(r.alert.threshold))
            for r in replay(cfg, store, utc(since), utc(until))
        )
    expected = reference(cfg, rows, since, until)
    assert got == expected
    assert len({kind for _, _, kind, _ in got}) == 2 and len(got) > 10  # thresholds, reminders and forecasts
