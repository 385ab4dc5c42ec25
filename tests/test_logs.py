"""Log lines mask secrets, in tracebacks too, in every format."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alertd import logs
from alertd.redact import register

CANARY = "tok-canary-5117-secret"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_logged_traceback_never_shows_a_secret(fmt: str, capsys: pytest.CaptureFixture[str], restore_logging) -> None:
    register(CANARY)
    logs.configure("info", fmt)
    try:
        raise RuntimeError(f"provider said no to {CANARY}")
    except RuntimeError:
        logging.getLogger("alertd").exception("fetch failed for %s", CANARY)
    err = capsys.readouterr().err
    assert CANARY not in err
    text = json.loads(err)["msg"] + json.loads(err)["exception"] if fmt == "json" else err
    assert "fetch failed for ***" in text and "RuntimeError: provider said no to ***" in text


def lines(err: str, fmt: str) -> list[str]:
    """The messages of the log lines in `err`, without time and level."""
    if fmt == "json":
        return [json.loads(line)["msg"] for line in err.splitlines()]
    return [line.split(" ", 3)[3] for line in err.splitlines()]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_apprise_lines_are_scrubbed_of_urls_and_its_chatter_left_out(
    fmt: str, capsys: pytest.CaptureFixture[str], restore_logging
) -> None:
    register("apprise-canary-9130")
    logs.configure("info", fmt)
    apprise = logging.getLogger("apprise")
    apprise.info("Sent JSON POST notification.")  # repeats our "delivered": not shown at info
    apprise.error("Unparseable URL slak://T9CANARY1/B9CANARY2/c9canary")  # a token where the host goes
    apprise.warning("Socket Exception: Max retries exceeded with url: /hooks/T0K3NCANARY?k=v9canary")
    apprise.warning("Failed for https://hooks.example.com/services/P4THCANARY, told apprise-canary-9130")
    logging.getLogger("alertd.cycle").warning("poll failed: https://api.example.com/v1/usage?page=2")
    assert lines(capsys.readouterr().err, fmt)[-4:] == [
        "Unparseable URL slak://***/***/***",
        "Socket Exception: Max retries exceeded with url: /***/***?k=***",
        "Failed for https://hooks.example.com/***/***, told ***",
        "poll failed: https://api.example.com/v1/usage?page=2",  # ours: only registered secrets are masked
    ]


def test_at_debug_apprise_says_all_it_says_scrubbed(capsys: pytest.CaptureFixture[str], restore_logging) -> None:
    logs.configure("debug", "text")
    logging.getLogger("apprise").debug("Loaded JSON URL: json://u:****@127.0.0.1/h/T...N?method=POST")
    logging.getLogger("urllib3").debug('http://127.0.0.1:80 "POST /h/T0K3N HTTP/1.1" 200 0')  # below its level
    assert capsys.readouterr().err.endswith(" DEBUG Loaded JSON URL: json://***:***@***/***/***?method=***\n")


def test_json_log_time_is_iso8601_with_offset(capsys: pytest.CaptureFixture[str], restore_logging) -> None:
    logs.configure("info", "json")
    before = datetime.now(UTC)
    logging.getLogger("alertd").info("hello")
    raw = json.loads(capsys.readouterr().err)["time"]
    at = datetime.fromisoformat(raw)
    assert at.tzinfo is not None and at.utcoffset() == timedelta(0) and raw.endswith("+00:00")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", raw)  # milliseconds, no more
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
