"""Real peers on 127.0.0.1: a webhook (Apprise json://), an SMTP server, a server that never answers,
and systemd's side of the notify protocol."""

from __future__ import annotations

import email
import json
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message as Email
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import wait_for


class Webhook:
    """Collects JSON posts; answers `fail_next` of them with 503 first."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    failing = outer.fail_next > 0
                    if failing:
                        outer.fail_next -= 1
                    else:
                        outer.posts.append(json.loads(body))
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The Apprise URL that posts here."""
        return f"json://127.0.0.1:{self._server.server_port}/hook"

    def titles(self) -> list[str]:
        with self._lock:
            return [p["title"] for p in self.posts]

    def __enter__(self) -> Webhook:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) keeping every login and message it receives."""

    port: int
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    mails: list[Email] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mails.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 OK"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password))
        return AuthResult(success=True)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    box = Mailbox(closed_port())
    # Plain SMTP with AUTH allowed without TLS: what apprise's mode=insecure speaks.
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mailto_url(port: int, password: str) -> str:
    return (
        f"mailto://user:{password}@127.0.0.1:{port}"
        "?smtp=127.0.0.1&mode=insecure&to=ops@example.com&from=alertd@example.com&cto=2&rto=2"
    )


def closed_port() -> int:
    """A port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Silent:
    """A TCP server that accepts connections and never says a word: a hung provider or mail server."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections.append(conn)

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        for conn in self.connections:
            conn.close()


class NotifySocket:
    """What systemd listens on: a unix datagram socket for `NOTIFY_SOCKET`, keeping every message
    as (monotonic time, {KEY: value})."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="alertd-notify-")  # short: unix socket paths max out at 107 bytes
        self.path = os.path.join(self._dir, "notify")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self.path)
        self.messages: list[tuple[float, dict[str, str]]] = []
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            try:
                data = self._socket.recv(4096)
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines())
            self.messages.append((time.monotonic(), fields))

    def having(self, key: str, value: str | None = None, since: float = 0.0) -> list[dict[str, str]]:
        return [f for t, f in self.messages if t >= since and key in f and (value is None or f[key] == value)]

    def wait_for(self, condition: Callable[[], object], timeout: float = 20) -> None:
        wait_for(condition, timeout, lambda: f"; messages so far: {[f for _, f in self.messages][-10:]}")

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self._socket.close()
        os.unlink(self.path)
        os.rmdir(self._dir)
