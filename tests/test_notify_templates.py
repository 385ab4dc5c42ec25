"""Users' message templates: what they can say, what they cannot reach, and that an alert survives a broken one."""

from __future__ import annotations

import pytest

from alertd.evaluate.enqueue import facts
from alertd.model import Alert, Message
from alertd.notify.render import render
from alertd.notify.templates import (
    FIELDS,
    MAX_BODY,
    MAX_TITLE,
    TRUNCATED,
    Template,
    TemplateError,
    apply,
    compile_template,
    fields_help,
)
from tests.test_notify_render import BERLIN, anomaly_alert, sample_alert

DEFAULT_FIELDS = ("title", "text", "markdown", "html")


def templated(alert: Alert, title: str | None = None, body: str | None = None) -> tuple[Message, Message]:
    """(default message, templated message) for `alert`."""
    default = render(alert, BERLIN)
    return default, apply(compile_template(title, body), default, facts(alert))


@pytest.mark.parametrize(
    ("alert", "title", "expected"),
    [
        (sample_alert(), "{{ severity|upper }}: {{ rule }} at {{ percent }}%", "WARNING: monthly-cloud at 80.1%"),
        (
            sample_alert(),
            "{{ title }} [team-a]",
            "[alertd] monthly-cloud: crossed 80% of budget ($1,602.00 of $2,000.00) [team-a]",
        ),
        (
            sample_alert(),
            "{{ rule }}\n  {{ kind }}\n",
            "monthly-cloud budget",
        ),  # one line, whatever the template's newlines
        (
            sample_alert(forecast=None),
            "{{ rule }} projected {{ projected }}.",
            "monthly-cloud projected .",
        ),  # None reads as nothing
        (
            anomaly_alert(),
            "{{ reason }} on {{ series.source }}/{{ series.line_item }}: {{ value }} vs {{ expected }}",
            "spike on northflank/paas.gpu: 12.40 vs 3.10",
        ),
    ],
)
def test_title_template(alert: Alert, title: str, expected: str) -> None:
    default, message = templated(alert, title=title)
    assert message == Message(expected, default.text, default.markdown, default.html)


def test_body_template_wraps_the_default() -> None:
    default, message = templated(sample_alert(), body="Heads up, {{ rule }} ({{ currency }}):\n\n{{ text }}")
    wrapped = f"Heads up, monthly-cloud (USD):\n\n{default.text}"
    assert message.title == default.title
    assert message.text == message.markdown == wrapped
    # HTML gets the same template, escaped: the default text's "<script>" line item stays inert.
    assert message.html.startswith("Heads up, monthly-cloud (USD):\n\n")
    assert "&lt;script&gt;" in message.html and "<script>" not in message.html


def test_html_body_wraps_the_default_html_without_escaping_it_twice() -> None:
    default, message = templated(sample_alert(), body="<p>Team A</p>{{ html }}")
    assert message.html == f"<p>Team A</p>{default.html}"
    assert message.text == f"<p>Team A</p>{default.html}"  # as written: the template chose HTML


@pytest.mark.parametrize(
    ("rule", "fmt", "expected"),
    [
        ("<script>alert(1)</script>", "html", "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"),
        ("<script>alert(1)</script>", "text", "<b><script>alert(1)</script></b>"),
        ("<script>alert(1)</script>", "markdown", "<b><script>alert(1)</script></b>"),
        ('a & "b"', "html", "<b>a &amp; &#34;b&#34;</b>"),
    ],
)
def test_fields_are_escaped_in_html_only(rule: str, fmt: str, expected: str) -> None:
    alert = sample_alert()
    message = apply(compile_template(None, "<b>{{ rule }}</b>"), render(alert, BERLIN), {**facts(alert), "rule": rule})
    assert getattr(message, fmt) == expected


