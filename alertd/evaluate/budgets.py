"""The budget pass: which budgets could have news, where they stand, and what to say.

A budget is evaluated when a source it counts changed since it was last evaluated, when time
alone may change its decision (a new period, a reminder, a period's summary, the forecast's
wait), or when its definition changed. Everything else is skipped: a cycle with nothing new
reads almost nothing. The decisions themselves are the pure `alerts.budget.decide`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from alertd.alerts.budget import decide, forecast_may_fire
from alertd.alerts.summary import SummaryState, revision, summary_alert, summary_state
from alertd.config import Budget, Config
from alertd.evaluate.spend import SpendCube
from alertd.model import Alert, BudgetStatus
from alertd.rules.budget import Coverage, Windows, status_of, windows
from alertd.store import Store
from alertd.store.budget_state import BudgetState


def coverage_of(config: Config, store: Store) -> Coverage:
    """How complete each source's data is, and which configured sources are blind now."""
    blind = set()
    for source in config.sources:
        last = store.last_fetch(source.name)
        if last is None or last.status != "ok":
            blind.add(source.name)
    return Coverage(store.completeness.all(), frozenset(blind), tuple(s.name for s in config.sources))


def statuses(
    config: Config,
    store: Store,
    now: datetime,
    budgets: Sequence[Budget] | None = None,
    *,
    forecast: bool = True,
    coverage: Coverage | None = None,
) -> list[tuple[Budget, BudgetStatus]]:
    """Where the budgets (default: all) stand now, with a forecast unless told not to. Reads only."""
    chosen = list(config.budgets if budgets is None else budgets)
    if not chosen:
        return []
    coverage = coverage or coverage_of(config, store)
    views = [windows(b, now, config.tz) for b in chosen]
    cube = SpendCube(store, _sources(store, chosen), views, config.tz, coverage.through)
    return [(b, _status(cube, config, b, w, forecast, coverage)) for b, w in zip(chosen, views, strict=True)]


def summaries(config: Config, store: Store, now: datetime, coverage: Coverage) -> dict[str, SummaryState]:
    """Per budget with `summary: true`, where the summary of its previous period stands."""
    return {b.name: _summary(store, b, windows(b, now, config.tz), coverage, now) for b in config.budgets if b.summary}


def _summary(store: Store, budget: Budget, w: Windows, coverage: Coverage, now: datetime) -> SummaryState:
    return summary_state(budget, w, coverage, store.outbox.sent(budget.name, w.previous), now)


def _status(
    cube: SpendCube, config: Config, budget: Budget, w: Windows, forecast: bool, coverage: Coverage
) -> BudgetStatus:
    return status_of(budget, w, cube.spend(budget, w, hourly=forecast), config.tz, config.currency, coverage)


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
    coverage = coverage_of(config, store)
    cube = SpendCube(store, _sources(store, due), views, config.tz, coverage.through)
    always = config.metrics is not None
    touched = _Touched(store)
    evaluated: list[tuple[Budget, BudgetStatus, SummaryState | None]] = []
    closing: dict[datetime, list[tuple[Budget, SummaryState]]] = {}
    for budget, w in zip(due, views, strict=True):
        sent = store.outbox.sent(budget.name, w.start)
        status = _status(cube, config, budget, w, always, coverage)
        if not always and (forecast_may_fire(budget, status, sent) or decide(budget, status, sent, now)):
            status = _status(cube, config, budget, w, True, coverage)
        for alert in decide(budget, status, sent, now):
            enqueue(alert)
        summary = None
        if budget.summary:
            summary = _summary(store, budget, w, coverage, now)
            state = states.get(budget.name)
            if summary.due or (
                summary.check_revision and _may_be_revised(store, budget, summary, state, prints[budget.name], touched)
            ):
                closing.setdefault(summary.closed_at, []).append((budget, summary))
        evaluated.append((budget, status, summary))
    # Periods that closed: one read per closing instant (all month budgets share one).
    for closed_at, pending in closing.items():
        waiting = {b.name: st for b, st in pending}
        chosen = [b for b, _ in pending]
        for budget, closed in statuses(config, store, closed_at, chosen, forecast=False, coverage=coverage):
            summary = waiting[budget.name]
            closed = replace(closed, lagging=summary.lagging)
            if summary.due:
                enqueue(summary_alert(budget, closed))
            elif (alert := revision(budget, closed, store.outbox.stated(budget.name, closed.period_start))) is not None:
                enqueue(alert)
    store.budget_states.save(
        {b.name: BudgetState(prints[b.name], newest, _next_due(b, st, sm, store)) for b, st, sm in evaluated}
    )
    return [status for _, status, _ in evaluated]


class _Touched:
    """Per source, the span of buckets changed after a change id (the hull of those changes), read
    once per id in a pass: budgets evaluated together share their last change id."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.spans: dict[int, dict[str, tuple[int, int]]] = {}

    def since(self, change_id: int) -> dict[str, tuple[int, int]]:
        if change_id not in self.spans:
            self.spans[change_id] = self.store.rollup.changes_since(change_id)[0]
        return self.spans[change_id]


def _may_be_revised(
    store: Store, budget: Budget, summary: SummaryState, state: BudgetState | None, fingerprint: str, touched: _Touched
) -> bool:
    """Whether a sent summary's total may have moved since the budget was last evaluated: a change
    reached into its period, or it was sent incomplete (a source completing later brings no change
    of its own). A new or redefined budget compares once."""
    if state is None or state.fingerprint != fingerprint:
        return True
    stated = store.outbox.stated(budget.name, summary.period_start)
    if stated is None or stated.incomplete:
        return stated is not None
    start, end = int(summary.period_start.timestamp()), int(summary.period_end.timestamp())
    return any(
        first < end and last > start
        for source, (first, last) in touched.since(state.change_id).items()
        if budget.sources is None or source in budget.sources
    )


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


def _next_due(budget: Budget, status: BudgetStatus, summary: SummaryState | None, store: Store) -> float:
    """When time alone may change this budget's decision, without new data."""
    moments = [status.period_end]
    if budget.forecast:
        settled = status.period_start + (status.period_end - status.period_start) / 10
        if settled > status.now:
            moments.append(settled)
    if summary is not None and summary.look_again is not None:
        moments.append(summary.look_again)
    if budget.repeat is not None:
        sent = [s for s in store.outbox.sent(budget.name, status.period_start) if s.kind == "budget"]
        if sent:
            moments.append(max(s.created for s in sent) + budget.repeat)
    return min(moments).timestamp()
