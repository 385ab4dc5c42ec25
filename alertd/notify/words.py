"""How alertd writes amounts, percentages, times and periods in messages (its own month names:
strftime's follow the process locale). No I/O."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.money import format_money
from alertd.percent import rounded_percent

BARS = "▁▂▃▄▅▆▇█"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def sparkline(values: Sequence[int]) -> str:
    """One block character per value, scaled from zero to the largest (credits count as zero)."""
    peak = max(values, default=0)
    if peak <= 0:
        return BARS[0] * len(values)
    top = len(BARS) - 1
    # Rounded to the nearest bar, in integers: (v * top / peak) + 1/2, floored.
    return "".join(BARS[(2 * max(v, 0) * top + peak) // (2 * peak)] for v in values)


def period_label(period: str, start: datetime, tz: ZoneInfo) -> str:
    """'21 Nov 2026', 'week of 16 Nov 2026', 'November 2026', 'Q4 2026', '2026' (start is UTC)."""
    day = start.astimezone(tz).date()
    if period == "day":
        return date_text(day)
    if period == "week":
        return f"week of {date_text(day)}"
    if period == "month":
        return f"{MONTHS[day.month - 1]} {day.year}"
    if period == "quarter":
        return f"Q{(day.month - 1) // 3 + 1} {day.year}"
    if period == "year":
        return str(day.year)
    raise ValueError(f"unknown period {period!r}")


def time_left(now: datetime, end: datetime) -> str:
    """'9 days 2 hours left': the two largest units, which is all anyone reads."""
    left = end - now
    if left <= timedelta(0):
        return "period ended"
    minutes = left // timedelta(minutes=1)
    if minutes == 0:
        return "under a minute left"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    first = next(i for i, (n, _) in enumerate(units) if n)
    shown = [f"{n} {word}{'' if n == 1 else 's'}" for n, word in units[first : first + 2] if n]
    return f"{' '.join(shown)} left"


def money_in(currency: str) -> Callable[[int], str]:
    return lambda micros: format_money(micros, currency)


def signed(micros: int, currency: str) -> str:
    return f"+{format_money(micros, currency)}" if micros > 0 else format_money(micros, currency)


def percent_of(part: int, whole: int) -> str:
    return f"{rounded_percent(part, whole)}%"


def day_month(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def date_text(day: date) -> str:
    return f"{day_month(day)} {day.year}"


def local_time(at: datetime, tz: ZoneInfo, *, with_year: bool) -> str:
    local = at.astimezone(tz)
    return f"{date_text(local) if with_year else day_month(local)} {local:%H:%M} {local.tzname()}"
