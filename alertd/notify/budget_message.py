"""Budget alerts → messages: crossed, forecast, a period's summary and its revision. No I/O."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from alertd.model import Alert, BudgetStatus, Forecast
from alertd.money import format_money
from alertd.notify.layout import Doc, Span, Table
from alertd.notify.words import local_time, money_in, percent_of, period_label, signed, sparkline, time_left
from alertd.percent import shares

MAX_CONTRIBUTORS = 5
MAX_DRIVERS = 3


def render_budget(alert: Alert, status: BudgetStatus, tz: ZoneInfo) -> Doc:
    money = money_in(status.currency)
    scale = f"{money(status.spent)} of {money(status.amount)}"
    share = percent_of(status.spent, status.amount)
    label = period_label(status.period, status.period_start, tz)
    closed = alert.kind in ("summary", "revision")
    spent = (Span(f"{scale} ("), Span(share, "b"), Span(f"), {_comparison(status, closed, tz)}"))
    if alert.kind == "revision" and status.revised is not None:
        late = " and ".join(status.revised.late) or "late"
        revised = f"revised from {money(status.revised.stated)}: late {late} costs"
        title = f"[alertd] {alert.rule}: {label} closed at {scale} ({share}) ({revised})"
        lead = (Span("INFO", "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {label} closed, {revised}"))
        facts: list[tuple[str, tuple[Span, ...]]] = [("Spent", spent)]
    elif closed and status.lagging:
        # Never a bare total when data is missing: what was counted, and what is missing.
        counted = f"{money(status.spent)} counted of {money(status.amount)}"
        title = f"[alertd] {alert.rule}: {label} closed, incomplete: {counted}"
        lead = (Span("INFO", "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {label} closed, data incomplete"))
        facts = [("Counted", spent), ("Missing", (Span(_missing(status, tz)),))]
    elif closed:
        title = f"[alertd] {alert.rule}: {label} closed at {scale} ({share})"
        lead = (Span("INFO", "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {label} closed"))
        facts = [("Spent", spent)]
    else:
        title = f"[alertd] {alert.rule}: {_what(alert)} of budget ({scale})"
        lead = (
            Span(alert.severity.upper(), "b"),
            Span(" · "),
            Span(alert.rule, "b"),
            Span(f" {_what(alert)} of its budget"),
        )
        period = f"{label}, {time_left(status.now, status.period_end)}"
        facts = [("Spent", spent), ("Period", (Span(period),))]
        if status.lagging:
            facts.append(("Data", (Span(_blind(status, tz)),)))
    if status.forecast is not None and not closed:
        facts.append(("Forecast", (Span(_forecast(status.forecast, status, tz)),)))
    if status.daily:
        peak = f" (peak {money(max(status.daily))}/day)"
        facts.append(("Daily", (Span(sparkline(status.daily), "code"), Span(peak))))
    return Doc(title=title, lead=lead, facts=tuple(facts), tables=_tables(status))


def _comparison(status: BudgetStatus, closed: bool, tz: ZoneInfo) -> str:
    """The previous period beside this one, over the same span: where the data of this one is
    complete, the previous one as far in."""
    if not status.previous_known and status.previous_start is not None:
        return f"no data for {_previous_label(status, tz)}"
    money = money_in(status.currency)
    before = money(status.previous_spent)
    if closed:
        return f"vs {before} the period before"
    if status.compared_spent is None:
        return f"vs {before} at this point last period"
    # Part of the spend is past where its source's data is complete (a growing hour): compare the rest.
    return f"{money(status.compared_spent)} of it complete, vs {before} at the same point last period"


def _previous_label(status: BudgetStatus, tz: ZoneInfo) -> str:
    assert status.previous_start is not None
    label = period_label(status.period, status.previous_start, tz)
    return f"the {label}" if status.period == "week" else label


def _blind(status: BudgetStatus, tz: ZoneInfo) -> str:
    """'nf has not reported since 3 Dec 02:00 CET; spend may be higher'."""
    parts = [
        f"{g.source} has not reported since {local_time(g.through, tz, with_year=False)}"
        if g.through is not None
        else f"{g.source} has never reported"
        for g in status.lagging
    ]
    return f"{'; '.join(parts)}; spend may be higher"


def _missing(status: BudgetStatus, tz: ZoneInfo) -> str:
    """Per incomplete source, from when and how many hours of the period are missing."""
    parts = []
    for g in status.lagging:
        since = max(g.through, status.period_start) if g.through is not None else status.period_start
        hours = -(-int((status.period_end - since).total_seconds()) // 3600)
        when = "never reported" if g.through is None else f"complete through {local_time(since, tz, with_year=False)}"
        parts.append(f"{g.source} {when}, {hours} hour{'' if hours == 1 else 's'} missing")
    return "; ".join(parts)


def _what(alert: Alert) -> str:
    threshold = f"{format(alert.threshold.normalize(), 'f')}%"
    if alert.repeat == 0:
        return f"crossed {threshold}" if alert.kind == "budget" else f"forecast to cross {threshold}"
    still = f"still over {threshold}" if alert.kind == "budget" else f"still forecast to cross {threshold}"
    return f"{still} (reminder {alert.repeat})"


def _forecast(forecast: Forecast, status: BudgetStatus, tz: ZoneInfo) -> str:
    share = percent_of(forecast.projected, status.amount)
    text = f"{format_money(forecast.projected, status.currency)} at period end ({share})"
    if forecast.run_out is not None:
        text += f", runs out {local_time(forecast.run_out, tz, with_year=False)}"
    elif forecast.projected < status.amount:
        text += ", not expected to run out this period"
    if forecast.method == "run-rate":
        text += " · run-rate estimate"  # little history: say how rough the number is
    return text


def _tables(status: BudgetStatus) -> tuple[Table, ...]:
    money = money_in(status.currency)
    tables = []
    top = status.contributors[:MAX_CONTRIBUTORS]
    if top:
        items = [(f"{c.source} / {c.line_item}", c.amount) for c in top]
        rest = status.spent - sum(c.amount for c in top)  # the line items past the top ones
        if rest:
            items.append(("other line items", rest))
        # Apportioned together, so that the column adds up to 100.0%.
        column = [f"{s}%" for s in shares([a for _, a in items])] if status.spent > 0 else [""] * len(items)
        rows = tuple((label, money(amount), share) for (label, amount), share in zip(items, column, strict=True))
        tables.append(Table("Top spend", ("Line item", "Amount", "Share"), rows))
    # Without data for the previous period, every line item would show its whole spend as growth.
    moved = [d for d in status.drivers if d.change != 0][:MAX_DRIVERS] if status.previous_known else []
    if moved:
        rows = tuple((f"{d.source} / {d.line_item}", signed(d.change, status.currency)) for d in moved)
        tables.append(Table("Change vs last period", ("Line item", "Change"), rows))
    return tuple(tables)
