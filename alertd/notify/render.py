"""Alerts → messages in three dialects (terminal text, Markdown for chat, HTML for email). No I/O.

Each message is first laid out once as a `_Doc` (a lead line, labelled facts, small tables) and
then written out per dialect, so the three can never disagree about a figure.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from alertd.model import Alert, BudgetStatus, Forecast, Message
from alertd.money import format_money

MAX_CONTRIBUTORS = 5
MAX_DRIVERS = 3
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
    status = alert.status
    money = _money(status.currency)
    what = _what(alert)
    scale = f"{money(status.spent)} of {money(status.amount)}"
    lead = (_Span(alert.severity.upper(), "b"), _Span(" · "), _Span(alert.rule, "b"), _Span(f" {what} of its budget"))
    spent = (
        _Span(f"{scale} ("),
        _Span(_percent(status.percent), "b"),
        _Span(f"), vs {money(status.previous_spent)} at this point last period"),
    )
    period = f"{period_label(status.period, status.period_start, tz)}, {time_left(status.now, status.period_end)}"
    facts: list[tuple[str, tuple[_Span, ...]]] = [("Spent", spent), ("Period", (_Span(period),))]
    if status.forecast is not None:
        facts.append(("Forecast", (_Span(_forecast(status.forecast, status, tz)),)))
    if status.daily:
        peak = f" (peak {money(max(status.daily))}/day)"
        facts.append(("Daily", (_Span(sparkline(status.daily), "code"), _Span(peak))))
    doc = _Doc(
        title=f"[alertd] {alert.rule}: {what} of budget ({scale})",
        lead=lead,
        facts=tuple(facts),
        tables=_tables(status),
    )
    return doc.message()


def render_test(tz: ZoneInfo, now: datetime) -> Message:
    """What `alertd notify-test` sends: proof that a channel works and shows our characters."""
    doc = _Doc(
        title="[alertd] test notification",
        lead=(_Span("alertd", "b"), _Span(" can reach this channel.")),
        facts=(
            ("Sent", (_Span(_local_time(now, tz, with_year=True)),)),
            ("Check", (_Span(BARS, "code"), _Span(" should be eight rising bars"))),
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
    share = _percent(Decimal(forecast.projected * 100) / Decimal(status.amount))
    text = f"{format_money(forecast.projected, status.currency)} at period end ({share})"
    if forecast.run_out is not None:
        text += f", runs out {_local_time(forecast.run_out, tz, with_year=False)}"
    elif forecast.projected < status.amount:
        text += ", not expected to run out this period"
    if forecast.method == "run-rate":
        text += " · run-rate estimate"  # little history: say how rough the number is
    return text


def _tables(status: BudgetStatus) -> tuple[_Table, ...]:
    money = _money(status.currency)
    tables = []
    top = status.contributors[:MAX_CONTRIBUTORS]
    if top:
        rows = tuple(
            (
                f"{c.source} / {c.line_item}",
                money(c.amount),
                _percent(Decimal(c.amount * 100) / Decimal(status.spent)) if status.spent > 0 else "",
            )
            for c in top
        )
        tables.append(_Table("Top spend", ("Line item", "Amount", "Share"), rows))
    moved = [d for d in status.drivers if d.change != 0][:MAX_DRIVERS]
    if moved:
        rows = tuple((f"{d.source} / {d.line_item}", _signed(d.change, status.currency)) for d in moved)
        tables.append(_Table("Change vs last period", ("Line item", "Change"), rows))
    return tuple(tables)


def _money(currency: str) -> Callable[[int], str]:
    return lambda micros: format_money(micros, currency)


def _signed(micros: int, currency: str) -> str:
    return f"+{format_money(micros, currency)}" if micros > 0 else format_money(micros, currency)


def _percent(value: Decimal) -> str:
    # Floored, so that a budget just short of a threshold never reads as having reached it.
    return f"{value.quantize(Decimal('0.1'), ROUND_FLOOR)}%"


def _day_month(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1][:3]}"


def _date(day: date) -> str:
    return f"{_day_month(day)} {day.year}"


def _local_time(at: datetime, tz: ZoneInfo, *, with_year: bool) -> str:
    local = at.astimezone(tz)
    return f"{_date(local) if with_year else _day_month(local)} {local:%H:%M} {local.tzname()}"


# --- layout and dialects --------------------------------------------------------------------


class _Span(NamedTuple):
    text: str
    style: str = ""  # "" plain, "b" bold, "code"


@dataclass(frozen=True, slots=True)
class _Table:
    heading: str
    columns: tuple[str, ...]  # the first is text, the others are figures
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class _Doc:
    title: str
    lead: tuple[_Span, ...]
    facts: tuple[tuple[str, tuple[_Span, ...]], ...]
    tables: tuple[_Table, ...]

    def message(self) -> Message:
        return Message(self.title, _text(self), _markdown(self), _html(self))


def _text(doc: _Doc) -> str:
    plain = "".join
    width = max(len(label) for label, _ in doc.facts) + 1
    lines = [plain(s.text for s in doc.lead)]
    lines += [f"{label + ':':<{width}} {plain(s.text for s in spans)}" for label, spans in doc.facts]
    for table in doc.tables:
        widths = [max(len(row[i]) for row in table.rows) for i in range(len(table.columns))]
        lines += ["", f"{table.heading}:"]
        for row in table.rows:
            cells = [row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]
            lines.append(f"  {'  '.join(cells)}".rstrip())
    return "\n".join(lines)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_spans(spans: tuple[_Span, ...]) -> str:
    styles = {"": "{}", "b": "**{}**", "code": "`{}`"}
    return "".join(styles[s.style].format(s.text if s.style == "code" else _md(s.text)) for s in spans)


def _markdown(doc: _Doc) -> str:
    # Bullet lists rather than bare lines: a single newline is only a soft break in Markdown.
    parts = [_md_spans(doc.lead), "\n".join(f"- **{label}:** {_md_spans(spans)}" for label, spans in doc.facts)]
    for table in doc.tables:
        rows = [
            f"- {_md(first)}: {_md(second)}{''.join(f' ({_md(c)})' for c in rest if c)}"
            for first, second, *rest in table.rows
        ]
        parts += [f"**{_md(table.heading)}**", "\n".join(rows)]
    return "\n\n".join(parts)


def _html_spans(spans: tuple[_Span, ...]) -> str:
    styles = {"": "{}", "b": "<strong>{}</strong>", "code": "<code>{}</code>"}
    return "".join(styles[s.style].format(html.escape(s.text)) for s in spans)


_TABLE = '<table cellpadding="3" style="border-collapse:collapse">'


def _html_row(tag: str, aligns: list[str], cells: tuple[str, ...]) -> str:
    cells_html = (f'<{tag} align="{a}">{html.escape(c)}</{tag}>' for a, c in zip(aligns, cells, strict=True))
    return f"<tr>{''.join(cells_html)}</tr>"


def _html(doc: _Doc) -> str:
    e = html.escape
    out = ['<div style="font-family:sans-serif;font-size:14px">', f"<p>{_html_spans(doc.lead)}</p>", _TABLE]
    out += [f'<tr><th align="left">{e(label)}</th><td>{_html_spans(spans)}</td></tr>' for label, spans in doc.facts]
    out.append("</table>")
    for table in doc.tables:
        aligns = ["left", *["right"] * (len(table.columns) - 1)]
        out += [f"<p><strong>{e(table.heading)}</strong></p>", _TABLE]
        out += [_html_row("th", aligns, table.columns), *(_html_row("td", aligns, row) for row in table.rows)]
        out.append("</table>")
    out.append("</div>")
    return "\n".join(out)
