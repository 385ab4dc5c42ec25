"""One evaluation, as passes a reader can follow: what changed and what is due → decide (pure
rules, every kind) → render and enqueue (the outbox, before anything is sent) → deliver.

    budgets    alertd.evaluate.budgets      budgets a change or the clock touched
    anomalies  alertd.evaluate.anomalies    series with new or revised buckets
    sources    alertd.evaluate.sources      blind spots and recoveries
    silences   alertd.evaluate.silences     held alerts whose silence has ended
    enqueue    alertd.evaluate.enqueue      render, route to channel URLs, write the outbox
    deliver    alertd.notify.dispatch       claim, send (digest when many), retry, give up
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from alertd.config import Config
from alertd.evaluate.anomalies import evaluate_anomalies
from alertd.evaluate.budgets import evaluate_budgets
from alertd.evaluate.enqueue import Enqueuer
from alertd.evaluate.silences import release_silenced
from alertd.evaluate.sources import watch_sources
from alertd.model import Alert, BudgetStatus
from alertd.notify.dispatch import Deliveries, deliver
from alertd.store import Store

ANOMALY_CURSOR = "anomalies"


@dataclass
class Evaluation:
    statuses: list[BudgetStatus] = field(default_factory=list)  # of the budgets evaluated
    new: list[Alert] = field(default_factory=list)
    held: dict[str, datetime] = field(default_factory=dict)  # of `new`, silenced: alert key → until


def evaluate(config: Config, store: Store, now: datetime, *, everything: bool = False) -> Evaluation:
    """Evaluate what may have news (every budget with `everything`); each new alert is written to
    the outbox before anything is sent."""
    enqueue = Enqueuer(config, store, now)
    statuses = evaluate_budgets(config, store, now, enqueue, everything=everything)
    after = store.rollup.cursor(ANOMALY_CURSOR)
    changed, newest = store.rollup.changes_since(after)
    evaluate_anomalies(config, store, changed, now, enqueue)
    store.rollup.set_cursor(ANOMALY_CURSOR, newest)
    watch_sources(config, store, now, enqueue)
    release_silenced(config, store, now)
    states = store.budget_states.all()
    taken_in = [states[b.name].change_id if b.name in states else 0 for b in config.budgets]
    store.rollup.prune(min([newest, *taken_in]))
    return Evaluation(statuses, enqueue.new, enqueue.held)


__all__ = ["Deliveries", "Evaluation", "deliver", "evaluate"]
