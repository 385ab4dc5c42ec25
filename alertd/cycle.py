"""The stages after a fetch: evaluate the rules, put new alerts in the outbox, deliver."""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from alertd import lifecycle
from alertd.alerts.anomaly import first_sight, judge
from alertd.alerts.budget import decide
from alertd.alerts.sources import watch
from alertd.config import SEVERITIES, Budget, Config, route
from alertd.model import Alert, AnomalyStatus, BudgetStatus, Message, SeriesState, SourceStatus, series_key, utc
from alertd.money import decimal_string
from alertd.notify.deliver import DEFAULT_TIMEOUT as DELIVERY_TIMEOUT
from alertd.notify.deliver import deliver as deliver_one
from alertd.notify.deliver import mask
from alertd.notify.layout import append_section
from alertd.notify.render import render, render_digest
from alertd.notify.templates import Template, apply
from alertd.rules.anomaly import history_needed
from alertd.rules.budget import budget_status
from alertd.rules.periods import budget_history_start, previous_period_start
from alertd.rules.series import build_series
from alertd.store import Store
from alertd.store.outbox import Delivery, Target

log = logging.getLogger("alertd.cycle")

CLAIM_LEASE = timedelta(seconds=30)  # longer than any one attempt (Apprise times out at 15 s)
SUMMARY_SETTLE = timedelta(hours=6)  # late data (Friendli reports a day late) before a period's summary
DIGEST_AFTER = 3  # more alerts than this due for one URL at once go out as one message
RETRY_FIRST = 5.0  # seconds; doubled per attempt, full jitter
RETRY_CAP = 600.0


@dataclass
class Evaluation:
    statuses: list[BudgetStatus] = field(default_factory=list)
    new: list[Alert] = field(default_factory=list)


@dataclass
class Deliveries:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, sent | failed | gave_up)

    def count(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.outcomes.items() if o == outcome)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> int:
        """Attempts that failed this time, to be retried."""
        return self.count("failed")

    @property
    def gave_up(self) -> int:
        return self.count("gave_up")


def statuses(config: Config, store: Store, now: datetime) -> list[tuple[Budget, BudgetStatus]]:
    """Where every budget stands now (reads only)."""
    result = []
    for budget in config.budgets:
        since = budget_history_start(budget, now, config.tz)
        records = store.costs(int(since.timestamp()), int(now.timestamp()) + 1, budget.sources)
        result.append((budget, budget_status(budget, records, now, config.tz, config.currency)))
    return result


def evaluate(config: Config, store: Store, now: datetime) -> Evaluation:
    """Evaluate every rule; each new alert is written to the outbox before anything is sent."""
    result = Evaluation()
    for budget, status in statuses(config, store, now):
        lifecycle.beat()
        result.statuses.append(status)
        for alert in decide(budget, status, store.outbox.sent(budget.name, status.period_start), now):
            _enqueue(config, store, alert, now, result)
        if budget.summary:
            _close_period(config, store, budget, status, now, result)
    until = int(now.timestamp())
    for rule in config.anomalies:
        lifecycle.beat()
        since = int((now - history_needed(rule.baseline)).timestamp())
        states = store.series_states(rule.name)
        judged = {}
        for series in build_series(rule, store.costs(since, until, rule.sources), since, until):
            state = states.get(series.key)
            loud_from = first_sight(series, until) if state is None else 0
            judged[series.key], alerts = judge(
                rule, series, state or SeriesState(), config.tz, config.currency, loud_from
            )
            for alert in alerts:
                _enqueue(config, store, alert, now, result)
        store.save_series_states(rule.name, judged)
    _watch_sources(config, store, now, result)
    _release_silenced(config, store, now, result)
    return result


def _close_period(
    config: Config, store: Store, budget: Budget, current: BudgetStatus, now: datetime, result: Evaluation
) -> None:
    """Once a period has closed (and late data has had a while to arrive), how it ended."""
    settle = min(SUMMARY_SETTLE, (current.period_end - current.period_start) / 4)
    closed_at = current.period_start - timedelta(microseconds=1)
    previous = previous_period_start(budget.period, now, config.tz, budget.week_start)
    if now - current.period_start < settle or any(
        s.kind == "summary" for s in store.outbox.sent(budget.name, previous)
    ):
        return
    since = budget_history_start(budget, closed_at, config.tz)
    records = store.costs(int(since.timestamp()), int(current.period_start.timestamp()), budget.sources)
    status = budget_status(budget, records, closed_at, config.tz, config.currency)
    key = f"{budget.name}/{previous.strftime('%Y-%m-%dT%H:%MZ')}/summary"
    _enqueue(
        config,
        store,
        Alert(key, budget.name, "summary", None, "info", 0, route(budget.notify, "info"), status),
        now,
        result,
    )


