"""A budget's charts (pure): the burn-up of its period (spend so far day by day against the
budget line and its thresholds, the forecast to the period's end with its range, the previous
period's days at the same offsets) and a bar per day against the budget's even daily share.
Each plotted day carries its exact amount; amounts are exact, only pixels are floats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.charts.scene import (
    LEFT,
    RIGHT,
    WIDTH,
    Chart,
    Mark,
    Scale,
    hline,
    legend,
    money_axis,
    nice,
    time_labels,
)
from alertd.model import BudgetStatus
from alertd.money import decimal_string, format_money
from alertd.percent import rounded_percent

SMALL = (240, 98)  # a row of the overview
LEGEND = {"actual": "spent", "budget": "budget", "forecast": "forecast", "previous": "previous period"}


def burnup(status: BudgetStatus, thresholds: Sequence[Decimal], tz: ZoneInfo, *, small: bool = False) -> Chart:
    """The chart of `status`'s period; `small` without axes or labels."""
    start, end = status.period_start.astimezone(tz), status.period_end.astimezone(tz)
    days = (end.date() - start.date()).days or 1
    cumulative = list(accumulate(status.daily))
    previous = list(accumulate(status.previous_daily[:days])) if status.previous_known else []
    forecast = status.forecast
    projected = forecast.projected if forecast else None
    tallest = [status.amount, *cumulative, *previous, projected or 0, (forecast and forecast.high) or 0, 1]
    scale = Scale(days, nice(max(tallest) * 11 // 10), min([0, *cumulative, *previous]))
    elapsed = min(days, max(0.0, (status.now.astimezone(tz) - start) / timedelta(days=1)))
    money = status.currency
    marks: list[Mark] = [] if small else [*money_axis(scale, lambda v: format_money(v, money)), *_days(scale, start)]
    # A day's point at its end; today's at now.
    actual = [(float(LEFT), scale.y(0))] + [
        (scale.x(min(i + 1, elapsed)), scale.y(c)) for i, c in enumerate(cumulative)
    ]
    if forecast and forecast.low is not None and forecast.high is not None:
        x, y = actual[-1]
        said = f"forecast range: {format_money(forecast.low, money)} to {format_money(forecast.high, money)}"
        band = ((x, y), (scale.x(days), scale.y(forecast.high)), (scale.x(days), scale.y(forecast.low)))
        marks.append(
            Mark(
                "polygon",
                "range",
                band,
                title=said,
                data=(("low", decimal_string(forecast.low)), ("high", decimal_string(forecast.high))),
            )
        )
    labelled = -100.0  # where the last threshold's label went: one closer than a line of text is left out
    for percent in sorted(thresholds, reverse=True):
        y = scale.y(int(status.amount * percent / 100))
        marks.append(hline("budget" if percent == 100 else "threshold", y))
        if not small and y - labelled >= 12:
            marks.append(Mark("text", "label", ((WIDTH - RIGHT - 2, y - 3),), f"{percent}%", "end"))
            labelled = y
    if previous:
        points = ((float(LEFT), scale.y(0)), *((scale.x(i + 1), scale.y(c)) for i, c in enumerate(previous)))
        said = f"the previous period: {format_money(status.previous_spent, money)} at this point"
        said += f", {format_money(sum(status.previous_daily), money)} in all"
        marks.append(Mark("polyline", "previous", points, title=said, data=(("total", decimal_string(previous[-1])),)))
    marks.append(Mark("polyline", "actual", tuple(actual)))
    for i, (c, point) in enumerate(zip(cumulative, actual[1:], strict=True)):
        day = (start + timedelta(days=i)).date().isoformat()
        said = f"{day}: {format_money(c, money)} so far ({format_money(status.daily[i], money)} that day)"
        marks.append(
            Mark(
                "circle",
                "day",
                (point,),
                radius=2 if small else 3,
                title=said,
                data=(("day", day), ("spent", decimal_string(c))),
            )
        )
    if projected is not None:
        said = f"forecast at the period's end: {format_money(projected, money)}"
        line = (actual[-1], (scale.x(days), scale.y(projected)))
        marks.append(Mark("polyline", "forecast", line, title=said, data=(("projected", decimal_string(projected)),)))
    now = scale.x(elapsed)
    marks.append(Mark("line", "now", ((now, scale.y(scale.top)), (now, scale.y(scale.bottom)))))
    if not small:
        shown = [
            "actual",
            "budget",
            *(["forecast"] if projected is not None else []),
            *(["previous"] if previous else []),
        ]
        marks += legend([(css, LEGEND[css]) for css in shown])
    return Chart("burnup", SMALL if small else (640, 260), words(status), tuple(marks))


def words(status: BudgetStatus) -> str:
    """The burn-up chart said in a sentence."""
    money, forecast = status.currency, status.forecast
    said = (
        f"{status.rule}: {format_money(status.spent, money)} of {format_money(status.amount, money)}"
        f" ({rounded_percent(status.spent, status.amount)}%) so far"
    )
    if forecast is not None:
        said += f", forecast {format_money(forecast.projected, money)} at the period's end"
        if forecast.low is not None and forecast.high is not None:
            said += f" ({format_money(forecast.low, money)} to {format_money(forecast.high, money)})"
    if status.previous_known:
        said += f"; the previous period at the same point {format_money(status.previous_spent, money)}"
    return said


def _days(scale: Scale, start: datetime) -> list[Mark]:
    days = int(scale.span)
    every = max(1, days // 8)
    return time_labels(scale, [(day, f"{start + timedelta(days=day):%b %d}") for day in range(0, days + 1, every)])


def daily_bars(status: BudgetStatus, tz: ZoneInfo) -> Chart:
    """A bar per local day of the period so far, against the budget's even share of a day."""
    start = status.period_start.astimezone(tz)
    days = (status.period_end.astimezone(tz).date() - start.date()).days or 1
    share = status.amount // days
    scale = Scale(days, nice(max([share, *status.daily, 1]) * 11 // 10))
    width = scale.x(1) - scale.x(0)
    money = status.currency
    marks = [*money_axis(scale, lambda v: format_money(v, money)), *_days(scale, start)]
    for i, spent in enumerate(status.daily):
        day = (start + timedelta(days=i)).date().isoformat()
        x = scale.x(i) + 1
        corners = ((x, scale.y(max(spent, 0))), (x + max(width - 2, 1), scale.y(0)))
        said = f"{day}: {format_money(spent, money)}"
        marks.append(Mark("rect", "bar", corners, title=said, data=(("day", day), ("spent", decimal_string(spent)))))
    marks.append(hline("threshold", scale.y(share)))
    said = f"{status.rule}: spend per day; an even share of the budget is {format_money(share, money)} a day"
    return Chart("burnup bars", (640, 260), said, tuple(marks))


def period_bars(status: BudgetStatus, past: Sequence[tuple[datetime, int]], tz: ZoneInfo) -> Chart:
    """A bar per period before this one (red where it went over the budget) and this one so far,
    against the budget line."""
    money, amount = status.currency, status.amount
    shown = [*past, (status.period_start, status.spent)]
    scale = Scale(len(shown), nice(max([amount, *(t for _, t in shown), 1]) * 12 // 10))
    label = "%b %d" if status.period in ("day", "week") else "%b %y" if status.period != "year" else "%Y"
    width = scale.x(1) - scale.x(0)
    every = -(-len(shown) // 7)  # at most seven labels: they must not run into each other
    ticks = [(i + 0.5, f"{start.astimezone(tz):{label}}") for i, (start, _) in enumerate(shown)][::every]
    marks = [*money_axis(scale, lambda v: format_money(v, money)), *time_labels(scale, ticks)]
    for i, (start, total) in enumerate(shown):
        css = "period-now" if i == len(past) else "period-over" if total > amount else "period"
        day = start.astimezone(tz).date().isoformat()
        x = scale.x(i) + width * 0.15
        corners = ((x, scale.y(max(total, 0))), (x + width * 0.7, scale.y(0)))
        said = f"{status.period} from {day}: {format_money(total, money)}{' so far' if i == len(past) else ''}"
        marks.append(Mark("rect", css, corners, title=said, data=(("start", day), ("total", decimal_string(total)))))
    marks.append(hline("budget", scale.y(amount)))
    over = sum(total > amount for _, total in past)
    words = f"{status.rule}: the last {len(past)} {status.period}s' totals against {format_money(amount, money)}"
    words += f"; {over} went over" if over else "; none went over"
    return Chart("burnup periods", (640, 260), words, tuple(marks))
