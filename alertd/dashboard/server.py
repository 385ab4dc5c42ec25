"""The dashboard over HTTP: pages made one at a time from one read-only store kept for the
server's life (its sums of recent hours are then read again only where the data changed, as the
daemon's are), the configured auth checked in constant time, and headers that let a page load
nothing but itself. Its one write, feedback on an anomaly alert, is `writes`'."""

from __future__ import annotations

import base64
import hmac
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

from alertd.config import Config
from alertd.dashboard import pages, writes
from alertd.redact import redact
from alertd.store import Store, StoreError

log = logging.getLogger(__name__)
STYLE = Path(__file__).with_name("style.css").read_bytes()
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none';"
    " form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def listen(config: Callable[[], Config], database: Path, host: str, port: int) -> ThreadingHTTPServer:
    """The dashboard of the rules `config()` gives (the daemon's, after each reload) bound to
    host:port (OSError when it cannot be), not serving yet."""
    kind = _ServerV6 if ":" in host else ThreadingHTTPServer  # web.listen allows [::1]:8080
    server = kind((host, port), _handler(config, database, writes.Gate.of(config().web, host)))
    server.daemon_threads = True
    return server


class _ServerV6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in str(host) else host}:{port}/"


def alongside(config: Callable[[], Config], database: Path) -> ThreadingHTTPServer:
    """The daemon's dashboard (`web:` set; a change takes a restart), served from a thread of its
    own until the process ends."""
    web = config().web
    assert web is not None
    server = listen(config, database, *web.address)
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    log.info("dashboard at %s", url_of(server))
    return server


class _Reader:
    """The server's one read-only store, lent to one page at a time; opened again when the zone
    changes (a reload) or after it failed (the database went, or was migrated)."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.lock = threading.Lock()
        self.store: Store | None = None

    @contextmanager
    def lend(self, tz: ZoneInfo) -> Iterator[Store]:
        with self.lock:
            if self.store is not None and self.store.rollup.tz.key != tz.key:
                self._drop()
            if self.store is None:
                self.store = Store(self.database, tz, read_only=True)
            try:
                yield self.store
            except StoreError:
                self._drop()
                raise

    def _drop(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def _handler(rules: Callable[[], Config], database: Path, gate: writes.Gate) -> type[BaseHTTPRequestHandler]:
    reader = _Reader(database)
    web = rules().web
    auth = web.auth if web else None

    def allowed(header: str | None) -> bool:
        if auth is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        if auth.token is not None:
            expected, offered = auth.token.get_secret_value(), given if scheme.lower() == "bearer" else ""
        else:
            assert auth.password is not None
            try:
                decoded = base64.b64decode(given, validate=True).decode() if scheme.lower() == "basic" else ""
            except ValueError:  # not base64, or not UTF-8
                decoded = ""
            expected, offered = auth.password.get_secret_value(), decoded.partition(":")[2]
        return hmac.compare_digest(offered.encode(), expected.encode())

    class Handler(BaseHTTPRequestHandler):
        server_version = "alertd"
        sys_version = ""
        timeout = 30  # seconds a client may take to send its request: a stalled one frees its thread

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/feedback":
                self._refuse()
            elif self._authorized(body=True):
                self._take()

        def __getattr__(self, name: str) -> Callable[[], None]:
            # Any other method (PUT, OPTIONS, TRACE, one nobody defined) is refused alike: the base
            # class would answer 501 for those it finds no do_ method for.
            if name.startswith("do_"):
                return self._refuse
            raise AttributeError(name)

        def _refuse(self) -> None:
            allow = "GET, HEAD, POST" if urlsplit(self.path).path == "/feedback" else "GET, HEAD"
            self._send(HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"not here\n", True, {"Allow": allow})

        def _authorized(self, body: bool) -> bool:
            if allowed(self.headers.get("Authorization")):
                return True
            challenge = "Bearer" if auth and auth.token else 'Basic realm="alertd", charset="UTF-8"'
            self._send(HTTPStatus.UNAUTHORIZED, "text/plain", b"unauthorized\n", body, {"WWW-Authenticate": challenge})
            return False

        def _take(self) -> None:
            """A feedback form: read whole (it is small), recorded, then back to its page (a 303, so
            that reloading the page does not post it again)."""
            length = self.headers.get("Content-Length", "")
            kind = self.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            try:
                if not length.isdecimal():
                    raise writes.Refused(HTTPStatus.LENGTH_REQUIRED, "a form says its length")
                if int(length) > writes.FORM_LIMIT:
                    raise writes.Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the form is too long")
                if kind != "application/x-www-form-urlencoded":
                    raise writes.Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "feedback is sent as a form")
                data = self.rfile.read(int(length))
                back = writes.take(gate, self.headers.get("Host"), data, rules(), database, datetime.now(UTC))
            except writes.Refused as exc:
                self.close_connection = True  # the body may be unread
                page = pages.refused(str(exc), exc.back).encode()
                self._send(exc.status, "text/html; charset=utf-8", page, True)
            except StoreError as exc:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", f"{redact(str(exc))}\n".encode(), True)
            else:
                self._send(HTTPStatus.SEE_OTHER, "text/plain", b"recorded\n", True, {"Location": back})

        def _answer(self, body: bool) -> None:
            if not self._authorized(body):
                return
            url = urlsplit(self.path)
            if url.path == "/static/style.css":
                self._send(HTTPStatus.OK, "text/css", STYLE, body)
                return
            query = parse_qs(url.query)
            status, page, config = HTTPStatus.OK, "", rules()
            try:
                with reader.lend(config.tz) as store:
                    now = datetime.now(UTC)
                    if url.path == "/":
                        page = pages.overview(config, store, now)
                    elif url.path.startswith("/budget/"):
                        page = pages.budget(config, store, now, unquote(url.path.removeprefix("/budget/")))
                    elif url.path.startswith("/anomaly/"):
                        name = unquote(url.path.removeprefix("/anomaly/"))
                        series = query.get("series", [""])[0] or None
                        page = pages.anomaly(config, store, now, name, series, gate.token)
                    elif url.path == "/deliveries":
                        channel = query.get("channel", [""])[0] or None
                        page = pages.deliveries(config, store, channel, query.get("failed", [""])[0] == "1")
                    else:
                        raise pages.NotFound("such page")
            except pages.NotFound as exc:
                status, page = HTTPStatus.NOT_FOUND, pages.not_found(str(exc))
            except StoreError as exc:  # the database went, or another alertd version migrated it
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", f"{redact(str(exc))}\n".encode(), body)
                return
            self._send(status, "text/html; charset=utf-8", page.encode(), body)

        def _send(
            self, status: HTTPStatus, kind: str, data: bytes, body: bool, extra: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": kind, "Content-Length": str(len(data)), **(extra or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            if body:
                self.wfile.write(data)

        def end_headers(self) -> None:
            # Here rather than in _send: the base class's own answers (400, 414, 431) carry them too.
            for name, value in HEADERS.items():
                self.send_header(name, value)
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), redact(format % args))

    return Handler
