"""Users' own message templates: Jinja2 in a sandbox, over the alert's facts and the default renderings.

A template can only make a message different, never lose it: anything that goes wrong while rendering
sends the default message with a note saying so.
"""

from __future__ import annotations

import html
import logging
import traceback
from dataclasses import dataclass, replace
from functools import lru_cache

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from alertd.model import Message
from alertd.notify.layout import _md

log = logging.getLogger("alertd.notify.templates")

MAX_BODY = 20_000  # characters; more is no longer a notification, and some channels reject it
MAX_TITLE = 250
TRUNCATED = "… (truncated)"
MAX_REASON = 300
# A template's source (see `_within_limits`): far more than a message needs, far less than slows a check
MAX_SOURCE = 10_000  # characters
MAX_NESTING = 12  # blocks inside blocks; brackets inside brackets in one tag
MAX_TAG = 32  # names, operators and literals in one {{ }} or {% %}: its cost grows with their square
_BLOCKS = frozenset({"for", "if", "macro", "call", "filter", "with", "block", "autoescape", "trans"})

FIELDS: dict[str, str] = {
    "rule": "Name of the rule that fired",
    "kind": "`budget` (spend crossed a threshold), `forecast` (projected spend will), `summary` (a period"
    " closed), `revision` (its correction), `anomaly` or `resolved`",
    "severity": "`info`, `warning` or `critical`",
    "currency": "Currency code of every amount, e.g. `USD`",
    "threshold": "Budget alerts: the threshold crossed, in percent of the budget amount, e.g. `80`",
    "spent": "Budget alerts: spend so far this period, in currency units, e.g. `1602.00`",
    "amount": "Budget alerts: the budget amount, in currency units",
    "percent": "Budget alerts: `spent` in percent of `amount`, rounded half-up to one decimal, e.g. `80.1`",
    "period_start": "Budget alerts: start of the budget period (ISO 8601, UTC)",
    "period_end": "Budget alerts: end of the budget period, exclusive (ISO 8601, UTC)",
    "projected": "Budget alerts: forecast spend at the end of the period, in currency units; empty without a forecast",
    "run_out": "Budget alerts: when spend is forecast to reach the amount (ISO 8601, UTC); empty if not this period",
    "by_source": "Budget alerts: `spent` per source, in currency units (what a period summary states)",
    "incomplete": "Budget alerts: the sources whose data falls short, each with `source`, `through` and `blind`",
    "revised_from": "Summary revisions: the total the summary first stated, in currency units",
    "series": "Anomaly alerts: `series.source` and `series.line_item`; either is empty where the rule groups them",
    "bucket": "Anomaly alerts: start of the anomalous bucket (ISO 8601, UTC)",
    "value": "Anomaly alerts: spend in the bucket, in currency units",
    "expected": "Anomaly alerts: the spend expected in the bucket, in currency units",
    "low": "Anomaly alerts: bottom of the usual range, in currency units",
    "high": "Anomaly alerts: top of the usual range, in currency units",
    "reason": "Anomaly alerts: `spike`, `ramp`, `new`, `peak` or `trough`",
    "event_start": "Anomaly alerts: first anomalous bucket of this event (ISO 8601, UTC)",
    "step": "Anomaly alerts: seconds per bucket (3600 hourly, 86400 daily)",
    "excess": "Anomaly alerts: the event's deviations summed so far (decimal string); a `resolved` alert: "
    "what the event, or the incident, cost in total",
    "also": "Anomaly alerts about an incident: its other line items, each `{series: {source, line_item}, "
    "bucket, value, expected}`, at its own bucket (empty otherwise)",
    "dashboard_url": "With `web.public_url`: the alert's page on the dashboard (its budget, anomaly series or rule;"
    " the overview for a source)",
    "title": "The default title",
    "text": "The default message as plain text",
    "markdown": "The default message as Markdown",
    "html": "The default message as an HTML fragment (inserted unescaped into HTML bodies)",
}


@dataclass(frozen=True, slots=True)
class Template:
    """A channel's templates, as Jinja2 source; None keeps that part of the default message."""

    title: str | None = None
    body: str | None = None  # used for every format the channel gets (text, markdown, html)


class TemplateError(Exception):
    """A template that does not compile; the message names the part and the line."""


class _Sandbox(ImmutableSandboxedEnvironment):
    def unsafe_undefined(self, obj: object, attribute: str) -> jinja2.Undefined:
        # Jinja's default renders a blocked attribute as empty: an escape attempt should be an error the user sees.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def _finalize(value: object) -> object:
    # A fact that does not apply (no forecast, no run-out) is None: it should read as nothing, not "None".
    return "" if value is None else value


_PLAIN = _Sandbox(autoescape=False, finalize=_finalize)
_HTML = _Sandbox(autoescape=True, finalize=_finalize)


def compile_template(title: str | None, body: str | None) -> Template:
    """Check both parts now (syntax, unknown filters and tests, size), so that a configuration check can report them."""
    for part, source in (("title", title), ("body", body)):
        if source is None:
            continue
        try:
            _within_limits(source)
            _compiled(source, False)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{part} template, line {exc.lineno}: {exc.message}") from exc
        except (RecursionError, SyntaxError) as exc:  # past what the checks above foresee: Python's own limits
            raise TemplateError(f"{part} template: nested too deeply to compile") from exc
    return Template(title, body)


