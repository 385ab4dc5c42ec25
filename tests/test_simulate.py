"""The fake provider APIs, exercised over real loopback HTTP, and the spend generators."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from alertd.simulate._server import Fault
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import friendli_days, northflank_hours

START = 1767225600  # 2026-01-01T00:00:00Z, a Thursday
NF_AUTH = {"Authorization": "Bearer nf-test-token"}
FL_AUTH = {"Authorization": "Bearer flp_test"}
NOW = datetime(2026, 7, 15, 13, 30, tzinfo=UTC)
TODAY = NOW.date()


def exact(response: httpx.Response) -> Any:
    """The body with numbers as Decimal, as a careful client parses it."""
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One client for the module: building an httpx client (its TLS context) is slow."""
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def nf() -> Iterator[FakeNorthflank]:
    with FakeNorthflank(northflank_hours(START, 250, seed=3)) as server:
        yield server


@pytest.fixture
def fl() -> Iterator[FakeFriendli]:
    days = friendli_days(TODAY - timedelta(days=29), 30, seed=5)
    with FakeFriendli(days, now=lambda: NOW, strings_since=TODAY - timedelta(days=9)) as server:
        yield server


def nf_get(
    http: httpx.Client, server: FakeNorthflank, path: str = "/v1/billing/usage", **params: Any
) -> httpx.Response:
    return http.get(server.url + path, params=params, headers=NF_AUTH)