def _watch_sources(config: Config, store: Store, now: datetime, result: Evaluation) -> None:
    """Blind spots: a source failing for longer than its `stale_after`, and its recovery."""
    notify = config.monitoring.notify if config.monitoring.notify is not None else tuple(config.channels)
    for source in config.sources:
        last = store.last_fetch(source.name)
        if last is None:
            continue
        ok = store.last_fetch(source.name, status="ok")
        started = store.first_fetch_started(source.name)
        blind_since = utc(ok.finished) if ok else (utc(started) if started is not None else None)
        open_spot = store.outbox.open_blind_spot(f"source:{source.name}")
        alert = watch(source, blind_since, last.status == "error", last.error, open_spot, notify, now)
        if alert is not None:
            _enqueue(config, store, alert, now, result)


def _enqueue(config: Config, store: Store, alert: Alert, now: datetime, result: Evaluation) -> None:
    message = render(alert, config.tz)
    targets = [
        Target(channel, i, mask(url.get_secret_value()))
        for channel in alert.notify
        for i, url in enumerate(config.channels[channel])
    ]
    status = alert.status
    series = series_key(status.source, status.line_item) if isinstance(status, AnomalyStatus) else None
    silenced = any(s.matches(alert.rule, series, now) for s in store.silences.active(now))
    if store.outbox.enqueue(alert, message, facts(alert), targets, now, silenced=silenced):
        log.info("alert %s%s: %s", alert.key, " (silenced)" if silenced else "", message.title)
        result.new.append(alert)


def _release_silenced(config: Config, store: Store, now: datetime, result: Evaluation) -> None:
    """Alerts held by a silence that has ended: sent now if still firing, else dropped."""
    active = store.silences.active(now)
    budgets = {s.rule: s for s in result.statuses}
    for alert_id, rule, kind, period_start, held in store.outbox.silenced():
        series = held.get("series")
        key = series_key(series.get("source"), series.get("line_item")) if isinstance(series, dict) else None
        if any(s.matches(rule, key, now) for s in active):
            continue
        firing = False
        if kind in ("budget", "forecast") and rule in budgets:
            status = budgets[rule]
            threshold = Decimal(str(held["threshold"]))
            reached = status.percent >= threshold
            projected = status.forecast is not None and status.forecast.projected * 100 >= threshold * status.amount
            same_period = int(status.period_start.timestamp()) == period_start
            firing = same_period and (reached if kind == "budget" else projected and not reached)
        elif kind == "anomaly" and key is not None:
            firing = store.series_states(rule).get(key, SeriesState()).open_since == period_start
        elif kind == "stale":
            spot = store.outbox.open_blind_spot(rule)
            firing = spot is not None and int(spot.timestamp()) == period_start
        store.outbox.release(alert_id, firing, now)
        log.info("silence over for alert %s: %s", alert_id, "sending it now" if firing else "no longer firing, dropped")


def deliver(config: Config, store: Store, now: datetime) -> Deliveries:
    """Send what is due in the outbox, each channel URL on its own; more than `DIGEST_AFTER`
    alerts due for one URL at once go out as one digest message."""
    counts = Deliveries()
    groups: dict[tuple[str, int], list[Delivery]] = {}
    for item in store.outbox.due(now):
        if lifecycle.stop_requested():
            break  # what is left stays due for the next start
        if not store.outbox.claim(item.id, now, CLAIM_LEASE):
            continue  # another alertd process (a `check` beside the daemon) has it
        if item.target >= len(config.channels.get(item.channel, ())):
            store.outbox.mark_failed(item.id, now, f"channel {item.channel!r} is no longer configured", None)
            counts.outcomes[item.channel, "gave_up"] += 1
            continue
        groups.setdefault((item.channel, item.target), []).append(item)
    work = [
        (config.channels[channel][target].get_secret_value(), batch)
        for (channel, target), items in groups.items()
        for batch in ([items] if len(items) > DIGEST_AFTER else [[item] for item in items])
    ]
    tried = 0
    try:
        for url, batch in work:
            if lifecycle.stop_requested():
                break
            lifecycle.beat(allow=DELIVERY_TIMEOUT)  # Apprise's own limit on one attempt
            tried += 1
            _send(config, store, url, batch, now, counts)
    finally:
        # Cut short by a stop: what was not tried goes out at the next start, without waiting for its lease.
        store.outbox.unclaim([item.id for _, rest in work[tried:] for item in rest], now, CLAIM_LEASE)
    return counts


