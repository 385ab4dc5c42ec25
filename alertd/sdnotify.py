"""The systemd notify protocol (sd_notify(3)): `KEY=value` lines in a datagram to `$NOTIFY_SOCKET`.

Without the variable (not started by systemd) every call is a no-op. A lost datagram must never
stop the daemon, so send errors are logged, not raised.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger("alertd.sdnotify")


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address  # "@": Linux abstract socket
        self.watchdog_interval = _watchdog_interval(env)
        self._socket: socket.socket | None = None

    def ready(self, status: str | None = None) -> None:
        self._send("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> None:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000  # systemd matches it to the reload job
        self._send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def status(self, text: str) -> None:
        self._send(f"STATUS={text}")

    def watchdog(self) -> None:
        self._send("WATCHDOG=1")

    def _send(self, *fields: str) -> None:
        if not self.address:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._socket.sendto("\n".join(fields).encode(), self.address)
        except OSError as exc:
            log.warning("could not notify systemd (%s): %s", fields[0], exc)


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Seconds within which systemd wants a WATCHDOG=1, if it watches this process."""
    usec, pid = env.get("WATCHDOG_USEC", ""), env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (the variable was inherited)
    return int(usec) / 1_000_000
