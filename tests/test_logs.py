"""Log lines mask secrets, in tracebacks too, in every format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

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
