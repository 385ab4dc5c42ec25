"""Delivery through Apprise to real receivers on 127.0.0.1: an HTTP server, an SMTP server, stdout."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from alertd.notify.deliver import Result, deliver, inspect, send_to_channel
from alertd.notify.render import Message, render
from alertd.redact import redact
from tests.receivers import Mailbox, closed_port, mailto_url, smtp_server
from tests.test_notify_render import BERLIN, sample_alert

HTTP_CANARY = "canary-pass-123"
SMTP_CANARY = "canary-smtp-pw"
FAST = "cto=2&rto=2"  # a dead receiver must fail fast, not after Apprise's default socket timeouts


def mask(url: str) -> str:
    return inspect(url)[0]


@pytest.fixture
def message() -> Message:
    return render(sample_alert(), BERLIN)


@pytest.fixture
def apprise_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything Apprise logs, down to DEBUG, for checking that no secret gets there."""
    caplog.set_level(logging.DEBUG, logger="apprise")
    return caplog


def json_url(port: int, query: str = FAST) -> str:
    return f"json://user:{HTTP_CANARY}@127.0.0.1:{port}/hook?{query}"


def assert_no_secrets(*texts: str | None) -> None:
    for text in texts:
        assert HTTP_CANARY not in (text or "") and SMTP_CANARY not in (text or "")


# --- json:// ----------------------------------------------------------------------------------


def test_json_receiver_gets_title_and_plain_text(
    httpserver: HTTPServer, message: Message, apprise_logs: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert deliver(json_url(httpserver.port), message) == Result(True, None)
    request, _ = httpserver.log[0]
    payload = json.loads(request.data)
    # Apprise's json plugin takes text, HTML or Markdown and defaults to text: it gets our plain rendering.
    assert payload["title"] == message.title
    assert payload["message"] == message.text
    assert "$1,602.00 of $2,000.00 (80.1%)" in payload["message"]
    assert request.authorization.password == HTTP_CANARY  # the secret was really used...
    assert_no_secrets(apprise_logs.text, redact(apprise_logs.text))  # ...and never logged


def test_format_option_on_the_url_picks_the_rendering(httpserver: HTTPServer, message: Message) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    assert deliver(json_url(httpserver.port, "format=markdown"), message).ok
    assert deliver(json_url(httpserver.port, "format=html"), message).ok
    sent = [json.loads(request.data)["message"] for request, _ in httpserver.log]
    assert sent == [message.markdown, message.html]


def test_receiver_answering_500(
    httpserver: HTTPServer, message: Message, apprise_logs: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("boom", status=500)
    result = deliver(json_url(httpserver.port), message)
    assert result == Result(False, "Failed to send JSON POST notification: Internal server error., error=500.")
    assert len(httpserver.log) == 1  # no retries here: the outbox owns them
    assert_no_secrets(apprise_logs.text, redact(apprise_logs.text))


def test_channel_that_is_down(message: Message, apprise_logs: pytest.LogCaptureFixture) -> None:
    started = time.monotonic()
    result = deliver(json_url(closed_port()), message)
    assert time.monotonic() - started < 3
    assert result == Result(False, "A Connection error occurred sending JSON notification to 127.0.0.1.")
    assert_no_secrets(result.error, apprise_logs.text, redact(apprise_logs.text))


def test_receiver_that_never_answers(message: Message) -> None:
    with socket.socket() as listener:  # accepts connections (the kernel does) but never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        result = deliver(json_url(listener.getsockname()[1], "rto=30"), message, timeout=1)
    assert time.monotonic() - started < 3
    assert result == Result(False, "no answer within 1 s")


# --- mailto:// --------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def test_email_arrives_as_html(mailbox: Mailbox, message: Message, apprise_logs: pytest.LogCaptureFixture) -> None:
    assert deliver(mailto_url(mailbox.port, SMTP_CANARY), message) == Result(True, None)
    assert mailbox.logins == [(b"user", SMTP_CANARY.encode())]
    [mail] = mailbox.mails
    assert mail["Subject"] == message.title
    assert mail["To"] == "ops@example.com"
    parts = {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in mail.walk()
        if not part.is_multipart()
    }
    html = parts["text/html"].replace("\r\n", "\n")  # SMTP sends CRLF line ends
    assert html == message.html
    for figure in ("$1,602.00 of $2,000.00", "<strong>80.1%</strong>", "November 2026", "&lt;script&gt;"):
        assert figure in html
    assert "$1,602.00 of $2,000.00" in parts["text/plain"]  # Apprise's own conversion, for text-only readers
    assert_no_secrets(apprise_logs.text, redact(apprise_logs.text))


def test_email_server_down(message: Message) -> None:
    result = deliver(mailto_url(closed_port(), SMTP_CANARY), message)
    assert result == Result(False, 'Connection error while submitting email to "127.0.0.1"')


# --- console://, invalid URLs, channels -----------------------------------------------------------


def test_console_prints_the_plain_text(capsys: pytest.CaptureFixture[str], message: Message) -> None:
    assert deliver("console://", message) == Result(True, None)
    assert capsys.readouterr().out == f"{message.title}\n{message.text}\n"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"nosuchscheme://user:{HTTP_CANARY}@host/x", "nosuchscheme://***"),
        ("msteams://abc/def", "msteams://***"),  # a known scheme with unusable arguments
        ("", ""),
    ],
)
def test_invalid_url(url: str, shown: str, message: Message) -> None:
    assert deliver(url, message) == Result(False, f"not a valid Apprise URL: {shown}")


