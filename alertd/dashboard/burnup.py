"""A budget's burn-up chart as inline SVG (pure): spend so far day by day against the budget
line and its thresholds, the forecast to the period's end, and the previous period at the same
point. Every value is escaped; each plotted day carries its exact amount (`data-` attributes and
a `<title>`, shown on hover without a script). Amounts are exact: only pixels are floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from alertd.model import BudgetStatus
from alertd.money import decimal_string, format_money
from alertd.percent import rounded_percent

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 76, 16, 14, 28  # the plot's margins: money ticks left, days below


@dataclass(frozen=True, slots=True)
class _Scale:
    days: float  # the period's length in days (a DST day is not 24 h: measured in days of the calendar)
    top: int  # micro-units at the top of the plot

    def x(self, day: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * day / self.days if self.days else LEFT

    def y(self, micros: int) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - micros / self.top) if self.top else HEIGHT - BOTTOM


def burnup_svg(status: BudgetStatus, thresholds: Sequence[Decimal], tz: ZoneInfo, *, small: bool = False) -> str:
    """The chart of `status`'s period; `small` (a row of the overview) without axes' labels."""
    start, end = status.period_start.astimezone(tz), status.period_end.astimezone(tz)
    days = (end.date() - start.date()).days or 1
    cumulative, total = [], 0
    for spent in status.daily:
        total += spent
        cumulative.append(total)
    projected = status.forecast.projected if status.forecast else None
    top = _nice(max([status.amount, total, projected or 0, status.previous_spent, *cumulative, 1]) * 11 // 10)
    scale = _Scale(days, top)
    elapsed = min(days, max(0.0, (status.now.astimezone(tz) - start) / timedelta(days=1)))
    money = status.currency
    parts: list[str] = []  # styled by the page's stylesheet (its policy allows no inline style)
    if not small:
        parts += _axes(scale, start, days, money)
    for percent in thresholds:
        level = int(status.amount * percent / 100)
        y = scale.y(level)
        css = "budget" if percent == 100 else "threshold"
        parts.append(f'<line class="{css}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        if not small:
            parts.append(
                f'<text class="label" x="{WIDTH - RIGHT - 2}" y="{y - 3:.1f}" text-anchor="end">{percent}%</text>'
            )
    if status.previous_known and status.previous_spent:
        x, y = scale.x(elapsed), scale.y(status.previous_spent)
        said = escape(f"last period at this point: {format_money(status.previous_spent, money)}")
        parts.append(
            f'<polyline class="previous" points="{LEFT},{scale.y(0):.1f} {x:.1f},{y:.1f}">'
            f"<title>{said}</title></polyline>"
        )
    # A day's point at its end; today's at now.
    points = [(float(LEFT), scale.y(0))] + [
        (scale.x(min(i + 1, elapsed)), scale.y(c)) for i, c in enumerate(cumulative)
    ]
    parts.append('<polyline class="actual" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    for i, (c, (x, y)) in enumerate(zip(cumulative, points[1:], strict=True)):
        day = (start + timedelta(days=i)).date().isoformat()
        said = escape(f"{day}: {format_money(c, money)} so far ({format_money(status.daily[i], money)} that day)")
        parts.append(
            f'<circle class="day" cx="{x:.1f}" cy="{y:.1f}" r="{2 if small else 3}" data-day="{day}"'
            f' data-spent="{decimal_string(c)}"><title>{said}</title></circle>'
        )
    if projected is not None and points:
        x, y = points[-1]
        said = escape(f"forecast at the period's end: {format_money(projected, money)}")
        parts.append(
            f'<polyline class="forecast" points="{x:.1f},{y:.1f} {scale.x(days):.1f},{scale.y(projected):.1f}"'
            f' data-projected="{decimal_string(projected)}"><title>{said}</title></polyline>'
        )
    now_x = scale.x(elapsed)
    parts.append(f'<line class="now" x1="{now_x:.1f}" x2="{now_x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>')
    return _svg("burnup", (240, 98) if small else (WIDTH, HEIGHT), _words(status, projected), parts)


def _svg(css: str, size: tuple[int, int], words: str, parts: list[str]) -> str:
    """The picture, said in `words` too (its label and title: what a screen reader reads)."""
    label = escape(words, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{size[0]}"'
        f' height="{size[1]}" role="img" aria-label="{label}"><title>{label}</title>{"".join(parts)}</svg>'
    )


def _words(status: BudgetStatus, projected: int | None) -> str:
    money = status.currency
    said = (
        f"{status.rule}: {format_money(status.spent, money)} of {format_money(status.amount, money)}"
        f" ({rounded_percent(status.spent, status.amount)}%) so far"
    )
    if projected is not None:
        said += f", forecast {format_money(projected, money)} at the period's end"
    if status.previous_known:
        said += f"; the previous period at the same point {format_money(status.previous_spent, money)}"
    return said


def _axes(scale: _Scale, start: datetime, days: int, money: str) -> list[str]:
    parts = [f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>']
    step = _nice(scale.top // 4 or 1)
    for level in range(0, scale.top + 1, step):
        y = scale.y(level)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="label" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(format_money(level, money))}</text>"
        )
    every = max(1, days // 8)
    for day in range(0, days + 1, every):
        when = start + timedelta(days=day)
        parts.append(
            f'<text class="label" x="{scale.x(day):.1f}" y="{HEIGHT - 8}" text-anchor="middle">{when:%b %d}</text>'
        )
    return parts


def _nice(micros: int) -> int:
    """The least 1, 2 or 5 times a power of ten at or above `micros` (money ticks a person reads)."""
    power = 1
    while True:
        for m in (1, 2, 5):
            if m * power >= micros:
                return m * power
        power *= 10


def daily_bars_svg(status: BudgetStatus, tz: ZoneInfo) -> str:
    """A bar per local day of the period so far, against the budget's even share of a day."""
    start = status.period_start.astimezone(tz)
    days = (status.period_end.astimezone(tz).date() - start.date()).days or 1
    share = status.amount // days
    scale = _Scale(days, _nice(max([share, *status.daily, 1]) * 11 // 10))
    width = (WIDTH - LEFT - RIGHT) / days
    money = status.currency
    parts = _axes(scale, start, days, money)
    for i, spent in enumerate(status.daily):
        day = (start + timedelta(days=i)).date().isoformat()
        top, bottom = scale.y(max(spent, 0)), scale.y(0)
        parts.append(
            f'<rect class="bar" x="{scale.x(i) + 1:.1f}" y="{top:.1f}" width="{max(width - 2, 1):.1f}"'
            f' height="{bottom - top:.1f}" data-day="{day}" data-spent="{decimal_string(spent)}">'
            f"<title>{escape(f'{day}: {format_money(spent, money)}')}</title></rect>"
        )
    y = scale.y(share)
    parts.append(f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
    words = f"{status.rule}: spend per day; an even share of the budget is {format_money(share, money)} a day"
    return _svg("burnup bars", (WIDTH, HEIGHT), words, parts)
