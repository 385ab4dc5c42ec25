"""Where a budget stands: a pure function of (budget, cost rows, now)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.model import BudgetStatus, Contributor, CostRecord, utc
from alertd.money import MICROS
from alertd.rules.forecast import project
from alertd.rules.periods import FORECAST_HISTORY, period_bounds, previous_period_start

HOUR = 3600
TOP = 5


def selects(budget: Budget, record: CostRecord) -> bool:
    if budget.sources is not None and record.source not in budget.sources:
        return False
    return budget.line_items is None or any(fnmatchcase(record.line_item, p) for p in budget.line_items)


def budget_status(
    budget: Budget, records: Sequence[CostRecord], now: datetime, tz: ZoneInfo, currency: str
) -> BudgetStatus:
    """Spend of the period so far, its forecast, and what drove it.

    `records` should cover `budget_history_start(budget, now, tz)` up to now; rows the budget does
    not select are ignored. A bucket belongs to the period holding its start.
    """
    start, end = period_bounds(budget.period, now, tz, budget.week_start)
    previous = previous_period_start(budget.period, now, tz, budget.week_start)
    # "The same point of the previous period": as far into it as we are into this one.
    previous_point = min(previous + (now - start), start)
    t_start, t_end, t_now = int(start.timestamp()), int(end.timestamp()), int(now.timestamp())
    t_prev, t_prev_point = int(previous.timestamp()), int(previous_point.timestamp())

    selected = [r for r in records if selects(budget, r) and r.bucket_start < t_now]
    current: dict[tuple[str, str], int] = defaultdict(int)
    before: dict[tuple[str, str], int] = defaultdict(int)
    daily: dict[str, int] = {}
    day = start.astimezone(tz).date()
    while day <= now.astimezone(tz).date():
        daily[day.isoformat()] = 0
        day += timedelta(days=1)
    for r in selected:
        if t_start <= r.bucket_start < t_end:
            current[r.source, r.line_item] += r.amount
            local_day = datetime.fromtimestamp(r.bucket_start, UTC).astimezone(tz).date().isoformat()
            if local_day in daily:
                daily[local_day] += r.amount
        elif t_prev <= r.bucket_start < t_prev_point:
            before[r.source, r.line_item] += r.amount

    spent = sum(current.values())
    amount = int(budget.amount * MICROS)
    slices = [Contributor(s, i, current[s, i], current[s, i] - before[s, i]) for s, i in set(current) | set(before)]
    contributors = sorted((c for c in slices if c.amount), key=lambda c: (-c.amount, c.source, c.line_item))
    drivers = sorted((c for c in slices if c.change > 0), key=lambda c: (-c.change, c.source, c.line_item))

    hourly, first, data_end = _hourly(selected, start - FORECAST_HISTORY, now)
    forecast = project(hourly, first, data_end, start, end, spent, amount, tz) if hourly else None
    return BudgetStatus(
        rule=budget.name,
        currency=currency,
        amount=amount,
        spent=spent,
        period=budget.period,
        period_start=start,
        period_end=end,
        now=now,
        forecast=forecast,
        previous_spent=sum(before.values()),
        contributors=tuple(contributors[:TOP]),
        drivers=tuple(drivers[:TOP]),
        daily=tuple(daily.values()),
    )


def _hourly(records: Sequence[CostRecord], since: datetime, now: datetime) -> tuple[list[int], datetime, datetime]:
    """Spend per UTC hour from `since` (floored to the hour) to the end of the newest data.

    Longer buckets (a Friendli day) are spread evenly over their hours, so that the forecast
    sees one kind of series whatever the providers' granularity.
    """
    first = int(since.timestamp()) // HOUR * HOUR
    relevant = [r for r in records if r.bucket_start + r.bucket_seconds > first]
    if not relevant:
        return [], utc(first), utc(first)
    newest = max(r.bucket_start + r.bucket_seconds for r in relevant)
    last = min(newest, -(-int(now.timestamp()) // HOUR) * HOUR)  # never past the current hour
    hours = [0] * max(0, (last - first) // HOUR)
    for r in relevant:
        span = max(1, r.bucket_seconds // HOUR)
        share, remainder = divmod(r.amount, span)
        for k in range(span):
            index = (r.bucket_start - first) // HOUR + k
            if 0 <= index < len(hours):
                hours[index] += share + (remainder if k == 0 else 0)
    return hours, utc(first), utc(last)
