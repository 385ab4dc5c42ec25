"""The shared client against ad-hoc loopback servers (pytest-httpserver)."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from alertd.sources.http import MAX_BODY_BYTES, ApiClient, RetryPolicy, SourceError, paginate

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


def client(server: HTTPServer, token: str = "tok-abcdef") -> ApiClient:
    return ApiClient("src", server.url_for("").rstrip("/"), token, timeout=2, retry=FAST)


def test_an_oversized_response_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"[" + b"0," * (MAX_BODY_BYTES // 2) + b"0]")
    with client(httpserver) as c, pytest.raises(SourceError, match="larger than"):
        c.get_json("/big", {})


def test_retry_after_as_http_date_and_eventual_success(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/x").respond_with_response(
        Response("{}", status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )
    httpserver.expect_ordered_request("/x").respond_with_json({"ok": 1})
    with client(httpserver) as c:
        assert c.get_json("/x", {}) == {"ok": 1}
        assert c.requests == 2


def test_a_server_echoing_the_token_does_not_leak_it(httpserver: HTTPServer) -> None:
    from alertd.redact import register

    secret = "tok-echoed-secret-99"
    register(secret)
    httpserver.expect_request("/x").respond_with_json(
        {"error": {"status": 400, "message": f"bad token {secret}"}}, status=400
    )
    with client(httpserver, token=secret) as c, pytest.raises(SourceError) as caught:
        c.get_json("/x", {})
    assert secret not in str(caught.value) and "HTTP 400: bad token ***" in str(caught.value)


def test_redirects_are_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/x").respond_with_response(
        Response("", status=302, headers={"Location": "http://evil.invalid/"})
    )
    with client(httpserver) as c, pytest.raises(SourceError, match="HTTP 302"):
        c.get_json("/x", {})


def test_connection_refused_is_retried_then_reported() -> None:
    c = ApiClient("src", "http://127.0.0.1:9", "t", timeout=1, retry=FAST)
    with pytest.raises(SourceError, match=r"src: connection failed \(ConnectError\) \(gave up after 3 attempts\)"):
        c.get_json("/x", {})


def test_paginate_bounds_the_page_count() -> None:
    pages = iter(range(100))
    with pytest.raises(SourceError, match="more than 5 pages"):
        list(paginate("src", lambda token: ([json.dumps(token)], next(pages)), 5))