def test_one_broken_url_does_not_hide_the_others(httpserver: HTTPServer, message: Message) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    down, up = json_url(closed_port()), json_url(httpserver.port)
    results = send_to_channel([down, "nosuchscheme://x", up], message)
    assert [(shown, result.ok) for shown, result in results] == [
        (mask(down), False),
        ("nosuchscheme://***", False),
        (mask(up), True),
    ]
    assert len(httpserver.log) == 1
    assert_no_secrets(*(shown for shown, _ in results), *(result.error for _, result in results))


# Each case has canaries of its own: the redaction registry is process-wide, and an earlier test
# registering the same secret would make the check below pass for the wrong reason.
@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        (
            "json://user:canary-mask-json@127.0.0.1:8080/hook?cto=2",
            "json://***:***@127.0.0.1:8080/***?cto=2",
            ["canary-mask-json"],
        ),
        (
            "json://127.0.0.1:8080/hooks/canary-mask-path?-X-Api-Key=canary-mask-minus&+X-Token=canary-mask-plus",
            "json://127.0.0.1:8080/***/***?-X-Api-Key=***&+X-Token=***",
            ["canary-mask-path", "canary-mask-minus", "canary-mask-plus"],
        ),
        (  # an option Apprise does not have, a payload extra, and harmless values of its own options
            "json://127.0.0.1/?token=canarymaskquery&:key=canary-mask-colon&format=markdown&verify=no&cto=2.5",
            "json://127.0.0.1/?token=***&:key=***&format=markdown&verify=no&cto=2.5",
            ["canarymaskquery", "canary-mask-colon"],
        ),
        (  # an option of Apprise's given a value that is not one of its choices: shown as a secret
            "json://127.0.0.1/?overflow=canarymaskover&cto=x",
            "json://127.0.0.1/?overflow=***&cto=***",
            [],
        ),
        (
            "mailto://user:canary-mask-smtp@127.0.0.1:2525?smtp=127.0.0.1&mode=insecure&to=ops@example.com&from=alertd@example.com",
            "mailto://***:***@127.0.0.1:2525?smtp=***&mode=insecure&to=***&from=***",
            ["canary-mask-smtp"],
        ),
        (
            "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/canaryslack7FQ",
            "https://hooks.slack.com/***/***/***/***",
            ["T1JJ3T3L2", "A1BRTD4JD", "canaryslack7FQ"],
        ),
        (  # the host is a token here: masked too
            "slack://T2CANARY9/B2CANARY9/canaryslackC0",
            "slack://***/***/***",
            ["T2CANARY9", "B2CANARY9", "canaryslackC0"],
        ),
        (
            "tgram://123456789:canaryTelegramBotToken42/-100123",
            "tgram://***/***",
            ["123456789:canaryTelegramBotToken42"],
        ),
        (  # a scheme Apprise does not know: nothing after it is shown
            "nosuchscheme://me:canary-mask-guess@host/Canary0123456789abcdef/short-path",
            "nosuchscheme://***",
            ["canary-mask-guess", "Canary0123456789abcdef"],
        ),
        ("slak://T3CANARY9/B3CANARY9/canaryslak", "slak://***", ["T3CANARY9", "B3CANARY9", "canaryslak"]),
        ("console://", "console://", []),
    ],
)
def test_mask(url: str, shown: str, secrets: list[str]) -> None:
    assert all(secret in redact(url) for secret in secrets)  # not known as secrets before...
    assert mask(url) == shown  # (no first or last character of anything either, as Apprise's "T...2")
    logged = redact(f"POST {url} failed")  # ...and masked wherever they would be logged after
    assert not [secret for secret in secrets if secret in logged]
