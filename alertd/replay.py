"""`alertd replay`: every rule over stored history, as if time moved forward hour by hour.

Data arrives at the end of each bucket; alerts go through the same decisions as in the daemon
(once per period and threshold, repeat, forecast; one alert per anomaly event, cooldown), and
nothing is sent. Reads only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median_low

from alertd.alerts.budget import decide
from alertd.config import Budget, Config
from alertd.evaluate import scan_pool
from alertd.evaluate.anomalies import replay_rules
from alertd.evaluate.enqueue import members
from alertd.model import Alert, AnomalyStatus, Sent, utc
from alertd.money import MICROS, decimal_string
from alertd.rules.budget import Coverage, selects, status_of, windows
from alertd.rules.periods import budget_history_start, period_bounds
from alertd.store import Store
from alertd.store.rollup import local_day
from alertd.timeline import Ledger, Timeline

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
            data["step"] = status.step
            data["also"] = members(status)
        else:
            data["series"] = {"source": None, "line_item": None}
            data["threshold"] = str(self.alert.threshold)
            data["spent"] = decimal_string(status.spent)
            data["amount"] = decimal_string(status.amount)
            if self.alert.kind == "forecast" and status.forecast:
                data["projected"] = decimal_string(status.forecast.projected)
        return data


@dataclass(frozen=True)
class Attention:
    """What a rule would cost its readers: alerts per 90 days, and the median excess of its anomaly
    alerts per day (what the deviation would cost over a day), None without any."""

    alerts: int
    per_90_days: Decimal
    median_excess_per_day: int | None


def attention(found: Sequence[Replayed], rule: str, span: timedelta) -> Attention:
    mine = [r.alert for r in found if r.alert.rule == rule]
    days = Decimal(max(span.total_seconds(), HOUR)) / 86400
    excess = [
        a.status.together * (86400 // a.status.step)
        for a in mine
        if isinstance(a.status, AnomalyStatus) and not a.status.resolved
    ]
    # median_low: one alert's own excess, an exact amount (`median` would average two as a float)
    return Attention(
        len(mine), (len(mine) * 90 / days).quantize(Decimal("0.1")), median_low(excess) if excess else None
    )


def replay(config: Config, store: Store, since: datetime, until: datetime) -> list[Replayed]:
    """Every alert the rules would have sent between `since` and `until`, in time order. With
    anomaly rules over a long history, the budgets replay in a process of their own meanwhile."""

    def budgets() -> list[Replayed]:
        with Store(store.path, config.tz) as own:  # a fork's copy of this store's connection is not to be used
            return list(_budgets(config, own, since, until))

    hours = (until - since).total_seconds() / HOUR
    worth = bool(config.budgets and config.anomalies) and len(store.sums.series()) * hours >= scan_pool.MIN_BUCKETS
    budget_pass = scan_pool.Alongside(budgets, worth)
    found: list[Replayed] = []
    for alert in replay_rules(config, store, config.anomalies, since, until):
        assert isinstance(alert.status, AnomalyStatus)
        found.append(Replayed(alert.status.bucket_start + timedelta(seconds=alert.status.step), alert))
    return sorted(budget_pass.result() + found, key=lambda r: (r.at, r.alert.rule))


def _budgets(config: Config, store: Store, since: datetime, until: datetime) -> Iterator[Replayed]:
    """Hour by hour, buckets arriving at their end, read once for every budget (only the series
    some budget counts) into one ledger, and counted by the timelines of the budgets that count them."""
    if not config.budgets:
        return
    tz = config.tz
    selections = {(b.sources, b.line_items): b for b in config.budgets}  # one budget stands for its filters
    timelines = {key: Timeline(tz) for key in selections}
    replayers = [_Replayer(b, config, timelines[b.sources, b.line_items]) for b in config.budgets]
    counting = {
        series: [timelines[key] for key, b in selections.items() if selects(b, *series)]
        for series in store.sums.series()
    }
    wanted = [s for s, counted in counting.items() if counted]
    first = int(min(budget_history_start(b, since, tz) for b in config.budgets).timestamp())
    end = int(until.timestamp())
    on_the_hour = -(-first // HOUR) * HOUR  # where the one-hour buckets start (a zone may be off by half)
    ledger = Ledger(tz, counting, on_the_hour, end)
    for source, item, hours, amounts, _ in store.sums.hour_arrays(sorted({s for s, _ in wanted}), on_the_hour, end):
        if counting.get((source, item)):
            ledger.hourly((source, item), hours, amounts)
    arrivals = store.sums.arrivals(wanted, first, end, off_the_hour=True)
    waiting = next(arrivals, None)
    hour = -(-int(since.timestamp()) // HOUR) * HOUR
    while hour <= end:
        arrived = []
        while waiting is not None and waiting[2] + waiting[3] <= hour:
            arrived.append(waiting)
            waiting = next(arrivals, None)
        ledger.arrive(hour, arrived)
        now, today = utc(hour), local_day(hour, tz)
        for replayer in replayers:
            yield from replayer.at(now, hour, today)
        hour += HOUR


class _Replayer:
    """One budget's decisions over the replay. The status (and the decision) is worked out only
    when a threshold may have been crossed, a reminder may be due, or a forecast is due
    (`forecast_due`); the period's bounds only when the period changes."""

    def __init__(self, budget: Budget, config: Config, timeline: Timeline) -> None:
        self.budget = budget
        self.config = config
        self.timeline = timeline
        self.amount = int(budget.amount * MICROS)
        self.start = self.end = self.first_day = 0  # the current period, from `at`
        self.log: list[Sent] = []  # what was sent in the current period
        self.last_forecast: int | None = None
        self._read_log()

    def _read_log(self) -> None:
        """What the log implies (kept, as it changes only when an alert is sent): the next
        threshold to cross and when a reminder of the highest one sent is due."""
        actual = [s for s in self.log if s.kind == "budget"]
        highest = max((s.threshold for s in actual), default=Decimal(0))
        self.next = min((t for t in self.budget.thresholds if t > highest), default=None)
        # The least spend that reaches it, in micro-units: checked every hour without a Decimal.
        self.need = None if self.next is None else math.ceil(self.next * self.amount / 100)
        last = max((s.created for s in actual if s.threshold == highest), default=None)
        repeat = self.budget.repeat
        self.remind_at = None if repeat is None or last is None else last + repeat

    def at(self, now: datetime, hour: int, today: int) -> Iterator[Replayed]:
        budget, tz = self.budget, self.config.tz
        if hour >= self.end:
            start, end = period_bounds(budget.period, now, tz, budget.week_start)
            self.start, self.end = int(start.timestamp()), int(end.timestamp())
            self.first_day, self.log = local_day(self.start, tz), []
            self._read_log()
        spent = self.timeline.spent(self.first_day, today)
        crossing = self.need is not None and spent >= self.need
        reminding = self.remind_at is not None and now >= self.remind_at
        forecasting = bool(budget.forecast) and forecast_due(
            budget, self.start, self.end, hour, Decimal(spent * 100) / self.amount, self.log, self.last_forecast
        )
        if not (crossing or reminding or forecasting):
            return
        if forecasting:
            self.last_forecast = hour
        w = windows(budget, now, tz)
        coverage = Coverage(self.timeline.through)  # what has arrived is complete
        status = status_of(budget, w, self.timeline.spend(w), tz, self.config.currency, coverage)
        for alert in decide(budget, status, self.log, now):
            self.log.append(Sent(alert.kind, alert.threshold or Decimal(0), alert.repeat, now))
            self._read_log()
            yield Replayed(now, alert)


def forecast_due(
    budget: Budget, start: int, end: int, now: int, percent: Decimal, log: Sequence[Sent], last: int | None
) -> bool:
    """Whether the replay re-checks the forecast at `now` in the period [start, end) (unix seconds):
    a forecast threshold can still fire in this period (above actual spend, not alerted yet; from
    its first hour: `decide` judges whether the projection is settled), and the last check is a
    30th of the period (6 h to a day) ago."""
    if not budget.forecast or now - start < HOUR:
        return False
    alerted = max((s.threshold for s in log if s.kind == "forecast"), default=Decimal(0))
    if not any(f > percent and f > alerted for f in budget.forecast):
        return False
    every = min(FORECAST_MAX, max(FORECAST_MIN, (end - start) // 30))
    return last is None or now - last >= every
