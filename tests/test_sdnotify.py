"""The notify protocol's messages, and the one-line STATUS the daemon gives systemd."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from alertd.daemon import status_line
from alertd.model import BudgetStatus
from alertd.sdnotify import Notifier

NOW = datetime(2026, 11, 21, 11, 2, tzinfo=UTC)


def budget(percent: int) -> BudgetStatus:
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    return BudgetStatus("b", "USD", 100_000_000, percent * 1_000_000, "month", start, end, NOW, None, 0, (), (), ())


@pytest.mark.parametrize(
    ("errors", "percents", "channels", "next_poll", "expected"),
    [
        ({}, [], [], None, "0 sources ok"),
        ({"nf": None}, [], [], NOW, "1 source ok, next poll 12:02"),
        (
            {"nf": None, "fr": None, "csv": None},
            [81, 80, 79],
            [],
            NOW,
            "3 sources ok, 2 of 3 budgets over 80%, next poll 12:02",
        ),
        (
            {"nf": "HTTP 503", "fr": None, "aws": "timed out"},
            [120],
            ["mail", "pager"],
            NOW,
            "1 source ok, 2 failing (aws, nf), 1 of 1 budget over 80%, delivery failing to mail, pager, next poll 12:02",
        ),
    ],
)
def test_status_line(
    errors: dict[str, str | None], percents: list[int], channels: list[str], next_poll: datetime | None, expected: str
) -> None:
    statuses = [budget(p) for p in percents]
    assert status_line(errors, statuses, channels, next_poll, ZoneInfo("Europe/Berlin")) == expected


def test_messages_reach_an_abstract_socket() -> None:
    name = f"alertd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        notifier.ready("running")
        notifier.reloading()
        notifier.watchdog()
        notifier.stopping()
        got = [listener.recv(4096).decode() for _ in range(4)]
    assert got[0] == "READY=1\nSTATUS=running"
    assert got[1].startswith("RELOADING=1\nMONOTONIC_USEC=") and got[1].split("=")[-1].isdigit()
    assert got[2:] == ["WATCHDOG=1", "STOPPING=1"]


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "4000000"}, 4.0),
        ({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}, 4.0),
        ({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}, None),  # inherited from a parent: not ours
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    assert Notifier(env).watchdog_interval == interval


def test_without_systemd_nothing_is_sent_and_a_lost_message_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    Notifier({}).ready("x")  # no NOTIFY_SOCKET: a no-op
    Notifier({"NOTIFY_SOCKET": "/nonexistent/alertd.sock"}).ready("x")
    assert "could not notify systemd (READY=1)" in caplog.text