def _send(config: Config, store: Store, url: str, items: list[Delivery], now: datetime, counts: Deliveries) -> None:
    """One message to one URL (one alert, or a digest of several), and its outcome for each."""
    first = items[0]
    if len(items) == 1:
        message = first.message
        spec = config.templates.get(first.channel)
        if spec is not None:
            message = apply(Template(spec.title, spec.body), message, first.facts)
    else:
        message = render_digest([(i.severity, i.message.title) for i in items])
    told: list[int] = []
    if config.delivery.report_failures:
        failures = store.outbox.untold_failures(other_than=first.channel)
        message, told = _with_failures(message, failures), [f[0] for f in failures]
    severity = max((i.severity for i in items), key=SEVERITIES.index)
    with lifecycle.cuttable(grace=True):  # cut only a send still hanging after a stop's grace
        outcome = deliver_one(url, message, severity=severity)
    for item in items:
        if outcome.ok:
            store.outbox.mark_sent(item.id, now, told)
            counts.outcomes[item.channel, "sent"] += 1
            log.info("delivered %s to %s (%s)", item.message.title, item.channel, item.target_masked)
            continue
        error = outcome.error or "delivery failed"
        if now - item.alert_created >= config.delivery.give_up_after:
            store.outbox.mark_failed(item.id, now, error, None)
            counts.outcomes[item.channel, "gave_up"] += 1
            log.error("gave up delivering to %s (%s): %s", item.channel, item.target_masked, error)
        else:
            delay = random.uniform(0, min(RETRY_CAP, RETRY_FIRST * 2**item.attempts))
            # The last try falls on the give-up deadline, not up to a backoff after it.
            deadline = item.alert_created + config.delivery.give_up_after
            retry_at = min(now + timedelta(seconds=max(1.0, delay)), deadline)
            store.outbox.mark_failed(item.id, now, error, retry_at)
            counts.outcomes[item.channel, "failed"] += 1
            log.warning("delivery to %s (%s) failed, will retry: %s", item.channel, item.target_masked, error)


def _with_failures(message: Message, failures: list[tuple[int, str, str, str, str]]) -> Message:
    """The message with a note on alerts that could not be delivered to other channels."""
    if not failures:
        return message
    lines = [f"{title} → {channel} ({url}): {error}" for _, title, channel, url, error in failures]
    return append_section(message, f"Could not be delivered elsewhere ({len(lines)}), given up", lines)


def facts(alert: Alert) -> dict[str, object]:
    """The figures behind an alert, as stored beside its message (decimal strings, ISO times)."""
    status = alert.status
    common: dict[str, object] = {"rule": alert.rule, "kind": alert.kind, "severity": alert.severity}
    if isinstance(status, SourceStatus):
        return {
            **common,
            "source": status.source,
            "blind_since": status.blind_since.isoformat(),
            "last_error": status.last_error,
        }
    if isinstance(status, AnomalyStatus):
        return {
            **common,
            "currency": status.currency,
            "series": {"source": status.source, "line_item": status.line_item},
            "bucket": status.bucket_start.isoformat(),
            "value": decimal_string(status.value),
            "expected": decimal_string(status.expected),
            "low": decimal_string(status.low),
            "high": decimal_string(status.high),
            "reason": status.reason,
            "event_start": status.event_start.isoformat(),
        }
    forecast = status.forecast
    return {
        **common,
        "threshold": None if alert.threshold is None else str(alert.threshold),  # None: a period summary
        "currency": status.currency,
        "spent": decimal_string(status.spent),
        "amount": decimal_string(status.amount),
        "percent": f"{status.percent:.1f}",
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "projected": decimal_string(forecast.projected) if forecast else None,
        "run_out": forecast.run_out.isoformat() if forecast and forecast.run_out else None,
    }
