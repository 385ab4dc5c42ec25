"""Shared plumbing for the fake APIs: a loopback HTTP server, a request log, faults, cursors."""

from __future__ import annotations

import argparse
import base64
import contextlib
import itertools
import json
import random
import re
import socket
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.client import responses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

BASE_FAULT_KINDS = frozenset({"status", "delay", "garbled", "drop", "trickle", "body", "edit"})
_INTEGER = re.compile(r"-?[0-9]+")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour, consumed by the next request.

    "status": answer `status` with the provider's error body, plus `Retry-After` if set;
    "delay": sleep `seconds`, then answer normally; "garbled": a 200 whose JSON is cut short;
    "drop": close the connection without answering; "trickle": the normal answer's headers,
    then its body one byte every `seconds` (after `body`'s bytes, if given, for ever);
    "body": a 200 with `body` as its JSON text, verbatim (NaN, nesting, anything);
    "edit": the normal answer's JSON (numbers as Decimal) passed through `edit` first, to poison
    a value, list an entry twice or add one outside the window. A provider may add kinds.
    """

    kind: str
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0
    body: bytes | None = None
    edit: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"not an HTTP status: {self.status}")
        if self.seconds < 0:
            raise ValueError(f"negative delay: {self.seconds}")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str  # without the query string, as sent (not unquoted)
    query: dict[str, str]  # the last value wins if a name repeats
    headers: dict[str, str]  # lower-case names
    pairs: tuple[tuple[str, str], ...] = ()  # the whole query in order, repeated names and all

    def values(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (`group_by=a&group_by=b`), in order."""
        return [value for key, value in self.pairs if key == name]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised while routing to answer with the provider's error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def to_json(value: object) -> str:
    """JSON text in which a Decimal appears as its own digits: 12.3456 stays 12.3456.

    json.dumps would have to go through float, which is exactly what the fakes must not do.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        return format(value, "f")
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}: {to_json(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_json(item) for item in value) + "]"
    return json.dumps(value)


def json_reply(status: int, value: object) -> Reply:
    return Reply(status, to_json(value).encode(), {"Content-Type": "application/json"})


def optional_int(
    query: Mapping[str, str],
    name: str,
    *,
    status: int,
    lo: int | None = None,
    hi: int | None = None,
) -> int | None:
    """An integer query parameter, None if absent; out of range answers `status`."""
    raw = query.get(name)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw):
        raise ApiError(status, f"{name} must be an integer")
    value = int(raw)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
        raise ApiError(status, f"{name} must be {bounds}")
    return value


def optional_time(query: Mapping[str, str], name: str, *, status: int) -> datetime | None:
    """An RFC 3339 query parameter with an offset, as an aware datetime; None if absent."""
    raw = query.get(name)
    if raw is None:
        return None
    if _RFC3339.fullmatch(raw):
        with contextlib.suppress(ValueError):  # a well-formed impossible date, such as February 30th
            return datetime.fromisoformat(raw.upper())  # Python 3.11 wants an upper-case T and Z
    raise ApiError(status, f"{name} must be an RFC 3339 timestamp, e.g. 2026-01-01T00:00:00Z")


def require_bearer(request: RecordedRequest, token: str) -> None:
    if request.headers.get("authorization") != f"Bearer {token}":
        raise ApiError(401, "missing or invalid bearer token")


class FaultQueue:
    """Faults waiting for the next requests, oldest first. Thread-safe.

    Rejects kinds the server cannot act on when appended, so a typo fails in the test that
    made it rather than as a puzzling normal answer.
    """

    def __init__(self, kinds: frozenset[str]) -> None:
        self.kinds = kinds
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def append(self, fault: Fault) -> None:
        if fault.kind not in self.kinds:
            raise ValueError(f"fault kind {fault.kind!r} not one of {sorted(self.kinds)}")
        with self._lock:
            self._queue.append(fault)

    def extend(self, faults: Iterable[Fault]) -> None:
        for fault in faults:
            self.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pop(self) -> Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def __len__(self) -> int:
        return len(self._queue)


class CursorBook:
    """Opaque pagination cursors; only the ones this server issued are accepted. Thread-safe."""

    def __init__(self) -> None:
        self._issued: dict[str, dict[str, Any]] = {}
        self._looping: set[str] = set()
        self._serial = 0
        self._lock = threading.Lock()

    def issue(self, **state: Any) -> str:
        with self._lock:
            # A serial number makes every cursor distinct, so marking one (e.g. as looping)
            # never affects another that happens to point at the same place.
            self._serial += 1
            raw = json.dumps({**state, "n": self._serial}, separators=(",", ":")).encode()
            cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
            self._issued[cursor] = state
        return cursor

    def redeem(self, cursor: str, *, status: int) -> dict[str, Any]:
        with self._lock:
            state = self._issued.get(cursor)
        if state is None:
            raise ApiError(status, "invalid or unknown cursor")
        return state

    def loop(self, current: str | None, **state: Any) -> str:
        """For a "repeat_cursor" fault: a next cursor that leads back to itself, the request's own
        (`current`) or else a fresh one for `state`; `looping` then knows it, so it repeats for ever."""
        cursor = current or self.issue(**state)
        with self._lock:
            self._looping.add(cursor)
        return cursor

    def looping(self, cursor: str | None) -> bool:
        with self._lock:
            return cursor in self._looping


class FakeServer(ABC):
    """A provider API on 127.0.0.1 (port 0 by default) served from a daemon thread.

    Use as `with FakeX(...) as srv:` or `srv.start()` / `srv.stop()`. Every request is logged
    in `requests`; `faults` are consumed one per request before normal handling; with
    `fail_rate`, a seeded share of the other requests fails with a 500 or a 429.
    """

    # Fault kinds a subclass acts on in `route`, beyond BASE_FAULT_KINDS.
    extra_fault_kinds: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, fail_rate: float = 0.0, seed: int = 0) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within [0, 1]: {fail_rate}")
        self.fail_rate = fail_rate
        self.requests: list[RecordedRequest] = []
        self.faults = FaultQueue(BASE_FAULT_KINDS | self.extra_fault_kinds)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @abstractmethod
    def route(self, request: RecordedRequest, fault: Fault | None) -> Reply:
        """The normal answer; `fault` is one of `extra_fault_kinds` to apply, if any.

        Raise ApiError for error answers.
        """

    @abstractmethod
    def error_body(self, status: int, message: str) -> object:
        """The provider's JSON error body."""

    def meter(self) -> tuple[dict[str, str], bool]:
        """Count a request: headers every response carries, and whether it is over quota."""
        return {}, False

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_port}"

    def start(self, port: int = 0) -> Self:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._httpd = _HTTPServer(("127.0.0.1", port), self)
        # A short poll interval keeps stop() (and so each test) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self._httpd.server_port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None or self._thread is None:
            return
        self._httpd.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _dispatch(self, handler: _Handler) -> None:
        request = handler.recorded()
        with self._lock:
            self.requests.append(request)
        fault = self.faults.pop() or self._random_fault()
        headers, over_quota = self.meter()
        if fault is not None and fault.kind == "drop":
            handler.close_connection = True
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "trickle":
            reply = self._answer(request, None, over_quota)
            handler.trickle(reply.status, fault.body, reply.body, {**headers, **reply.headers}, fault.seconds)
            return
        reply = self._answer(request, fault, over_quota)
        handler.send(reply.status, reply.body, {**headers, **reply.headers})

    def _answer(self, request: RecordedRequest, fault: Fault | None, over_quota: bool) -> Reply:
        if fault is not None and fault.kind == "garbled":
            return Reply(200, b'{"data": [', {"Content-Type": "application/json"})
        if fault is not None and fault.kind == "body":
            return Reply(200, fault.body or b"", {"Content-Type": "application/json"})
        if fault is not None and fault.kind == "edit":
            assert fault.edit is not None, "an edit fault needs its edit"
            reply = self._answer(request, None, over_quota)
            edited = fault.edit(json.loads(reply.body, parse_float=Decimal))
            return Reply(reply.status, to_json(edited).encode(), reply.headers)
        if fault is not None and fault.kind == "status":
            reply = self._error(fault.status, responses.get(fault.status, "Error"))
            if fault.retry_after is not None:
                reply.headers["Retry-After"] = fault.retry_after
            return reply
        if over_quota:
            return self._error(429, "rate limit exceeded")
        try:
            return self.route(request, fault)
        except ApiError as error:
            return self._error(error.status, error.message)

    def _error(self, status: int, message: str) -> Reply:
        return json_reply(status, self.error_body(status, message))

    def _random_fault(self) -> Fault | None:
        with self._lock:
            if self._rng.random() >= self.fail_rate:
                return None
            # The two transient failures every client must ride out.
            return self._rng.choice((Fault("status", 500), Fault("status", 429, retry_after="0")))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck in a delay fault must not block stop()

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        super().__init__(address, _Handler)
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.stopping = threading.Event()  # ends a trickling answer

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (timed out during a delay fault, say) is routine and stays
        # quiet; anything else is a bug in the fake and deserves its traceback.
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """End kept-alive connections too: a stopped server must not go on answering."""
        with self._open_lock:
            open_now = list(self._open)
        for connection in open_now:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients meet it in production
    # Headers and body go out in separate writes; with Nagle's algorithm against the client's
    # delayed ACKs, each response on a kept-alive connection would stall for ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        self.server.fake._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def recorded(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # drain the body so a kept-alive connection stays in step
        parts = urlsplit(self.path)
        pairs = tuple(parse_qsl(parts.query, keep_blank_values=True))
        return RecordedRequest(
            method=self.command,
            path=parts.path,
            query=dict(pairs),
            headers={name.lower(): value for name, value in self.headers.items()},
            pairs=pairs,
        )

    def send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def trickle(
        self, status: int, endless: bytes | None, body: bytes, headers: Mapping[str, str], pause: float
    ) -> None:
        """Headers at once, then the body a byte at a time; with `endless`, bytes for ever."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if endless is None:
            self.send_header("Content-Length", str(len(body)))
        else:  # no length: the body ends when the connection does, which it never does
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.flush()
        data = itertools.cycle(endless) if endless is not None else iter(body)
        for byte in data:
            if self.server.stopping.is_set():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(pause)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the tests and the demo own the terminal."""