def _within_limits(source: str) -> None:
    """TemplateSyntaxError for a template Jinja cannot be trusted to compile quickly, or at all.

    Jinja's parser and compiler recurse into nested blocks and along long expressions, and Python
    compiles what they make: 21 nested `for`s are "too many statically nested blocks", a few hundred
    `(` a RecursionError, and a long filter chain takes seconds. A message template needs none of that.
    """
    if len(source) > MAX_SOURCE:
        raise jinja2.TemplateSyntaxError(f"longer than {MAX_SOURCE} characters", 1)
    blocks = 0
    tag: list[tuple[str, str]] = []  # the tokens of the tag being read
    brackets = 0
    for lineno, kind, value in _PLAIN.lex(source):
        if kind in ("block_begin", "variable_begin"):
            tag, brackets = [], 0
        elif kind == "block_end" and tag and tag[0][0] == "name":
            first = tag[0][1]
            if first.startswith("end"):
                blocks -= 1
            elif first in _BLOCKS or (first == "set" and ("operator", "=") not in tag):  # `{% set x %}…{% endset %}`
                blocks += 1
                if blocks > MAX_NESTING:
                    raise jinja2.TemplateSyntaxError(f"blocks nested more than {MAX_NESTING} deep", lineno)
        elif kind not in ("whitespace", "data", "variable_end", "block_end"):
            tag.append((kind, value))
            if len(tag) > MAX_TAG:
                raise jinja2.TemplateSyntaxError(f"a tag of more than {MAX_TAG} parts; split it up", lineno)
            brackets += (kind == "operator" and value in "([{") - (kind == "operator" and value in ")]}")
            if brackets > MAX_NESTING:
                raise jinja2.TemplateSyntaxError(f"brackets nested more than {MAX_NESTING} deep", lineno)


def apply(template: Template, message: Message, fields: dict[str, object]) -> Message:
    """`message` with its templated parts replaced; `fields` are the alert's facts (see `FIELDS`)."""
    if template.title is None and template.body is None:
        return message
    context = {
        **fields,
        "title": message.title,
        "text": message.text,
        "markdown": message.markdown,
        "html": message.html,
    }
    part = "title"
    try:
        title = ""
        if template.title is not None:
            # One line: it becomes a mail subject or a chat heading, whatever newlines the template left in.
            title = " ".join(_render(template.title, context, autoescape=False, limit=MAX_TITLE).split())
        part = "body"
        body = html_body = ""
        if template.body is not None:
            body = _render(template.body, context, autoescape=False, limit=MAX_BODY)
            # The default HTML is already safe: wrapping it must not escape it a second time.
            html_context = {**context, "html": Markup(message.html)}
            html_body = _render(template.body, html_context, autoescape=True, limit=MAX_BODY)
    except Exception as exc:  # whatever a template does, the alert still goes out
        reason = f"{part} template{_line(exc)}: {type(exc).__name__}: {exc}"[:MAX_REASON]
        log.warning("message template failed, sending the default message: %s", reason)
        return _with_note(message, f"(template error: {reason}; the default message is shown)")
    # A part that renders to nothing (say, only unknown fields) keeps the default rather than send a blank.
    if not body.strip():
        return replace(message, title=title or message.title)
    return Message(title or message.title, body, body, html_body)


def fields_help() -> str:
    """`FIELDS` as a Markdown table, for the README."""
    rows = [f"| `{name}` | {about} |" for name, about in FIELDS.items()]
    return "\n".join(["| Field | Meaning |", "| --- | --- |", *rows])


@lru_cache(maxsize=256)
def _compiled(source: str, autoescape: bool) -> jinja2.Template:
    return (_HTML if autoescape else _PLAIN).from_string(source)


def _render(source: str, context: dict[str, object], *, autoescape: bool, limit: int) -> str:
    """The rendered template, cut at `limit` characters; rendered piece by piece, so a runaway loop stops there."""
    out: list[str] = []
    size = 0
    for chunk in _compiled(source, autoescape).generate(context):
        out.append(chunk)
        size += len(chunk)
        if size > limit:
            return "".join(out)[: limit - len(TRUNCATED)] + TRUNCATED
    return "".join(out)


def _line(exc: Exception) -> str:
    """', line 3' where the template went wrong, if known (Jinja puts template lines in the traceback)."""
    if isinstance(exc, jinja2.TemplateSyntaxError):  # a Template made without compile_template
        return f", line {exc.lineno}"
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == "<template>"]
    return f", line {lines[-1]}" if lines else ""


def _with_note(message: Message, note: str) -> Message:
    # In every format, since a channel receives only one of them.
    return Message(
        message.title,
        f"{message.text}\n\n{note}",
        f"{message.markdown}\n\n{_md(note)}",
        f"{message.html}\n<p>{html.escape(note)}</p>",
    )