def fl_get(
    http: httpx.Client, server: FakeFriendli, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    return http.get(server.url + "/v1/team/cost", params=params, headers={**FL_AUTH, **(headers or {})})


def fl_range(start: date, end: date, **params: Any) -> dict[str, Any]:
    return {"start_time": f"{start}T00:00:00Z", "end_time": f"{end}T00:00:00Z", **params}


# --- spend generators -------------------------------------------------------------------


def test_northflank_hours_are_deterministic_exact_and_shaped() -> None:
    hours = northflank_hours(START, 24 * 14, seed=1)
    assert hours == northflank_hours(START, 24 * 14, seed=1)
    assert hours != northflank_hours(START, 24 * 14, seed=2)
    # A pure function of (seed, hour): overlapping ranges agree.
    assert northflank_hours(START + 3600 * 5, 3, seed=1)[START + 3600 * 5] == hours[START + 3600 * 5]

    entry = hours[START]
    assert set(entry) == {"timestamp", "paasUsage", "byocUsage"}
    assert list(entry["paasUsage"]["price"]) == ["total", "cpu", "memory", "storage", "gpu"]
    assert list(entry["byocUsage"]["price"]) == ["total", "vcpu", "memory", "gpuMemory", "cluster"]
    amounts = [v for e in hours.values() for b in ("paasUsage", "byocUsage") for v in e[b]["price"].values()]
    assert all(isinstance(v, Decimal) and v >= 0 and v.as_tuple().exponent >= -4 for v in amounts)
    assert len({e["paasUsage"]["price"]["storage"] for e in hours.values()}) == 1

    def cpu_at(day: int, hour: int) -> Decimal:
        return hours[START + (day * 24 + hour) * 3600]["paasUsage"]["price"]["cpu"]

    weekdays, weekend = [0, 1, 4, 5, 6], [2, 3]  # Jan 1-2 and 5-7 are weekdays, 3-4 a weekend
    assert sum(cpu_at(d, 13) for d in weekdays) / 5 > sum(cpu_at(d, 3) for d in weekdays) / 5
    assert sum(cpu_at(d, 13) for d in weekdays) / 5 > sum(cpu_at(d, 13) for d in weekend) / 2
    assert any(e["paasUsage"]["price"]["gpu"] for e in hours.values())
    assert sum(1 for e in hours.values() if e["paasUsage"]["price"]["gpu"] == 0) > len(hours) / 2


def test_northflank_hours_unitemised_totals_spike_and_no_byoc() -> None:
    hours = northflank_hours(START, 24 * 40, seed=0)
    off = [
        (ts, block)
        for ts, e in hours.items()
        for block in ("paasUsage", "byocUsage")
        if e[block]["price"]["total"] != sum(list(e[block]["price"].values())[1:])
    ]
    assert 5 <= len(off) <= 40  # about 1 hour in 50, in either direction
    assert len({ts for ts, _ in off}) == len(off)

    spiked = northflank_hours(START, 48, seed=0, spike=(START + 3600 * 10, START + 3600 * 12, Decimal(3)))
    plain = northflank_hours(START, 48, seed=0)
    for ts in plain:
        factor = 3 if START + 3600 * 10 <= ts < START + 3600 * 12 else 1
        cpu = plain[ts]["paasUsage"]["price"]["cpu"]
        assert abs(spiked[ts]["paasUsage"]["price"]["cpu"] - cpu * factor) <= Decimal("0.0001")
        assert spiked[ts]["paasUsage"]["price"]["memory"] == plain[ts]["paasUsage"]["price"]["memory"]

    assert all("byocUsage" not in e for e in northflank_hours(START, 5, byoc=False).values())
    with pytest.raises(ValueError, match="not on an hour"):
        northflank_hours(START + 1, 5)


def test_friendli_days_are_exact_with_absent_items() -> None:
    days = friendli_days(date(2026, 1, 1), 30, seed=2)
    assert days == friendli_days(date(2026, 1, 1), 30, seed=2)
    assert list(days) == [date(2026, 1, 1) + timedelta(days=n) for n in range(30)]
    results = [r for rs in days.values() for r in rs]
    for r in results:
        assert set(r) == {"total", "quantity", "unit_price", "line_item"}
        assert r["total"].as_tuple().exponent == -6
        assert r["total"] == (r["quantity"] * r["unit_price"] / 100).quantize(Decimal("0.000001"))
    assert "my-endpoint, h100, gpu time cost" in {r["line_item"] for r in results}
    assert any(len(rs) < 5 for rs in days.values())  # some items are absent some days

    custom = friendli_days(date(2026, 1, 1), 3, line_items=["a, b, widget cost"])
    assert {r["line_item"] for rs in custom.values() for r in rs} <= {"a, b, widget cost"}


# --- Northflank -------------------------------------------------------------------------


def test_northflank_shape_newest_first_and_exact_numbers(http: httpx.Client, nf: FakeNorthflank) -> None:
    response = nf_get(http, nf, per_page=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = exact(response)
    usage = body["data"]["usage"]
    assert [e["timestamp"] for e in usage] == [START + 3600 * h for h in range(249, 239, -1)]
    assert body["pagination"]["hasNextPage"] is True
    assert body["pagination"]["count"] == 10
    assert isinstance(body["pagination"]["cursor"], str)
    assert usage[0] == northflank_hours(START + 3600 * 249, 1, seed=3)[START + 3600 * 249]

    nf.set_hour(START, {"timestamp": START, "paasUsage": {"price": {"total": Decimal("12.3456")}}})
    text = nf_get(http, nf, startTime=START, endTime=START + 3600).text
    assert '"total": 12.3456' in text
    assert exact(nf_get(http, nf))["pagination"]["count"] == 50  # per_page defaults to 50


def test_northflank_time_filter(http: httpx.Client, nf: FakeNorthflank) -> None:
    body = nf_get(http, nf, startTime=START + 3600 * 3, endTime=START + 3600 * 7).json()
    assert [e["timestamp"] for e in body["data"]["usage"]] == [START + 3600 * h for h in (6, 5, 4, 3)]
    assert body["pagination"] == {"hasNextPage": False, "count": 4}

    body = nf_get(http, nf, startTime=START + 3600 * 245).json()
    assert body["pagination"]["count"] == 5
    response = nf_get(http, nf, endTime=START)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400


def test_northflank_cursor_pagination_covers_every_hour_once(http: httpx.Client, nf: FakeNorthflank) -> None:
    seen: list[int] = []
    params: dict[str, Any] = {"per_page": 100}
    while True:
        body = nf_get(http, nf, **params).json()
        seen += [e["timestamp"] for e in body["data"]["usage"]]
        if not body["pagination"]["hasNextPage"]:
            assert "cursor" not in body["pagination"]
            break
        params["cursor"] = body["pagination"]["cursor"]
    assert seen == sorted(northflank_hours(START, 250, seed=3), reverse=True)
    assert len(nf.requests) == 3

    page3 = nf_get(http, nf, per_page=100, page=3).json()
    assert page3["pagination"] == {"hasNextPage": False, "count": 50}


@pytest.mark.parametrize(
    "params",
    [{"per_page": 101}, {"per_page": 0}, {"per_page": "ten"}, {"page": 0}, {"cursor": "bm9wZQ"}],
)
def test_northflank_rejects_bad_queries(http: httpx.Client, nf: FakeNorthflank, params: dict[str, Any]) -> None:
    response = nf_get(http, nf, **params)
    assert response.status_code == 400
    assert response.json()["error"]["status"] == 400


def test_northflank_auth_and_unknown_paths(http: httpx.Client, nf: FakeNorthflank) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "nf-test-token"}):
        response = http.get(nf.url + "/v1/billing/usage", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["status"] == 401
    assert nf_get(http, nf, "/v1/billing/other").status_code == 404


def test_northflank_team_path(http: httpx.Client) -> None:
    account = northflank_hours(START, 3, seed=1)
    team = northflank_hours(START, 2, seed=2)
    with FakeNorthflank(account, teams={"team-a": team}) as server:
        usage = exact(nf_get(http, server, "/v1/teams/team-a/billing/usage"))["data"]["usage"]
        assert usage == [team[START + 3600], team[START]]

        response = nf_get(http, server, "/v1/teams/nope/billing/usage")
        assert response.status_code == 404
        assert response.json() == {"error": {"status": 404, "message": "team not found"}}

        server.set_team_hour("team-b", START, team[START])
        assert nf_get(http, server, "/v1/teams/team-b/billing/usage").json()["pagination"]["count"] == 1


def test_northflank_rate_limit_headers(http: httpx.Client) -> None:
    with FakeNorthflank({}, ratelimit=3) as server:
        responses = [nf_get(http, server) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0", "0"]
    assert {r.headers["x-ratelimit-limit"] for r in responses} == {"3"}
    assert all(0 < int(r.headers["x-ratelimit-reset"]) <= 3600 for r in responses)
    assert responses[3].json()["error"]["status"] == 429


def test_northflank_repeat_cursor_loops(http: httpx.Client, nf: FakeNorthflank) -> None:
    nf.faults.append(Fault("repeat_cursor"))
    first = nf_get(http, nf, per_page=100).json()["pagination"]
    second = nf_get(http, nf, per_page=100, cursor=first["cursor"]).json()
    third = nf_get(http, nf, per_page=100, cursor=second["pagination"]["cursor"]).json()
    assert first["cursor"] == second["pagination"]["cursor"] == third["pagination"]["cursor"]
    assert second["pagination"]["hasNextPage"] and third["pagination"]["hasNextPage"]
    assert second["data"] == third["data"]  # the same page, over and over
    # A fresh pagination is unaffected.
    fresh = nf_get(http, nf, per_page=100).json()["pagination"]["cursor"]
    assert nf_get(http, nf, per_page=100, cursor=fresh).json()["pagination"]["cursor"] != fresh


def test_northflank_no_cursor_falls_back_to_pages(http: httpx.Client, nf: FakeNorthflank) -> None:
    nf.faults.append(Fault("no_cursor"))
    body = nf_get(http, nf, per_page=100).json()
    assert body["pagination"] == {"hasNextPage": True, "count": 100}
    assert nf_get(http, nf, per_page=100, page=2).json()["data"]["usage"][0]["timestamp"] == START + 3600 * 149


# --- shared faults ----------------------------------------------------------------------


def test_faults_status_delay_garbled_drop(nf: FakeNorthflank) -> None:
    nf.faults.extend(
        [
            Fault("status", 503, retry_after="7"),
            Fault("delay", seconds=0.2),
            Fault("garbled"),
            Fault("drop"),
        ]
    )
    with httpx.Client(base_url=nf.url, headers=NF_AUTH) as client:
        response = client.get("/v1/billing/usage")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "7"
        assert response.json()["error"]["status"] == 503
        assert "x-ratelimit-remaining" in response.headers

        began = time.monotonic()
        assert client.get("/v1/billing/usage").status_code == 200
        assert time.monotonic() - began >= 0.2

        garbled = client.get("/v1/billing/usage")
        assert garbled.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            garbled.json()

        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/billing/usage")
        assert client.get("/v1/billing/usage").status_code == 200  # then back to normal
    assert len(nf.requests) == 5


def test_fail_rate_gives_500_or_429(http: httpx.Client) -> None:
    with FakeFriendli({}, now=lambda: NOW, fail_rate=1.0, seed=4) as server:
        responses = [fl_get(http, server, **fl_range(TODAY, TODAY + timedelta(days=1))) for _ in range(12)]
    assert {r.status_code for r in responses} == {500, 429}
    assert all(r.headers["retry-after"] == "0" for r in responses if r.status_code == 429)
    assert all(set(r.json()) == {"detail"} for r in responses)


def test_fault_kinds_are_checked_per_server(fl: FakeFriendli) -> None:
    with pytest.raises(ValueError, match="repeat_cursor"):
        fl.faults.append(Fault("repeat_cursor"))
    with pytest.raises(ValueError):
        Fault("status", 42)


def test_request_log_and_stop(http: httpx.Client, nf: FakeNorthflank) -> None:
    http.get(nf.url + "/v1/billing/usage?per_page=5&page=2", headers={**NF_AUTH, "X-Trace": "a"})
    (request,) = nf.requests
    assert (request.method, request.path) == ("GET", "/v1/billing/usage")
    assert request.query == {"per_page": "5", "page": "2"}
    assert request.headers["x-trace"] == "a"
    assert request.headers["authorization"] == "Bearer nf-test-token"
    url = nf.url
    nf.stop()
    with pytest.raises(httpx.ConnectError):
        http.get(url)


# --- Friendli ---------------------------------------------------------------------------


WEEK = fl_range(TODAY - timedelta(days=7), TODAY)


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"end_time": "2026-07-10T00:00:00Z"}, "start_time is required"),
        ({"start_time": "2026-07-01T00:00:00Z"}, "end_time is required"),
        (WEEK | {"start_time": "2026-07-01T05:00:00Z"}, "time portion"),
        (WEEK | {"end_time": "2026-07-10T00:00:00.5Z"}, "time portion"),
        (WEEK | {"start_time": "2026-07-01"}, "RFC 3339"),
        (WEEK | {"start_time": "2026-02-30T00:00:00Z"}, "RFC 3339"),
        (WEEK | {"start_time": "2026-07-01T00:00:00+02:00"}, "UTC"),
        (fl_range(TODAY - timedelta(days=366), TODAY), "one year"),
        (fl_range(TODAY, TODAY + timedelta(days=2)), "next UTC midnight"),
        (fl_range(TODAY, TODAY), "before end_time"),
        (WEEK | {"limit": 36}, "limit"),
        (WEEK | {"limit": 0}, "limit"),
        (WEEK | {"bucket_width": "1h"}, "bucket_width"),
        (WEEK | {"group_by": "model"}, "group_by"),
        (WEEK | {"page": "not-a-cursor"}, "cursor"),
    ],
)
def test_friendli_rejects_bad_queries(
    http: httpx.Client, fl: FakeFriendli, params: dict[str, Any], complaint: str
) -> None:
    response = fl_get(http, fl, **params)
    assert response.status_code == 422
    assert complaint in response.json()["detail"]


