"""Messages laid out once (a lead line, labelled facts, small tables) and written per dialect:
terminal text, Markdown for chat, HTML for e-mail; so the three never disagree about a figure."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import NamedTuple

from alertd.model import Message


class Span(NamedTuple):
    text: str
    style: str = ""  # "" plain, "b" bold, "code"


@dataclass(frozen=True, slots=True)
class Table:
    heading: str
    columns: tuple[str, ...]  # the first is text, the others are figures
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Doc:
    title: str
    lead: tuple[Span, ...]
    facts: tuple[tuple[str, tuple[Span, ...]], ...]
    tables: tuple[Table, ...]

    def message(self) -> Message:
        return Message(self.title, _text(self), _markdown(self), _html(self))


def _text(doc: Doc) -> str:
    plain = "".join
    width = max((len(label) for label, _ in doc.facts), default=0) + 1
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


def _md_spans(spans: tuple[Span, ...]) -> str:
    styles = {"": "{}", "b": "**{}**", "code": "`{}`"}
    return "".join(styles[s.style].format(s.text if s.style == "code" else _md(s.text)) for s in spans)


def _markdown(doc: Doc) -> str:
    # Bullet lists rather than bare lines: a single newline is only a soft break in Markdown.
    parts = [_md_spans(doc.lead), "\n".join(f"- **{label}:** {_md_spans(spans)}" for label, spans in doc.facts)]
    for table in doc.tables:
        rows = [
            f"- {_md(first)}: {_md(second)}{''.join(f' ({_md(c)})' for c in rest if c)}"
            for first, second, *rest in table.rows
        ]
        parts += [f"**{_md(table.heading)}**", "\n".join(rows)]
    return "\n\n".join(part for part in parts if part)


def _html_spans(spans: tuple[Span, ...]) -> str:
    styles = {"": "{}", "b": "<strong>{}</strong>", "code": "<code>{}</code>"}
    return "".join(styles[s.style].format(html.escape(s.text)) for s in spans)


_TABLE = '<table cellpadding="3" style="border-collapse:collapse">'


def _html_row(tag: str, aligns: list[str], cells: tuple[str, ...]) -> str:
    cells_html = (f'<{tag} align="{a}">{html.escape(c)}</{tag}>' for a, c in zip(aligns, cells, strict=True))
    return f"<tr>{''.join(cells_html)}</tr>"


def _html(doc: Doc) -> str:
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


def append_section(message: Message, heading: str, lines: list[str]) -> Message:
    """`message` with one more titled list at its end, in every dialect."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return Message(
        message.title,
        "\n".join([message.text, "", f"{heading}:", *(f"  {line}" for line in lines)]),
        "\n\n".join([message.markdown, f"**{_md(heading)}**", "\n".join(f"- {_md(line)}" for line in lines)]),
        f"{message.html}\n<p><strong>{html.escape(heading)}</strong></p><ul>{items}</ul>",
    )


def with_picture(html_body: str, source: str, alt: str) -> str:
    """The HTML with a chart after its facts (the first table), or at its end."""
    image = (
        f'<p><img src="{html.escape(source)}" alt="{html.escape(alt)}" width="640" height="260"'
        ' style="max-width:100%;height:auto"></p>'
    )
    head, found, tail = html_body.partition("</table>")
    return f"{head}</table>\n{image}{tail}" if found else f"{html_body}\n{image}"


def append_link(message: Message, label: str, url: str) -> Message:
    """`message` ending with a link (`url` already percent-encoded), in every dialect."""
    return Message(
        message.title,
        f"{message.text}\n\n{label}: {url}",
        f"{message.markdown}\n\n[{_md(label)}]({url.replace(')', '%29')})",
        f'{message.html}\n<p><a href="{html.escape(url)}">{html.escape(label)}</a></p>',
    )
