"""`alertd replay`: every rule over stored history, as if time moved forward hour by hour.

Data arrives at the end of each bucket; alerts go through the same decisions as in the daemon
(once per period and threshold, repeat, forecast; one alert per anomaly event, cooldown), and
nothing is sent. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alertd.alerts.budget import decide
from alertd.config import Budget, Config
from alertd.evaluate.anomalies import replay_anomalies
from alertd.model import Alert, AnomalyStatus, Sent, utc
from alertd.money import MICROS, decimal_string
from alertd.rules.budget import status_of, windows
from alertd.rules.periods import budget_history_start
from alertd.store import Store
from alertd.timeline import Timeline

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
        found += _budget(budget, store, since, until, config)
    for rule in config.anomalies:
        for alert in replay_anomalies(config, store, rule, since, until):
            assert isinstance(alert.status, AnomalyStatus)
            found.append(Replayed(alert.status.bucket_start + timedelta(seconds=alert.status.step), alert))
    return sorted(found, key=lambda r: (r.at, r.alert.rule))


def _budget(budget: Budget, store: Store, since: datetime, until: datetime, config: Config) -> Iterator[Replayed]:
    """Hour by hour, buckets arriving at their end. The status (and the decision) is worked out
    only when a threshold may have been crossed, a reminder may be due, or, every
    `FORECAST_EVERY`, while a forecast threshold is still open."""
    tz = config.tz
    first = budget_history_start(budget, since, tz)
    sources = list(budget.sources) if budget.sources is not None else store.sums.sources()
    timeline = Timeline(budget, store.sums.arrivals(sources, int(first.timestamp()), int(until.timestamp())), tz)
    amount = int(budget.amount * MICROS)
    sent: dict[datetime, list[Sent]] = {}
    last_forecast: int | None = None
    hour = -(-int(since.timestamp()) // HOUR) * HOUR
    while hour <= int(until.timestamp()):
        now = utc(hour)
        timeline.advance(hour)
        w = windows(budget, now, tz)
        log = sent.setdefault(w.start, [])
        spent = sum(timeline.totals.get(int(w.start.timestamp()), {}).values())
        percent = Decimal(spent * 100) / Decimal(amount)
        actual = [s for s in log if s.kind == "budget"]
        highest = max((s.threshold for s in actual), default=Decimal(0))
        crossing = any(t > highest and percent >= t for t in budget.thresholds)
        last = max((s.created for s in actual if s.threshold == highest), default=None)
        reminding = budget.repeat is not None and last is not None and now - last >= budget.repeat
        forecasting = bool(budget.forecast) and (last_forecast is None or hour - last_forecast >= FORECAST_EVERY)
        if crossing or reminding or forecasting:
            if forecasting:
                last_forecast = hour
            status = status_of(budget, w, timeline.spend(w), tz, config.currency)
            for alert in decide(budget, status, log, now):
                log.append(Sent(alert.kind, alert.threshold or Decimal(0), alert.repeat, now))
                yield Replayed(now, alert)
        hour += HOUR
