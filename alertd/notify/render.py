"""Alerts → messages: what each kind of alert says (budgets: `budget_message`), laid out once (see `layout`). No I/O."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.model import Alert, AnomalyDigest, AnomalyStatus, Message, SourceStatus
from alertd.notify.budget_message import render_budget
from alertd.notify.layout import Doc, Span, Table
from alertd.notify.words import BARS, MONTHS, date_text, local_time, money_in, signed, time_left
from alertd.percent import rounded_percent

MAX_DIGEST_LINES = 10


def render(alert: Alert, tz: ZoneInfo) -> Message:
    return document(alert, tz).message()


def document(alert: Alert, tz: ZoneInfo) -> Doc:
    """What the alert says, before it is laid out per format (its `title` is its one line)."""
    if isinstance(alert.status, AnomalyStatus):
        return _render_anomaly(alert, alert.status, tz)
    if isinstance(alert.status, SourceStatus):
        return _render_source(alert.status, tz)
    if isinstance(alert.status, AnomalyDigest):
        return render_anomaly_digest(alert.status, tz)
    return render_budget(alert, alert.status, tz)


_REASONS = {
    "spike": "unusual spend",
    "ramp": "spend rising steadily",
    "new": "new spend",
    "peak": "spend higher than any hour in two months",
    "trough": "spend lower than any hour in two months",
}


def _render_anomaly(alert: Alert, status: AnomalyStatus, tz: ZoneInfo) -> Doc:
    money = money_in(status.currency)
    series = series_label(status.source, status.line_item)
    if status.items > 1:
        series = f"{status.source or 'all sources'} ({status.items} line items)"
    rate = "/h" if status.step < 86400 else "/day"
    when = _bucket_label(status.bucket_start, status.step, tz)
    members = _members(status, rate)
    if status.resolved:
        facts = [
            ("Since", (Span(local_time(status.event_start, tz, with_year=False)),)),
            ("Now", (Span(f"{money(status.value)}{rate} ({when}), expected {money(status.expected)}{rate}"),)),
        ]
        if status.excess:
            total = signed(status.excess, status.currency)
            facts.append(("Cost in total", (Span(total, "b"), Span(" over what was expected"))))
        return Doc(
            title=f"[alertd] {alert.rule}: {series} back to normal",
            lead=(Span("RESOLVED", "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {series} is back to normal")),
            facts=tuple(facts),
            tables=members,
        )
    every = (status, *status.also)  # an incident's numbers are its line items' together
    value, expected = sum(m.value for m in every), sum(m.expected for m in every)
    deviation, excess = value - expected, sum(m.excess for m in every)
    relative = " (from zero)"
    if expected:
        shown = rounded_percent(deviation, expected)
        relative = f" ({'+' if shown > 0 else ''}{shown}%)"
    what = _REASONS.get(status.reason, "unusual spend")
    facts: list[tuple[str, tuple[Span, ...]]] = [
        ("When", (Span(when),)),
        ("Actual", (Span(f"{money(value)}{rate}", "b"), Span(f" vs expected {money(expected)}{rate}"))),
        ("Usual range", (Span(f"{money(status.low)} to {money(status.high)}{rate}"),)),
        ("Deviation", (Span(signed(deviation, status.currency), "b"), Span(f"{rate}{relative}"))),
    ]
    if status.also or status.high <= status.low:
        facts.pop(2)  # each line item has its own range, and a series in its first days none yet
    if status.event_start < status.bucket_start:
        facts.append(("Since", (Span(local_time(status.event_start, tz, with_year=False)),)))
    if excess:
        facts.append(("Excess so far", (Span(signed(excess, status.currency)),)))
    if deviation > 0:
        day = deviation * max(1, 86400 // status.step)
        facts.append(("Over a day", (Span(f"+{money(day)}"), Span(" if it goes on at this rate"))))
    month_cost = status.month_cost + sum(m.month_cost for m in status.also)
    if month_cost > 0:
        month = MONTHS[status.bucket_start.astimezone(tz).month - 1]
        facts.append(("If it continues", (Span(f"+{money(month_cost)} by the end of {month}"),)))
    drivers = tuple(
        (f"{d.source} / {d.line_item}", money(d.amount), signed(d.change, status.currency)) for d in status.drivers
    )
    tables = members or ((Table("What drove it", ("Line item", "Actual", "Deviation"), drivers),) if drivers else ())
    return Doc(
        title=f"[alertd] {alert.rule}: {what} on {series}, {money(value)}{rate} vs {money(expected)}",
        lead=(Span(alert.severity.upper(), "b"), Span(" · "), Span(alert.rule, "b"), Span(f": {what} on {series}")),
        facts=tuple(facts),
        tables=tables,
    )


def _members(status: AnomalyStatus, rate: str) -> tuple[Table, ...]:
    """An incident's line items, the lead first: what each spent, was expected to, and its excess."""
    if not status.also:
        return ()
    money = money_in(status.currency)
    every = (status, *status.also)
    if status.resolved:  # their costs are in the incident's total
        rows = tuple(
            (series_label(m.source, m.line_item), f"{money(m.value)}{rate}", f"{money(m.expected)}{rate}")
            for m in every
        )
        return (Table("Line items back to normal", ("Line item", "Now", "Expected"), rows),)
    rows = tuple(
        (
            series_label(m.source, m.line_item),
            f"{money(m.value)}{rate}",
            f"{money(m.expected)}{rate}",
            signed(m.excess, m.currency),
        )
        for m in every
    )
    return (Table("Line items that went off together", ("Line item", "Actual", "Expected", "Excess so far"), rows),)


def render_anomaly_digest(digest: AnomalyDigest, tz: ZoneInfo) -> Doc:
    """What a rule's first look at existing history found still going on: a line per series,
    largest excess first, the first `MAX_DIGEST_LINES` of them."""
    money = money_in(digest.currency)
    shown = digest.events[:MAX_DIGEST_LINES]
    rows = []
    for e in shown:
        rate = "/h" if e.step < 86400 else "/day"
        since = local_time(e.event_start, tz, with_year=False)
        change = signed(e.deviation, e.currency) + rate
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
    return Doc(
        title=f"[alertd] {digest.rule}: unusual spend on {count} (first look at the history)",
        lead=(
            Span("WARNING", "b"),
            Span(" · "),
            Span(digest.rule, "b"),
            Span(f": {count} still unusual at the rule's first look; later changes are alerted one by one"),
        ),
        facts=(("As of", (Span(local_time(digest.now, tz, with_year=True)),)),),
        tables=(Table("Still unusual", ("Series", "Actual", "Expected", "Deviation", "Since"), tuple(rows)),),
    )


def _render_source(status: SourceStatus, tz: ZoneInfo) -> Doc:
    since = local_time(status.blind_since, tz, with_year=False)
    blind = _duration(status.now - status.blind_since)
    if status.recovered:
        return Doc(
            title=f"[alertd] source {status.source} is fetching again (blind for {blind})",
            lead=(Span("RECOVERED", "b"), Span(" · source "), Span(status.source, "b"), Span(" is fetching again")),
            facts=(("Blind", (Span(f"from {since}, {blind}"),)),),
            tables=(),
        )
    return Doc(
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
        return date_text(local.date())
    end = (start + timedelta(seconds=step)).astimezone(tz)
    return f"{date_text(local.date())} {local:%H:%M}–{end:%H:%M} {local.tzname()}"


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
            ("Sent", (Span(local_time(now, tz, with_year=True)),)),
            ("Check", (Span(BARS, "code"), Span(" should be eight rising bars"))),
        ),
        tables=(),
    )
    return doc.message()
