"""Calendar periods in the configured time zone, returned as UTC instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alertd.config import Budget, Config
from alertd.rules.anomaly import history_needed

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FORECAST_HISTORY = timedelta(days=35)  # the forecast learns its weekly shape from this much


def period_bounds(period: str, at: datetime, tz: ZoneInfo, week_start: str = "monday") -> tuple[datetime, datetime]:
    """[start, end) of the calendar period holding `at`, as UTC datetimes."""
    first = _first_day(period, at.astimezone(tz).date(), week_start)
    after = _next_first_day(period, first)
    return _local_midnight(first, tz), _local_midnight(after, tz)


def previous_period_start(period: str, at: datetime, tz: ZoneInfo, week_start: str = "monday") -> datetime:
    start, _ = period_bounds(period, at, tz, week_start)
    return period_bounds(period, start - timedelta(seconds=1), tz, week_start)[0]


def budget_history_start(budget: Budget, now: datetime, tz: ZoneInfo) -> datetime:
    """The oldest bucket a budget looks at: the previous period (messages compare with it)
    and the forecast's history."""
    start, _ = period_bounds(budget.period, now, tz, budget.week_start)
    return min(previous_period_start(budget.period, now, tz, budget.week_start), start - FORECAST_HISTORY)


def history_start(config: Config, now: datetime) -> datetime:
    """How far back the rules look; a month back when there are no rules."""
    tz = config.tz
    starts = [budget_history_start(b, now, tz) for b in config.budgets]
    starts += [now - history_needed(a.baseline) for a in config.anomalies]
    if not starts:
        local = now.astimezone(tz).date()
        starts.append(_local_midnight(_add_months(local, -1), tz))
    return min(starts)


def _first_day(period: str, day: date, week_start: str) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=(day.weekday() - WEEKDAYS.index(week_start)) % 7)
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period {period!r}")


def _next_first_day(period: str, first: date) -> date:
    if period in ("day", "week"):
        return first + timedelta(days=1 if period == "day" else 7)
    return _add_months(first, {"month": 1, "quarter": 3, "year": 12}[period])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(UTC)
