"""`alertd replay`: every rule over stored history, as if time moved forward hour by hour.

Data arrives at the end of each bucket; alerts go through the same decisions as in the daemon
(once per period and threshold, repeat, forecast; one alert per anomaly event, cooldown), and
nothing is sent. Reads only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alertd.alerts.anomaly import judge
from alertd.alerts.budget import decide
from alertd.config import Budget, Config
from alertd.model import Alert, AnomalyStatus, CostRecord, Sent, SeriesState, utc
from alertd.money import MICROS, decimal_string
from alertd.rules.anomaly import history_needed
from alertd.rules.budget import budget_status, selects
from alertd.rules.periods import budget_history_start, period_bounds
from alertd.rules.series import build_series
from alertd.store import Store

HOUR = 3600
FORECAST_EVERY = 6 * HOUR  # a projection is costly; forecasts are re-checked this often in a replay


@dataclass(frozen=True)
class Replayed:
    at: datetime  # when it would have been sent
    alert: Alert

    def as_json(self) -> dict[str, object]:
        status = self.alert.status
        data: dict[str, object] = {"rule": self.alert.rule, "kind": self.alert.kind, "at": self.at.isoformat()}
        if isinstance(status, AnomalyStatus):
            data["series"] = {"source": status.source, "line_item": status.line_item}
            data["bucket"] = status.bucket_start.isoformat()
            data["value"] = decimal_string(status.value)
            data["expected"] = decimal_string(status.expected)
            data["reason"] = status.reason
        else:
            data["series"] = {"source": None, "line_item": None}
            data["threshold"] = str(self.alert.threshold)
            data["spent"] = decimal_string(status.spent)
            data["amount"] = decimal_string(status.amount)
            if self.alert.kind == "forecast" and status.forecast:
                data["projected"] = decimal_string(status.forecast.projected)
        return data


def replay(config: Config, store: Store, since: datetime, until: datetime) -> list[Replayed]:
    """Every alert the rules would have sent between `since` and `until`, in time order."""
    found: list[Replayed] = []
    for budget in config.budgets:
        start = budget_history_start(budget, since, config.tz)
        records = store.costs(int(start.timestamp()), int(until.timestamp()), budget.sources)
        found += _budget(budget, records, since, until, config)
    for rule in config.anomalies:
        first = int((since - history_needed(rule.baseline)).timestamp())
        end = int(until.timestamp())
        for series in build_series(rule, store.costs(first, end, rule.sources), first, end):
            _, alerts = judge(rule, series, SeriesState(), config.tz, config.currency, int(since.timestamp()))
            for alert in alerts:
                assert isinstance(alert.status, AnomalyStatus)
                found.append(Replayed(alert.status.bucket_start + timedelta(seconds=series.step), alert))
    return sorted(found, key=lambda r: (r.at, r.alert.rule))


def _budget(
    budget: Budget, records: list[CostRecord], since: datetime, until: datetime, config: Config
) -> Iterator[Replayed]:
    """Hour by hour. Spend is summed as buckets arrive; the full status (and the decision) is
    worked out only when a threshold may have been crossed, a reminder may be due, or, every
    `FORECAST_EVERY`, while a forecast threshold is still open."""
    tz = config.tz
    selected = sorted((r for r in records if selects(budget, r)), key=lambda r: r.bucket_start + r.bucket_seconds)
    by_start = sorted(selected, key=lambda r: r.bucket_start)
    starts = [r.bucket_start for r in by_start]
    amount = int(budget.amount * MICROS)
    sent: dict[datetime, list[Sent]] = {}
    spent: dict[datetime, int] = {}  # per period start, of what has arrived
    arrived = 0
    last_forecast: int | None = None
    hour = -(-int(since.timestamp()) // HOUR) * HOUR
    while hour <= int(until.timestamp()):
        now = utc(hour)
        while arrived < len(selected) and selected[arrived].bucket_start + selected[arrived].bucket_seconds <= hour:
            r = selected[arrived]
            holder, _ = period_bounds(budget.period, utc(r.bucket_start), tz, budget.week_start)
            spent[holder] = spent.get(holder, 0) + r.amount
            arrived += 1
        period, _ = period_bounds(budget.period, now, tz, budget.week_start)
        log = sent.setdefault(period, [])
        percent = Decimal(spent.get(period, 0) * 100) / Decimal(amount)
        actual = [s for s in log if s.kind == "budget"]
        highest = max((s.threshold for s in actual), default=Decimal(0))
        crossing = any(t > highest and percent >= t for t in budget.thresholds)
        last = max((s.created for s in actual if s.threshold == highest), default=None)
        reminding = budget.repeat is not None and last is not None and now - last >= budget.repeat
        forecasting = bool(budget.forecast) and (last_forecast is None or hour - last_forecast >= FORECAST_EVERY)
        if crossing or reminding or forecasting:
            if forecasting:
                last_forecast = hour
            first = bisect_left(starts, int(budget_history_start(budget, now, tz).timestamp()))
            visible = [r for r in by_start[first:] if r.bucket_start + r.bucket_seconds <= hour]
            status = budget_status(budget, visible, now, tz, config.currency)
            for alert in decide(budget, status, log, now):
                log.append(Sent(alert.kind, alert.threshold or Decimal(0), alert.repeat, now))
                yield Replayed(now, alert)
        hour += HOUR
