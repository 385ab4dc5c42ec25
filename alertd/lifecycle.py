"""The process's liveness and its stop request, shared by the daemon loop and what it calls.

A signal is process-wide, so these are too. The loop beats as it makes progress, and before a
wait that has a timeout it says how long it may be quiet; the watchdog pinger reads that, so a
slow provider within its timeout is healthy and a loop stuck anywhere else stops the pings. A
stop request cuts short only what is safe to cut: waiting on a provider at once, a delivery
attempt after a grace period, a database write never.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

GRACE = 6.0  # seconds a delivery attempt may go on after a stop request (the unit promises exit in 10 s)
TICK = 1.0  # the longest a sleep goes without a beat

_last_beat = time.monotonic()
_quiet_until = 0.0  # the loop may go without a beat until then: it waits on something with a timeout
_stop_requested = False
_section: bool | None = None  # inside a cuttable section: whether a stop cuts it at once (else after GRACE)


class Stopped(BaseException):
    """Raised where a stop request cuts a step short. A BaseException, like KeyboardInterrupt, so that
    no `except Exception` on the way mistakes it for a failure of the step."""


def beat(allow: float = 0.0) -> None:
    """The loop made progress; it may now be quiet for `allow` seconds (the timeout of what comes)."""
    global _last_beat, _quiet_until
    _last_beat = time.monotonic()
    _quiet_until = _last_beat + allow


def since_beat() -> float:
    return time.monotonic() - _last_beat


def healthy(interval: float) -> bool:
    """A beat within `interval`, or a wait that is still within its own timeout."""
    now = time.monotonic()
    return now - _last_beat < interval or now < _quiet_until


def stop_requested() -> bool:
    return _stop_requested


def request_stop() -> None:
    """Called from the signal handler (on the main thread, like the code it interrupts)."""
    global _stop_requested
    _stop_requested = True
    if _section:
        raise Stopped
    signal.signal(signal.SIGALRM, _cut_late)
    signal.setitimer(signal.ITIMER_REAL, GRACE)


def _cut_late(signum: int, frame: object) -> None:
    if _section is not None:
        raise Stopped


@contextmanager
def cuttable(grace: bool = False) -> Iterator[None]:
    """A step that a stop request may cut short: at once, or with `grace` only GRACE seconds after it.
    Only for steps that write nothing: the cut leaves what they did unrecorded, to be done again."""
    global _section
    previous, _section = _section, not grace
    try:
        if _stop_requested and not grace:
            raise Stopped
        yield
    finally:
        _section = previous


def sleep(seconds: float) -> None:
    """`time.sleep` that keeps beating: waiting on a provider's Retry-After is not hanging."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        beat()
        time.sleep(min(left, TICK))