@pytest.mark.parametrize(
    ("title", "body", "error"),
    [
        ("{{ rule }", None, "title template, line 1: unexpected '}'"),
        (None, "fine\n{% if %}", "body template, line 2: Expected an expression, got 'end of statement block'"),
        (None, "a\nb\n{% if rule %}open", "body template, line 3: Unexpected end of template."),
        (None, "a\n\n{{ rule|no_such_filter }}", "body template, line 3: No filter named 'no_such_filter'."),
        ("ok", "{{ ok }}\n{% endfor %}", "body template, line 2: Encountered unknown tag 'endfor'."),
    ],
)
def test_compile_reports_what_and_where(title: str | None, body: str | None, error: str) -> None:
    with pytest.raises(TemplateError) as raised:
        compile_template(title, body)
    assert str(raised.value).startswith(error)


@pytest.mark.parametrize(
    ("title", "body", "reason"),
    [
        (
            None,
            "{{ ''.__class__.__mro__ }}",
            "body template, line 1: SecurityError: access to attribute '__class__' of 'str' object is unsafe",
        ),
        (
            None,
            "x\n{{ cycler.__init__.__globals__ }}",
            "body template, line 2: SecurityError: access to attribute '__init__' of 'type' object is unsafe",
        ),
        (
            None,
            "{{ ''.__class__ }}",
            "body template, line 1: SecurityError: access to attribute '__class__' of 'str' object is unsafe",
        ),
        (
            None,
            "{{ series.__class__.__subclasses__() }}",
            "body template, line 1: SecurityError: access to attribute '__class__' of 'Undefined' object is unsafe",
        ),
        (
            None,
            "{{ rule.format.__globals__ }}",
            "body template, line 1: SecurityError: access to attribute '__globals__' of 'function' object is unsafe",
        ),
        (
            None,
            "{{ '{0.__class__.__mro__}'.format(rule) }}",
            "body template, line 1: SecurityError: access to attribute '__class__' of 'str' object is unsafe",
        ),
        (
            None,
            "{{ rule|attr('__class__') }}",
            "body template, line 1: SecurityError: access to attribute '__class__' of 'str' object is unsafe",
        ),
        (
            None,
            "{% set x = [] %}{{ x.append(1) }}",
            "body template, line 1: SecurityError: access to attribute 'append' of 'list' object is unsafe",
        ),
        (
            "{{ self.__init__.__globals__ }}",
            "fine",
            "title template, line 1: SecurityError: access to attribute '__init__' of 'TemplateReference' object is unsafe",
        ),
    ],
)
def test_sandbox_escapes_leak_nothing_and_the_default_goes_out(title: str | None, body: str, reason: str) -> None:
    default, message = templated(sample_alert(), title, body)
    note = f"(template error: {reason}; the default message is shown)"
    assert message == Message(
        default.title,
        f"{default.text}\n\n{note}",
        f"{default.markdown}\n\n{note.replace('_', chr(92) + '_')}",  # Markdown-escaped, like every default text
        f"{default.html}\n<p>{note.replace(chr(39), '&#x27;')}</p>",
    )
    assert "<class" not in message.text and "__builtins__" not in message.text


@pytest.mark.parametrize(
    ("title", "body", "reason"),
    [
        (None, "a\n{{ 1 / 0 }}", "body template, line 2: ZeroDivisionError: division by zero"),
        (None, "{{ no_such_field.attr }}", "body template, line 1: UndefinedError: 'no_such_field' is undefined"),
        (None, "{{ rule + 1 }}", 'body template, line 1: TypeError: can only concatenate str (not "int") to str'),
        (None, "{% for i in range(10**6) %}{% endfor %}", "body template, line 1: OverflowError: Range too big."),
        ("{{ 'x' * 10 }}{{ nope() }}", "{{ text }}", "title template, line 1: UndefinedError: 'nope' is undefined"),
        (
            None,
            "{{ x }}\n\n\n{{ range(1, 2, 0)|list }}",
            "body template, line 4: ValueError: range() arg 3 must not be zero",
        ),
    ],
)
def test_a_runtime_error_falls_back_to_the_default_with_a_note(title: str | None, body: str, reason: str) -> None:
    default, message = templated(sample_alert(), title, body)
    assert message.title == default.title
    assert message.text.startswith(f"{default.text}\n\n(template error: {reason}")
    assert message.text.endswith("; the default message is shown)")
    assert message.markdown.startswith(default.markdown) and "template error" in message.markdown
    assert message.html.startswith(default.html) and "template error" in message.html


