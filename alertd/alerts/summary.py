"""When a period's summary is said, and when it is said again, corrected.

A summary waits until every source the budget counts is complete through the period's end
(alertd/rules/completeness.py), and then a settle time for restatements. A source still short
of it `SUMMARY_PATIENCE` after the end does not hold the summary any longer: it is sent marked
incomplete, naming what is missing. Data arriving after a summary that changes its total by a
cent or more brings one correction, once every source is complete.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from alertd.config import Budget, route
from alertd.model import Alert, BudgetStatus, Lagging, Revision, Sent, Stated, utc
from alertd.rules.budget import Coverage, Windows

SUMMARY_SETTLE = timedelta(hours=6)  # restatements after the data is complete (a quarter of a short period)
SUMMARY_PATIENCE = timedelta(days=3)  # then a source still incomplete no longer holds the summary
REVISION_MIN = 10_000  # micro-units: a cent


@dataclass(frozen=True, slots=True)
class SummaryState:
    """Where the summary of a budget's previous period stands at `now`."""

    period_start: datetime  # of the closed period
    period_end: datetime
    due: bool  # to be sent now
    sent: bool
    check_revision: bool  # sent, not corrected, and every source complete: compare the totals again
    lagging: tuple[Lagging, ...]  # sources not complete through the period's end
    look_again: datetime | None  # when time alone may make it due (without new data)

    @property
    def closed_at(self) -> datetime:
        """The last instant of the closed period: where its status is read."""
        return self.period_end - timedelta(microseconds=1)

    @property
    def settles(self) -> datetime:
        """When restatements have had their while (a quarter of a short period)."""
        return self.period_end + min(SUMMARY_SETTLE, (self.period_end - self.period_start) / 4)

    @property
    def give_up(self) -> datetime:
        return self.period_end + SUMMARY_PATIENCE


def summary_state(budget: Budget, w: Windows, coverage: Coverage, sent: Sequence[Sent], now: datetime) -> SummaryState:
    """`w`: the budget's windows at `now` (the closed period is the previous one); `sent`: the
    alerts of the closed period."""
    start, end = w.previous, w.start
    end_ts = int(end.timestamp())
    lagging = tuple(
        Lagging(s, utc(t) if (t := coverage.through.get(s)) is not None else None, s in coverage.blind)
        for s in coverage.counts(budget)
        if (coverage.through.get(s) or 0) < end_ts
    )
    kinds = {s.kind for s in sent}
    told = "summary" in kinds
    state = SummaryState(start, end, False, told, told and "revision" not in kinds and not lagging, lagging, None)
    if told:
        return state
    if now >= state.settles and (not lagging or now >= state.give_up):
        return replace(state, due=True)
    # Before the settle time, at it; while a source is incomplete, at every cycle (a fetch that
    # completes it may bring no new cost, so no change would wake the budget).
    return replace(state, look_again=state.settles if now < state.settles else now)


def summary_alert(budget: Budget, closed: BudgetStatus) -> Alert:
    """`closed`: the status at the period's last instant, its `lagging` the incomplete sources."""
    key = f"{budget.name}/{closed.period_start.strftime('%Y-%m-%dT%H:%MZ')}/summary"
    return Alert(key, budget.name, "summary", None, "info", 0, route(budget.notify, "info"), closed)


def revision(budget: Budget, closed: BudgetStatus, stated: Stated | None) -> Alert | None:
    """The one correction of a sent summary whose total moved by a cent or more, if it did."""
    if stated is None or abs(closed.spent - stated.total) < REVISION_MIN:
        return None
    now = dict(closed.by_source)
    late = tuple(s for s in sorted(set(now) | set(stated.by_source)) if now.get(s, 0) != stated.by_source.get(s, 0))
    status = replace(closed, revised=Revision(stated.total, late))
    key = f"{budget.name}/{closed.period_start.strftime('%Y-%m-%dT%H:%MZ')}/revision"
    return Alert(key, budget.name, "revision", None, "info", 0, route(budget.notify, "info"), status)
