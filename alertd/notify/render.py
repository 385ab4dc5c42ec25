"""Alerts → messages: what each kind of alert says, laid out once (see `layout`). No I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.model import Alert, AnomalyDigest, AnomalyStatus, BudgetStatus, Forecast, Message, SourceStatus
from alertd.money import format_money
from alertd.notify.layout import Doc, Span, Table
from alertd.percent import rounded_percent, shares

MAX_CONTRIBUTORS = 5
MAX_DRIVERS = 3
MAX_DIGEST_LINES = 10
BARS = "▁▂▃▄▅▆▇█"
# Our own names: strftime's %B and %b follow the process locale.
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


def render(alert: Alert, tz: ZoneInfo) -> Message:
    if isinstance(alert.status, AnomalyStatus):
        return _render_anomaly(alert, alert.status, tz)
    if isinstance(alert.status, SourceStatus):
        return _render_source(alert.status, tz)
    if isinstance(alert.status, AnomalyDigest):
        return render_anomaly_digest(alert.status, tz)
    return _render_budget(alert, alert.status, tz)


def _render_budget(alert: Alert, status: BudgetStatus, tz: ZoneInfo) -> Message:
    money = _money(status.currency)
    scale = f"{money(status.spent)} of {money(status.amount)}"
    share = _percent(status.spent, status.amount)
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
    return Doc(title=title, lead=lead, facts=tuple(facts), tables=_tables(status)).message()


def _comparison(status: BudgetStatus, closed: bool, tz: ZoneInfo) -> str:
    """The previous period beside this one, over the same span: where the data of this one is
    complete, the previous one as far in."""
    if not status.previous_known and status.previous_start is not None:
        return f"no data for {_previous_label(status, tz)}"
    money = _money(status.currency)
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
        f"{g.source} has not reported since {_local_time(g.through, tz, with_year=False)}"
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
        when = "never reported" if g.through is None else f"complete through {_local_time(since, tz, with_year=False)}"
        parts.append(f"{g.source} {when}, {hours} hour{'' if hours == 1 else 's'} missing")
    return "; ".join(parts)


_REASONS = {"spike": "unusual spend", "ramp": "spend rising steadily", "new": "new spend"}


def _render_anomaly(alert: Alert, status: AnomalyStatus, tz: ZoneInfo) -> Message:
    money = _money(status.currency)
    series = series_label(status.source, status.line_item)
    rate = "/h" if status.step < 86400 else "/day"
    when = _bucket_label(status.bucket_start, status.step, tz)
    if status.resolved:
        doc = Doc(
            title=f"[alertd] {alert.rule}: {series} back to normal",
            lead=(Span("RESOLVED", "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {series} is back to normal")),
            facts=(
                ("Since", (Span(_local_time(status.event_start, tz, with_year=False)),)),
                ("Now", (Span(f"{money(status.value)}{rate} ({when}), expected {money(status.expected)}{rate}"),)),
            ),
            tables=(),
        )
        return doc.message()
    change = _signed(status.deviation, status.currency)
    relative = " (from zero)"
    if status.expected:
        shown = rounded_percent(status.deviation, status.expected)
        relative = f" ({'+' if shown > 0 else ''}{shown}%)"
    what = _REASONS.get(status.reason, "unusual spend")
    facts: list[tuple[str, tuple[Span, ...]]] = [
        ("When", (Span(when),)),
        ("Actual", (Span(f"{money(status.value)}{rate}", "b"), Span(f" vs expected {money(status.expected)}{rate}"))),
        ("Usual range", (Span(f"{money(status.low)} to {money(status.high)}{rate}"),)),
        ("Deviation", (Span(change, "b"), Span(f"{rate}{relative}"))),
    ]
    if status.event_start < status.bucket_start:
        facts.append(("Since", (Span(_local_time(status.event_start, tz, with_year=False)),)))
    if status.month_cost > 0:
        month = MONTHS[status.bucket_start.astimezone(tz).month - 1]
        facts.append(("If it continues", (Span(f"+{money(status.month_cost)} by the end of {month}"),)))
    drivers = tuple(
        (f"{d.source} / {d.line_item}", money(d.amount), _signed(d.change, status.currency)) for d in status.drivers
    )
    tables = (Table("What drove it", ("Line item", "Actual", "Deviation"), drivers),) if drivers else ()
    doc = Doc(
        title=f"[alertd] {alert.rule}: {what} on {series}, {money(status.value)}{rate} vs {money(status.expected)}",
        lead=(Span(alert.severity.upper(), "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {what} on {series}")),
        facts=tuple(facts),
        tables=tables,
    )
    return doc.message()


def render_anomaly_digest(digest: AnomalyDigest, tz: ZoneInfo) -> Message:
    """What a rule's first look at existing history found still going on: a line per series,
    largest excess first, the first `MAX_DIGEST_LINES` of them."""
    money = _money(digest.currency)
    shown = digest.events[:MAX_DIGEST_LINES]
    rows = []
    for e in shown:
        rate = "/h" if e.step < 86400 else "/day"
        since = _local_time(e.event_start, tz, with_year=False)
        change = _signed(e.deviation, e.currency) + rate
        rows.append(
            (
                series_label(e.source, e.line_item),
                f"{money(e.value)}{rate}",
                f"{money(e.expected)}{rate}",
                change,
                since,
            )
        )
    more = len(digest.events) - len(shown)
    if more:
        rows.append((f"and {more} more", "", "", "", ""))
    count = f"{len(digest.events)} series" if len(digest.events) > 1 else "1 series"
    doc = Doc(
        title=f"[alertd] {digest.rule}: unusual spend on {count} (first look at the history)",
        lead=(
            Span("WARNING", "b"),
            Span(" · "),
            Span(digest.rule, "b"),
            Span(f": {count} still unusual at the rule's first look; later changes are alerted one by one"),
        ),
        facts=(("As of", (Span(_local_time(digest.now, tz, with_year=True)),)),),
        tables=(Table("Still unusual", ("Series", "Actual", "Expected", "Deviation", "Since"), tuple(rows)),),
    )
    return doc.message()


def _render_source(status: SourceStatus, tz: ZoneInfo) -> Message:
    since = _local_time(status.blind_since, tz, with_year=False)
    blind = _duration(status.now - status.blind_since)
    if status.recovered:
        doc = Doc(
            title=f"[alertd] source {status.source} is fetching again (blind for {blind})",
            lead=(Span("RECOVERED", "b"), Span(" · source "), Span(status.source, "b"), Span(" is fetching again")),
            facts=(("Blind", (Span(f"from {since}, {blind}"),)),),
            tables=(),
        )
        return doc.message()
    doc = Doc(
        title=f"[alertd] blind spot: source {status.source} has not fetched for {blind}",
        lead=(
            Span("CRITICAL", "b"),
            Span(" · source "),
            Span(status.source, "b"),
            Span(f" ({status.provider}) has not fetched since {since}: budgets and anomalies cannot see its spend"),
        ),
        facts=(("Last error", (Span(status.last_error or "unknown"),)), ("Blind for", (Span(blind),))),
        tables=(),
    )
    return doc.message()


def _duration(span: timedelta) -> str:
    return time_left(datetime.min, datetime.min + span).removesuffix(" left")


def series_label(source: str | None, line_item: str | None) -> str:
    """'northflank / paas.gpu', 'northflank (all line items)', 'all sources / paas.gpu', 'total spend'."""
    if source and line_item:
        return f"{source} / {line_item}"
    if source:
        return f"{source} (all line items)"
    return f"all sources / {line_item}" if line_item else "total spend"


def _bucket_label(start: datetime, step: int, tz: ZoneInfo) -> str:
    local = start.astimezone(tz)
    if step >= 86400:
        return _date(local.date())
    end = (start + timedelta(seconds=step)).astimezone(tz)
    return f"{_date(local.date())} {local:%H:%M}–{end:%H:%M} {local.tzname()}"


DIGEST_LINES = 15  # a first check on a big history may decide hundreds: the worst are listed, the rest counted


def render_digest(alerts: list[tuple[str, str]]) -> Message:
    """Several alerts due at once for one channel: one message, a line each (severity, title),
    the most severe first, at most `DIGEST_LINES` of them."""
    ranked = sorted(alerts, key=lambda a: -_SEVERITY_RANK.get(a[0], 0))
    lines = [(title.removeprefix("[alertd] "), severity) for severity, title in ranked[:DIGEST_LINES]]
    if len(ranked) > DIGEST_LINES:
        lines.append((f"and {len(ranked) - DIGEST_LINES} more (alertd status lists them all)", ""))
    counts = Counter(severity for severity, _ in alerts)
    by_severity = ", ".join(f"{counts[s]} {s}" for s in ("critical", "warning", "info") if counts[s])
    doc = Doc(
        title=f"[alertd] {len(alerts)} alerts ({by_severity})",
        lead=(Span(f"{len(alerts)} alerts", "b"), Span(" at once; one line each (alertd status has the details):")),
        facts=(),
        tables=(Table("Alerts", ("Alert", "Severity"), tuple(lines)),),
    )
    return doc.message()


_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def render_test(tz: ZoneInfo, now: datetime) -> Message:
    """What `alertd notify-test` sends: proof that a channel works and shows our characters."""
    doc = Doc(
        title="[alertd] test notification",
        lead=(Span("alertd", "b"), Span(" can reach this channel.")),
        facts=(
            ("Sent", (Span(_local_time(now, tz, with_year=True)),)),
            ("Check", (Span(BARS, "code"), Span(" should be eight rising bars"))),
        ),
        tables=(),
    )
    return doc.message()


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
        return _date(day)
    if period == "week":
        return f"week of {_date(day)}"
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


# --- what the message says ------------------------------------------------------------------


def _what(alert: Alert) -> str:
    threshold = f"{format(alert.threshold.normalize(), 'f')}%"
    if alert.repeat == 0:
        return f"crossed {threshold}" if alert.kind == "budget" else f"forecast to cross {threshold}"
    still = f"still over {threshold}" if alert.kind == "budget" else f"still forecast to cross {threshold}"
    return f"{still} (reminder {alert.repeat})"


def _forecast(forecast: Forecast, status: BudgetStatus, tz: ZoneInfo) -> str:
    share = _percent(forecast.projected, status.amount)
    text = f"{format_money(forecast.projected, status.currency)} at period end ({share})"
    if forecast.run_out is not None:
        text += f", runs out {_local_time(forecast.run_out, tz, with_year=False)}"
    elif forecast.projected < status.amount:
        text += ", not expected to run out this period"
    if forecast.method == "run-rate":
        text += " · run-rate estimate"  # little history: say how rough the number is
    return text


def _tables(status: BudgetStatus) -> tuple[Table, ...]:
    money = _money(status.currency)
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
        rows = tuple((f"{d.source} / {d.line_item}", _signed(d.change, status.currency)) for d in moved)
        tables.append(Table("Change vs last period", ("Line item", "Change"), rows))
    return tuple(tables)


def _money(currency: str) -> Callable[[int], str]:
    return lambda micros: format_money(micros, currency)


def _signed(micros: int, currency: str) -> str:
    return f"+{format_money(micros, currency)}" if micros > 0 else format_money(micros, currency)


def _percent(part: int, whole: int) -> str:
    return f"{rounded_percent(part, whole)}%"


def _day_month(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def _date(day: date) -> str:
    return f"{_day_month(day)} {day.year}"


def _local_time(at: datetime, tz: ZoneInfo, *, with_year: bool) -> str:
    local = at.astimezone(tz)
    return f"{_date(local) if with_year else _day_month(local)} {local:%H:%M} {local.tzname()}"
