"""`alertd replay`: every rule over stored history, as if time moved forward hour by hour.

Data arrives at the end of each bucket; alerts go through the same decisions as in the daemon
(once per period and threshold, repeat, forecast; one alert per anomaly event, cooldown), and
nothing is sent. Reads only.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from alertd.alerts.budget import decide
from alertd.config import Budget, Config
from alertd.evaluate.anomalies import replay_anomalies
from alertd.model import Alert, AnomalyStatus, Sent, utc
from alertd.money import MICROS, decimal_string
from alertd.rules.budget import Windows, selects, status_of, windows
from alertd.rules.periods import budget_history_start
from alertd.store import Store
from alertd.timeline import Timeline

HOUR = 3600
# A projection is costly: a replay re-checks forecasts a 30th of the period apart, from 6 hours
# (days, weeks) to a day (months and longer).
FORECAST_MIN, FORECAST_MAX = 6 * HOUR, 24 * HOUR


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
    found: list[Replayed] = list(_budgets(config, store, since, until))
    for rule in config.anomalies:
        for alert in replay_anomalies(config, store, rule, since, until):
            assert isinstance(alert.status, AnomalyStatus)
            found.append(Replayed(alert.status.bucket_start + timedelta(seconds=alert.status.step), alert))
    return sorted(found, key=lambda r: (r.at, r.alert.rule))


def _budgets(config: Config, store: Store, since: datetime, until: datetime) -> Iterator[Replayed]:
    """Hour by hour, buckets arriving at their end, read once for every budget (only the series
    some budget counts) and handed to the timelines of the budgets that count them."""
    if not config.budgets:
        return
    tz = config.tz
    replayers = [_Replayer(budget, config) for budget in config.budgets]
    counting: dict[tuple[str, str], list[Timeline]] = {}
    for series in store.sums.series():
        counting[series] = [r.timeline for r in replayers if selects(r.budget, *series)]
    wanted = [s for s, timelines in counting.items() if timelines]
    first = min(budget_history_start(b, since, tz) for b in config.budgets)
    arrivals = store.sums.arrivals(wanted, int(first.timestamp()), int(until.timestamp()))
    waiting = next(arrivals, None)
    hour = -(-int(since.timestamp()) // HOUR) * HOUR
    while hour <= int(until.timestamp()):
        while waiting is not None and waiting[2] + waiting[3] <= hour:
            for timeline in counting[waiting[0], waiting[1]]:
                timeline.arrive(waiting)
            waiting = next(arrivals, None)
        for replayer in replayers:
            yield from replayer.at(hour)
        hour += HOUR


class _Replayer:
    """One budget's decisions over the replay. The status (and the decision) is worked out only
    when a threshold may have been crossed, a reminder may be due, or a forecast is due
    (`forecast_due`)."""

    def __init__(self, budget: Budget, config: Config) -> None:
        self.budget = budget
        self.config = config
        self.timeline = Timeline(budget, config.tz)
        self.amount = int(budget.amount * MICROS)
        self.sent: dict[datetime, list[Sent]] = {}
        self.last_forecast: int | None = None

    def at(self, hour: int) -> Iterator[Replayed]:
        budget, now = self.budget, utc(hour)
        w = windows(budget, now, self.config.tz)
        log = self.sent.setdefault(w.start, [])
        spent = sum(self.timeline.totals.get(int(w.start.timestamp()), {}).values())
        percent = Decimal(spent * 100) / Decimal(self.amount)
        actual = [s for s in log if s.kind == "budget"]
        highest = max((s.threshold for s in actual), default=Decimal(0))
        crossing = any(t > highest and percent >= t for t in budget.thresholds)
        last = max((s.created for s in actual if s.threshold == highest), default=None)
        reminding = budget.repeat is not None and last is not None and now - last >= budget.repeat
        forecasting = forecast_due(budget, w, percent, log, self.last_forecast)
        if not (crossing or reminding or forecasting):
            return
        if forecasting:
            self.last_forecast = hour
        status = status_of(budget, w, self.timeline.spend(w), self.config.tz, self.config.currency)
        for alert in decide(budget, status, log, now):
            log.append(Sent(alert.kind, alert.threshold or Decimal(0), alert.repeat, now))
            yield Replayed(now, alert)


def forecast_due(budget: Budget, w: Windows, percent: Decimal, log: Sequence[Sent], last: int | None) -> bool:
    """Whether the replay re-checks the forecast now: a forecast threshold can still fire in this
    period (above actual spend, not alerted yet; after the first tenth, as `decide` requires), and
    the last check is a 30th of the period (6 h to a day) ago."""
    if w.now - w.start < (w.end - w.start) / 10:
        return False
    alerted = max((s.threshold for s in log if s.kind == "forecast"), default=Decimal(0))
    if not any(f > percent and f > alerted for f in budget.forecast):
        return False
    every = min(FORECAST_MAX, max(FORECAST_MIN, int((w.end - w.start).total_seconds()) // 30))
    return last is None or int(w.now.timestamp()) - last >= every
