"""The HTTP client every API source shares: timeouts, retries, rate limits, bounded pages.

Retried: connection errors, timeouts, 5xx, 429 and unparseable bodies, with exponential
backoff and full jitter, honouring `Retry-After` and Northflank's `x-ratelimit-*` headers.
Not retried: 3xx and other 4xx, which need a person; reported with the status.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from alertd import __version__, lifecycle
from alertd.redact import redact
from alertd.sources import SourceError

MAX_BODY_BYTES = 32 * 1024 * 1024  # a year of hourly usage is ~10 MB; more is a broken server


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5  # seconds; doubled each attempt, full jitter
    max_delay: float = 30.0
    max_wait: float = 300.0  # a server asking for a longer pause fails the fetch instead


class ApiClient:
    def __init__(
        self,
        source: str,
        base_url: str,
        token: str,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        auth_header: str = "Authorization",
        auth_scheme: str | None = "Bearer",
        hints: Mapping[int, str] | None = None,
    ) -> None:
        """`auth_header`/`auth_scheme`: where the token goes (Anthropic: `x-api-key`, no scheme).
        `hints`: per-status words for the person reading the error, instead of the generic ones."""
        self.source = source
        self._hints = dict(hints or {})
        self.retry = retry or RetryPolicy()
        self.timeout = timeout  # the whole request: connect, headers and body
        self._read_timeout, self._connect_timeout = timeout, min(timeout, 10.0)
        self._socket: socket.socket | None = None  # of the connection in use (one at a time)
        self._http = httpx.Client(
            base_url=base_url,
            headers={
                auth_header: f"{auth_scheme} {token}" if auth_scheme else token,
                "Accept": "application/json",
                "User-Agent": f"alertd/{__version__}",
                **(headers or {}),
            },
            timeout=httpx.Timeout(self._read_timeout, connect=self._connect_timeout),
            follow_redirects=False,  # a redirect could carry the bearer token to another host
        )
        self._pause_until = 0.0  # set when the rate-limit budget is spent
        self.requests = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_json(self, path: str, params: Mapping[str, Any]) -> Any:
        """GET and decode JSON, retrying what may pass; raises SourceError."""
        last = ""
        for attempt in range(self.retry.attempts):
            self._wait_for_rate_limit()
            lifecycle.beat(allow=self.timeout)  # a slow answer is not a hang
            wait: float | None = None
            try:
                self.requests += 1
                status, headers, body = self._get(path, params)
            except httpx.TimeoutException:
                last = "timed out"
            except httpx.TransportError as exc:
                last = f"connection failed ({type(exc).__name__})"
            else:
                self._note_rate_limit(headers)
                if status == 429 or status >= 500:
                    last = f"HTTP {status}{_detail(body)}"
                    wait = _retry_after(headers, status)
                elif status >= 300:
                    hint = f" ({self._hints[status]})" if status in self._hints else _hint(status)
                    raise SourceError(f"{self.source}: HTTP {status}{_detail(body)}{hint}")
                else:
                    try:
                        return decode(body)
                    except ValueError as exc:
                        last = f"the response is not valid JSON ({exc})"
            if attempt + 1 < self.retry.attempts:
                self._sleep_before_retry(attempt, wait)
        raise SourceError(f"{self.source}: {last} (gave up after {self.retry.attempts} attempts)")

    def _get(self, path: str, params: Mapping[str, Any]) -> tuple[int, httpx.Headers, bytes]:
        """One GET within `timeout` in all: httpx's timeouts are per read, so a server trickling a
        byte a second would hold it for ever; at the deadline a timer shuts the socket down."""
        fired = threading.Event()
        timer = threading.Timer(self.timeout, lambda: (fired.set(), self._cut()))
        timer.daemon = True
        timer.start()
        try:
            with self._http.stream("GET", path, params=params, extensions={"trace": self._trace}) as response:
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                    raise SourceError(f"{self.source}: response of {declared} bytes is larger than allowed")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise SourceError(f"{self.source}: response larger than {MAX_BODY_BYTES} bytes")
                    chunks.append(chunk)
        except httpx.TransportError:
            if fired.is_set():
                raise httpx.TimeoutException(f"no whole answer within {self.timeout:g}s") from None
            raise
        finally:
            timer.cancel()
        if fired.is_set():  # a body that lasts until the connection closes ends quietly when cut
            raise httpx.TimeoutException(f"no whole answer within {self.timeout:g}s")
        return response.status_code, response.headers, b"".join(chunks)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: note the socket of each new connection (plain or TLS)."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            if stream is not None:
                self._socket = stream.get_extra_info("socket")

    def _cut(self) -> None:
        """The deadline passed: wake the blocked read (closing alone would not, on Linux)."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def _sleep_before_retry(self, attempt: int, asked: float | None) -> None:
        if asked is not None:
            if asked > self.retry.max_wait:
                raise SourceError(f"{self.source}: the server asks to wait {asked:.0f}s before retrying")
            delay = asked
        else:
            delay = random.uniform(0, min(self.retry.max_delay, self.retry.base_delay * 2**attempt))
        lifecycle.sleep(delay)

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is not None and reset is not None and remaining.strip() == "0":
            with contextlib.suppress(ValueError):
                self._pause_until = time.monotonic() + float(reset)

    def _wait_for_rate_limit(self) -> None:
        pause = self._pause_until - time.monotonic()
        if pause > self.retry.max_wait:
            raise SourceError(f"{self.source}: rate limit spent; the provider resets it in {pause:.0f}s")
        if pause > 0:
            lifecycle.sleep(pause)


def decode(body: bytes) -> Any:
    """JSON with every number exact (Decimal, never float); NaN and Infinity, invalid UTF-8 and
    nesting deeper than the parser's stack are a ValueError like any other bad JSON."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deep") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    except ValueError as exc:
        raise ValueError(str(exc).split(":")[0]) from None  # its words, not a quote of the body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def paginate(
    source: str,
    fetch_page: Callable[[object | None], tuple[list[Any], object | None]],
    max_pages: int,
) -> Iterator[Any]:
    """Follow page tokens until there is none; a repeated token or too many pages is an error."""
    token: object | None = None
    seen: set[object] = set()
    for _ in range(max_pages):
        items, token = fetch_page(token)
        yield from items
        if token is None:
            return
        if token in seen:
            raise SourceError(f"{source}: the API returned the same page cursor twice; stopped to avoid a loop")
        seen.add(token)
    raise SourceError(f"{source}: more than {max_pages} pages for one window; stopped")


def _retry_after(headers: httpx.Headers, status: int) -> float | None:
    """Seconds the server asks us to wait: `Retry-After`, or for a 429 the rate-limit reset."""
    value = headers.get("retry-after") or (headers.get("x-ratelimit-reset") if status == 429 else None)
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _detail(body: bytes) -> str:
    """The provider's own error message (Northflank `error.message`, Friendli `detail`)."""
    try:
        data = decode(body)
    except ValueError:
        return ""
    message: Any = None
    if isinstance(data, dict):
        error = data.get("error")
        message = error.get("message") if isinstance(error, dict) else data.get("detail") or data.get("message")
    if message is None:
        return ""
    try:
        text = message if isinstance(message, str) else json.dumps(message, default=str)  # FastAPI's lists
    except (RecursionError, ValueError):
        return ""
    return f": {redact(text)[:300]}"


def _hint(status: int) -> str:
    if 300 <= status < 400:
        return " (redirects are not followed, so the token stays with base_url: check base_url)"
    return {401: " (check the token)", 403: " (the token lacks permission, or wrong team)"}.get(status, "")
