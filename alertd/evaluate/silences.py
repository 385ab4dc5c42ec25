"""The silence pass: alerts held by a silence that has ended are sent now if still firing, else dropped."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from alertd.config import Config
from alertd.evaluate.budgets import statuses
from alertd.model import SeriesState, facts_series
from alertd.store import Store
from alertd.store.silences import held_until

log = logging.getLogger("alertd.cycle")


def release_silenced(config: Config, store: Store, now: datetime) -> None:
    active = store.silences.active(now)
    ended = []
    for alert_id, rule, kind, period_start, facts in store.outbox.silenced():
        key = facts_series(facts)
        if held_until(active, rule, key, now) is None:
            ended.append((alert_id, rule, kind, period_start, facts, key))
    if not ended:
        return
    rules = {rule for _, rule, kind, _, _, _ in ended if kind in ("budget", "forecast")}
    budgets = {s.rule: s for _, s in statuses(config, store, now, [b for b in config.budgets if b.name in rules])}
    for alert_id, rule, kind, period_start, facts, key in ended:
        firing = False
        if kind in ("budget", "forecast") and rule in budgets:
            status = budgets[rule]
            threshold = Decimal(str(facts["threshold"]))
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