def test_friendli_accepts_the_edges(http: httpx.Client, fl: FakeFriendli) -> None:
    oldest, next_midnight = TODAY - timedelta(days=365), TODAY + timedelta(days=1)
    assert fl_get(http, fl, **fl_range(oldest, oldest + timedelta(days=1))).status_code == 200
    plus = {"start_time": f"{TODAY}T00:00:00+00:00", "end_time": f"{next_midnight}T00:00:00Z"}
    body = fl_get(http, fl, **plus, limit=35).json()
    assert body == {
        "has_more": False,
        "data": [
            {
                "start_time": f"{TODAY}T00:00:00Z",
                "end_time": f"{next_midnight}T00:00:00Z",
                "results": body["data"][0]["results"],
            }
        ],
        "next_page": None,
    }


def test_friendli_numbers_then_strings_grouped_by_line_item(http: httpx.Client, fl: FakeFriendli) -> None:
    switch = TODAY - timedelta(days=9)
    response = fl_get(
        http,
        fl,
        **fl_range(switch - timedelta(days=1), switch + timedelta(days=1)),
        group_by="line_item",
    )
    before, after = response.json()["data"]
    assert before["start_time"] == f"{switch - timedelta(days=1)}T00:00:00Z"
    assert before["results"] and after["results"]
    for result in before["results"]:
        assert all(isinstance(result[key], int | float) for key in ("total", "quantity", "unit_price"))
    for result in after["results"]:
        assert all(isinstance(result[key], str) for key in ("total", "quantity", "unit_price"))
        assert len(result["total"].split(".")[1]) == 6
    expected = friendli_days(TODAY - timedelta(days=29), 30, seed=5)[switch]
    assert [Decimal(r["total"]) for r in after["results"]] == [r["total"] for r in expected]
    assert [r["line_item"] for r in after["results"]] == [r["line_item"] for r in expected]