def demo_arguments(description: str, days: int) -> argparse.ArgumentParser:
    """The options both `python -m alertd.simulate.<provider>` commands share."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--days", type=int, default=days, help="days of history to generate")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of requests to fail")
    parser.add_argument("--seed", type=int, default=0, help="seed for data and failures")
    return parser


def serve_in_foreground(server: FakeServer, *, port: int, token: str) -> None:
    """Serve until Ctrl-C, after printing where and with which token."""
    server.start(port)
    try:
        print(f"{type(server).__name__} listening on {server.url}", flush=True)
        print(f"token: {token}    (Ctrl-C to stop)", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


class DailyCosts(FakeServer):
    """A fake serving costs per UTC day (`days`: day → results), restated with `set_day`;
    `now` (an aware datetime) anchors the API's limits on days."""

    def __init__(
        self,
        days: Mapping[date, list[dict[str, Any]]],
        *,
        now: Callable[[], datetime] | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(fail_rate=fail_rate, seed=seed)
        self._now = now or (lambda: datetime.now(UTC))
        self._days = dict(days)  # a copy, so only set_day changes what is served
        self._data_lock = threading.Lock()
        self._cursors = CursorBook()

    def set_day(self, day: date, results: list[dict[str, Any]]) -> None:
        """Add or restate a day (costs arrive late and get revised)."""
        with self._data_lock:
            self._days[day] = results