def test_a_template_made_without_compiling_reports_syntax_errors_at_render() -> None:
    default = render(sample_alert(), BERLIN)
    message = apply(Template(body="ok\n{{ rule }"), default, facts(sample_alert()))
    assert message.text.startswith(
        f"{default.text}\n\n(template error: body template, line 2: TemplateSyntaxError: unexpected '}}'"
    )


@pytest.mark.parametrize(
    ("alert", "body", "expected"),
    [
        (sample_alert(), "[{{ no_such_field }}]", "[]"),
        (sample_alert(), "[{{ series }}{{ reason }}]", "[]"),  # anomaly fields on a budget alert
        (sample_alert(forecast=None), "[{{ projected }}|{{ run_out }}]", "[|]"),
        (sample_alert(), "[{% if run_out %}runs out {{ run_out }}{% endif %}]", "[runs out 2026-11-26T14:00:00+00:00]"),
        (anomaly_alert(source=None), "[{{ series.source }}|{{ series.line_item }}|{{ threshold }}]", "[|paas.gpu|]"),
    ],
)
def test_undefined_and_absent_fields_render_empty(alert: Alert, body: str, expected: str) -> None:
    _, message = templated(alert, body=body)
    assert message.text == message.markdown == message.html == expected


@pytest.mark.parametrize(("title", "body"), [("{{ no_such_field }}", "{{ no_such_field }}"), ("  ", "\n  \n")])
def test_a_template_that_renders_blank_keeps_the_default(title: str, body: str) -> None:
    default, message = templated(sample_alert(), title, body)
    assert message == default


@pytest.mark.parametrize(
    "body",
    [
        "{% for i in range(100000) %}0123456789{% endfor %}",
        "{{ 'x' * 50000 }}",
        "{% for i in range(10000) %}{{ text }}{% endfor %}",
    ],
)
def test_body_output_is_capped(body: str) -> None:
    _, message = templated(sample_alert(), body=body)
    for text in (message.text, message.markdown, message.html):
        assert len(text) == MAX_BODY and text.endswith(TRUNCATED)


def test_title_output_is_capped() -> None:
    _, message = templated(sample_alert(), title="{% for i in range(1000) %}{{ rule }} {% endfor %}")
    assert len(message.title) == MAX_TITLE and message.title.endswith(TRUNCATED)


def test_no_template_changes_nothing() -> None:
    default, message = templated(sample_alert())
    assert message is default


@pytest.mark.parametrize(
    "alert", [sample_alert(), sample_alert(forecast=None), anomaly_alert(), anomaly_alert(resolved=True)]
)
def test_fields_document_every_fact(alert: Alert) -> None:
    assert set(facts(alert)) | set(DEFAULT_FIELDS) <= set(FIELDS)


def test_fields_document_nothing_that_is_not_there() -> None:
    public = "https://costs.example.com/"
    available = set(facts(sample_alert(), public)) | set(facts(anomaly_alert(), public)) | set(DEFAULT_FIELDS)
    assert set(FIELDS) == available


def test_fields_help_is_a_markdown_table_of_every_field() -> None:
    lines = fields_help().splitlines()
    assert lines[:2] == ["| Field | Meaning |", "| --- | --- |"]
    assert [line.split(" | ")[0] for line in lines[2:]] == [f"| `{name}`" for name in FIELDS]
    assert all(line.endswith(" |") and line.count(" | ") == 1 for line in lines[2:])