def test_friendli_ungrouped_sums_per_day(http: httpx.Client, fl: FakeFriendli) -> None:
    fl.set_day(TODAY - timedelta(days=20), [])
    day = TODAY - timedelta(days=21)
    buckets = exact(fl_get(http, fl, **fl_range(day, day + timedelta(days=2))))["data"]
    expected = sum(r["total"] for r in friendli_days(day, 1, seed=5)[day])
    assert buckets[0]["results"] == [{"total": expected, "quantity": None, "unit_price": None, "line_item": None}]
    assert buckets[1]["results"] == []


def test_friendli_pagination_with_next_page(http: httpx.Client, fl: FakeFriendli) -> None:
    start, end = TODAY - timedelta(days=19), TODAY + timedelta(days=1)
    params = fl_range(start, end, group_by="line_item")
    starts: list[str] = []
    pages = 0
    while True:
        body = fl_get(http, fl, **params).json()
        pages += 1
        starts += [bucket["start_time"] for bucket in body["data"]]
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        params["page"] = body["next_page"]
    assert pages == 3  # 20 days at the default limit of 7
    assert starts == [f"{start + timedelta(days=n)}T00:00:00Z" for n in range(20)]


def test_friendli_auth_and_teams(http: httpx.Client) -> None:
    team_days = {
        TODAY: [
            {
                "total": Decimal("1.5"),
                "quantity": Decimal(1),
                "unit_price": Decimal(150),
                "line_item": "x, y, z cost",
            }
        ]
    }
    with FakeFriendli({}, teams={"t-1": team_days}, now=lambda: NOW) as server:
        query = fl_range(TODAY, TODAY + timedelta(days=1), group_by="line_item")
        assert fl_get(http, server, **query).json()["data"][0]["results"] == []
        team = fl_get(http, server, {"X-Friendli-Team": "t-1"}, **query).json()
        assert team["data"][0]["results"][0]["total"] == 1.5

        denied = fl_get(http, server, {"X-Friendli-Team": "t-2"}, **query)
        assert denied.status_code == 403
        assert "detail" in denied.json()

        unauthorised = http.get(server.url + "/v1/team/cost", params=query)
        assert unauthorised.status_code == 401
        assert "detail" in unauthorised.json()
