"""A budget's periods before the current one, each with its total: whole local days, summed by
SQLite in the daily rollup (one row per series, not per day), so a year of hourly data costs a
few hundred values per series."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.rules.budget import selects
from alertd.rules.periods import period_bounds, previous_period_start
from alertd.store import Store
from alertd.store.rollup import local_day

SHOWN = {"day": 31, "week": 26, "month": 12, "quarter": 8, "year": 5}  # about a year, more of the long ones


def past_periods(
    store: Store, budget: Budget, configured: Sequence[str], now: datetime, tz: ZoneInfo
) -> list[tuple[datetime, int]]:
    """(start, total) of each of the `SHOWN` periods before the one holding `now`, oldest first;
    a budget without `sources` counts the `configured` ones (as its status does)."""
    current, _ = period_bounds(budget.period, now, tz, budget.week_start)
    starts = [current]
    for _ in range(SHOWN[budget.period]):
        starts.append(previous_period_start(budget.period, starts[-1], tz, budget.week_start))
    starts.reverse()
    days = [local_day(int(s.timestamp()), tz) for s in starts]
    spend = [0] * (days[-1] - days[0])
    sources = list(configured if budget.sources is None else budget.sources)
    for source, item, offsets, amounts in store.sums.day_arrays(sources, days[0], days[-1]):
        if selects(budget, source, item):
            for day, amount in zip(offsets, amounts, strict=True):
                spend[day] += amount
    return [(start, sum(spend[a - days[0] : b - days[0]])) for start, a, b in zip(starts, days, days[1:], strict=False)]
