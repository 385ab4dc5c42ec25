"""The budget pass: which budgets could have news, where they stand, and what to say.

A budget is evaluated when a source it counts changed since it was last evaluated, when time
alone may change its decision (a new period, a reminder, a period's summary, the forecast's
wait), or when its definition changed. Everything else is skipped: a cycle with nothing new
reads almost nothing. The decisions themselves are the pure `alerts.budget.decide`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.alerts.budget import decide, forecast_may_fire
from alertd.config import Budget, Config, route
from alertd.evaluate.spend import SpendCube
from alertd.model import Alert, BudgetStatus, Sent
from alertd.rules.budget import Windows, status_of, windows
from alertd.rules.periods import previous_period_start
from alertd.store import Store
from alertd.store.budget_state import BudgetState

SUMMARY_SETTLE = timedelta(hours=6)  # late data (Friendli reports a day late) before a period's summary


def statuses(
    config: Config, store: Store, now: datetime, budgets: Sequence[Budget] | None = None, *, forecast: bool = True
) -> list[tuple[Budget, BudgetStatus]]:
    """Where the budgets (default: all) stand now, with a forecast unless told not to. Reads only."""
    chosen = list(config.budgets if budgets is None else budgets)
    if not chosen:
        return []
    views = [windows(b, now, config.tz) for b in chosen]
    cube = SpendCube(store, _sources(store, chosen), views, config.tz)
    return [(b, _status(cube, config, b, w, forecast)) for b, w in zip(chosen, views, strict=True)]


def _status(cube: SpendCube, config: Config, budget: Budget, w: Windows, forecast: bool) -> BudgetStatus:
    return status_of(budget, w, cube.spend(budget, w, hourly=forecast), config.tz, config.currency)


def evaluate_budgets(
    config: Config, store: Store, now: datetime, enqueue: Callable[[Alert], None], *, everything: bool = False
) -> list[BudgetStatus]:
    """Decide every budget that may have news (all with `everything`); the statuses of those.

    A forecast is projected only where it can matter: where it may still bring a forecast alert,
    for the message of an alert, and for every budget when metrics are served (a gauge shows it)."""
    states = store.budget_states.all()
    newest = store.rollup.newest_change()
    changed = _changed_sources(store, states, config.budgets)
    prints = {b.name: _fingerprint(b, config.tz) for b in config.budgets}
    due = [
        b for b in config.budgets if everything or _may_have_news(b, states.get(b.name), changed, prints[b.name], now)
    ]
    if not due:
        return []
    views = [windows(b, now, config.tz) for b in due]
    cube = SpendCube(store, _sources(store, due), views, config.tz)
    always = config.metrics is not None
    evaluated: list[tuple[Budget, BudgetStatus, list[Sent]]] = []
    closing: dict[datetime, list[Budget]] = {}
    for budget, w in zip(due, views, strict=True):
        sent = store.outbox.sent(budget.name, w.start)
        status = _status(cube, config, budget, w, always)
        if not always and (forecast_may_fire(budget, status, sent) or decide(budget, status, sent, now)):
            status = _status(cube, config, budget, w, True)
        evaluated.append((budget, status, sent))
        for alert in decide(budget, status, sent, now):
            enqueue(alert)
        if budget.summary and _summary_due(config, store, budget, status, now):
            closing.setdefault(status.period_start - timedelta(microseconds=1), []).append(budget)
    # Summaries of periods that closed: one read per closing instant (all month budgets share one).
    for closed_at, budgets in closing.items():
        for budget, status in statuses(config, store, closed_at, budgets, forecast=False):
            key = f"{budget.name}/{status.period_start.strftime('%Y-%m-%dT%H:%MZ')}/summary"
            enqueue(Alert(key, budget.name, "summary", None, "info", 0, route(budget.notify, "info"), status))
    store.budget_states.save(
        {b.name: BudgetState(prints[b.name], newest, _next_due(b, status, store)) for b, status, _ in evaluated}
    )
    return [status for _, status, _ in evaluated]


def _sources(store: Store, budgets: Sequence[Budget]) -> list[str]:
    if any(b.sources is None for b in budgets):
        return store.sums.sources()
    return sorted({s for b in budgets for s in b.sources or ()})


def _changed_sources(store: Store, states: dict[str, BudgetState], budgets: Sequence[Budget]) -> dict[str, int]:
    """Per source, the newest change after the oldest budget's last evaluation."""
    oldest = min((states[b.name].change_id for b in budgets if b.name in states), default=0)
    return store.rollup.newest_change_per_source(oldest)


def _may_have_news(
    budget: Budget, state: BudgetState | None, changed: dict[str, int], fingerprint: str, now: datetime
) -> bool:
    if state is None or state.fingerprint != fingerprint:
        return True
    if state.due is not None and state.due <= now.timestamp():
        return True
    sources = changed if budget.sources is None else {s: changed[s] for s in budget.sources if s in changed}
    return any(change > state.change_id for change in sources.values())


def _fingerprint(budget: Budget, tz: ZoneInfo) -> str:
    """Changes with the budget's definition or the zone: a reload that changes either re-evaluates it."""
    return hashlib.sha256(f"{budget.model_dump_json()}|{tz.key}".encode()).hexdigest()[:16]


def _next_due(budget: Budget, status: BudgetStatus, store: Store) -> float:
    """When time alone may change this budget's decision, without new data."""
    moments = [status.period_end]
    if budget.forecast:
        settled = status.period_start + (status.period_end - status.period_start) / 10
        if settled > status.now:
            moments.append(settled)
    if budget.summary:
        settle = min(SUMMARY_SETTLE, (status.period_end - status.period_start) / 4)
        if status.now < status.period_start + settle:
            moments.append(status.period_start + settle)
    if budget.repeat is not None:
        sent = [s for s in store.outbox.sent(budget.name, status.period_start) if s.kind == "budget"]
        if sent:
            moments.append(max(s.created for s in sent) + budget.repeat)
    return min(moments).timestamp()


def _summary_due(config: Config, store: Store, budget: Budget, current: BudgetStatus, now: datetime) -> bool:
    """The previous period has closed, late data has had a while to arrive, and it was not summed up yet."""
    settle = min(SUMMARY_SETTLE, (current.period_end - current.period_start) / 4)
    previous = previous_period_start(budget.period, now, config.tz, budget.week_start)
    return now - current.period_start >= settle and not any(
        s.kind == "summary" for s in store.outbox.sent(budget.name, previous)
    )
