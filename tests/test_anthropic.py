"""The Anthropic source against a real HTTP fake of the Admin API cost report."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.config import Config
from alertd.ingest import poll
from alertd.model import Window
from alertd.money import decimal_string
from alertd.simulate._server import Fault, to_json
from alertd.simulate.anthropic import FakeAnthropic
from alertd.simulate.poison import duplicate, put
from alertd.simulate.spend import ANTHROPIC_WORKSPACES, anthropic_days, anthropic_dollars
from alertd.sources import SourceError, build
from alertd.sources.anthropic import cost_records
from alertd.sources.http import RetryPolicy
from alertd.store import Store
from tests.conftest import run_cli
from tests.test_hostile_sources import _JSON, _PROPERTY, _SCALARS, _sound

NOW = datetime.now(UTC)
TODAY = NOW.date()
DAY = 86400
TOKEN = "sk-ant-admin01-cnryAnth-7Qx2"
ORDINARY = "sk-ant-api03-cnryPlain-4Kd9"
WORKSPACE = ANTHROPIC_WORKSPACES[1]
ONCE = RetryPolicy(attempts=1)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
MICRO_PER_CENT = 10_000


def config(url: str, token: str = TOKEN, **extra: object) -> Config:
    source = {"name": "an", "provider": "anthropic", "token": token, "base_url": url, "timeout": "1s", **extra}
    return Config.model_validate({"sources": [source]})


def fetch(cfg: Config, days: int, retry: RetryPolicy = FAST):
    source = build(cfg, "an", retry)
    try:
        return source.fetch(Window(NOW - timedelta(days=days), NOW), now=NOW)  # type: ignore[call-arg]
    finally:
        source.close()


def stamp(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def stored_micros(days: dict[date, list[dict]]) -> int:
    """What alertd must store: each day's line item rounded half-even to the micro-dollar, once."""
    cents = (Decimal(str(r["amount"])) for results in days.values() for r in results)
    return sum(int((c * MICRO_PER_CENT).to_integral_value(ROUND_HALF_EVEN)) for c in cents)


def result(description: str, cents: str, workspace: str | None = None, **extra: object) -> dict[str, Any]:
    return {"amount": Decimal(cents), "currency": "USD", "description": description, "workspace_id": workspace, **extra}


@pytest.fixture
def days() -> dict[date, list[dict]]:
    return anthropic_days(TODAY - timedelta(days=60), 61, seed=3)


@pytest.fixture
def fake(days) -> Iterator[FakeAnthropic]:
    with FakeAnthropic(days, token=TOKEN, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as s:
        yield s


# --- the query, pagination and line items ------------------------------------------------------


def test_sixty_days_over_two_pages_with_the_documented_query_and_headers(fake, days) -> None:
    result = fetch(config(fake.url), 60)
    assert len(fake.requests) == 2 and fake.requests[1].query["page"]
    first = fake.requests[0]
    assert first.pairs == (
        ("starting_at", f"{TODAY - timedelta(days=60)}T00:00:00Z"),
        ("ending_at", f"{TODAY + timedelta(days=1)}T00:00:00Z"),  # through today's growing bucket
        ("bucket_width", "1d"),
        ("group_by[]", "workspace_id"),
        ("group_by[]", "description"),
        ("limit", "31"),
    )
    assert first.headers["x-api-key"] == TOKEN and first.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in first.headers  # the admin key goes nowhere else
    assert sum(r.amount for r in result.records) == stored_micros(days)
    assert result.complete_buckets and all(r.bucket_seconds == DAY and r.currency == "USD" for r in result.records)
    items = {r.line_item for r in result.records}
    assert "default/Claude Sonnet 4 Usage - Input Tokens" in items
    assert f"{WORKSPACE}/Web Search Usage" in items


def test_the_workspaces_filter_is_applied_by_alertd(fake, days) -> None:
    only_default = fetch(config(fake.url, workspaces=["default"]), 5)
    assert only_default.records and all(r.line_item.startswith("default/") for r in only_default.records)
    only_named = fetch(config(fake.url, workspaces=[WORKSPACE]), 5)
    assert only_named.records and all(r.line_item.startswith(f"{WORKSPACE}/") for r in only_named.records)
    everything = fetch(config(fake.url), 5)
    assert len(only_default.records) + len(only_named.records) == len(everything.records)
    assert "workspace" not in "".join(name for name, _ in fake.requests[0].pairs)  # the API has no such filter


# --- money: cents as decimal strings, exact below the cent ---------------------------------------


def test_the_documented_amount_is_a_dollar_and_sub_cent_digits() -> None:
    with FakeAnthropic({TODAY: [result("Claude Sonnet 4 Usage - Input Tokens", "123.78912")]}, token=TOKEN) as fake:
        (record,) = fetch(config(fake.url), 1).records
        assert json.loads(fake_body(fake))["data"][-1]["results"][0]["amount"] == "123.78912"  # a string
    # $1.2378912: kept to the micro-dollar (1/10,000 of a cent), the fifth decimal of the cent rounded half-even.
    assert record.amount == 1_237_891 and decimal_string(record.amount) == "1.237891"


def test_a_json_number_amount_is_read_exactly_too() -> None:
    with FakeAnthropic({TODAY: [result("x", "123.78912")]}, token=TOKEN, numbers=True) as fake:
        assert '"amount": 123.78912' in fake_body(fake)
        (record,) = fetch(config(fake.url), 1).records
    assert record.amount == 1_237_891


def test_a_month_of_sub_cent_amounts_sums_exactly() -> None:
    """Cents with up to four decimals are whole micro-dollars: a month of them sums without any error,
    where binary floats would drift (0.1 + 0.2 cents)."""
    month = {
        TODAY - timedelta(days=n): [result("a", "0.1"), result("b", "0.2"), result("c", "123.7891", WORKSPACE)]
        for n in range(31)
    }
    with FakeAnthropic(month, token=TOKEN, now=lambda: NOW) as fake:
        records = fetch(config(fake.url), 31).records
    assert len(records) == 93
    assert sum(r.amount for r in records) == 38_467_621  # 31 x 124.0891 cents = $38.467621, to the micro-dollar
    assert Decimal(sum(r.amount for r in records)) / 10**6 == anthropic_dollars(month)


def test_finer_than_a_micro_dollar_is_rounded_once_a_day_and_a_month_stays_within_a_tenth_of_a_cent(days) -> None:
    month = {day: results for day, results in days.items() if day > TODAY - timedelta(days=31)}
    with FakeAnthropic(month, token=TOKEN, now=lambda: NOW) as fake:
        records = fetch(config(fake.url), 31).records
    stored = sum(r.amount for r in records)
    exact = anthropic_dollars(month) * 10**6
    assert stored == stored_micros(month) and exact != stored  # five decimals of a cent: some do not fit
    assert abs(stored - exact) <= Decimal(len(records)) / 2  # at most half a micro-dollar a record
    assert abs(stored - exact) < MICRO_PER_CENT // 10


def test_another_currency_is_refused_by_name() -> None:
    with FakeAnthropic({TODAY: [result("x", "5")]}, token=TOKEN) as fake:
        cfg = Config.model_validate(
            {
                "currency": "EUR",
                "sources": [{"name": "an", "provider": "anthropic", "token": TOKEN, "base_url": fake.url}],
            }
        )
        with pytest.raises(SourceError, match=r"'default/x' is in currency 'USD', not EUR; alertd does not convert"):
            fetch(cfg, 1)


# --- restatement -----------------------------------------------------------------------------------


def test_a_restated_day_is_revised_and_a_vanished_line_item_zeroed(fake, store) -> None:
    yesterday = TODAY - timedelta(days=1)
    fake.set_day(yesterday, [result("kept", "100"), result("gone", "50"), result("web", "7", WORKSPACE)])
    (first,) = poll(config(fake.url), store, ["an"], NOW, retry=ONCE)
    assert first.error is None
    fake.set_day(yesterday, [result("kept", "123.45678"), result("web", "7", WORKSPACE)])
    (second,) = poll(config(fake.url), store, ["an"], NOW + timedelta(hours=1), retry=ONCE)
    assert second.error is None and second.changed == 2
    rows = store.conn.execute(
        "SELECT line_item, amount FROM costs WHERE source = 'an' AND bucket_start = ? ORDER BY 1", (stamp(yesterday),)
    ).fetchall()
    assert rows == [("default/gone", 0), ("default/kept", 1_234_568), (f"{WORKSPACE}/web", 70_000)]
    revisions = store.conn.execute("SELECT line_item, old_amount, new_amount FROM revisions ORDER BY 1").fetchall()
    assert revisions == [("default/gone", 500_000, 0), ("default/kept", 1_000_000, 1_234_568)]


def test_a_day_restated_with_no_costs_at_all_is_zeroed(fake, store) -> None:
    yesterday = TODAY - timedelta(days=1)
    fake.set_day(yesterday, [result("kept", "100"), result("web", "7", WORKSPACE)])
    (first,) = poll(config(fake.url), store, ["an"], NOW, retry=ONCE)
    assert first.error is None
    fake.set_day(yesterday, [])  # the day is still listed, with no results
    (second,) = poll(config(fake.url), store, ["an"], NOW + timedelta(hours=1), retry=ONCE)
    assert second.error is None and second.changed == 2
    rows = store.conn.execute(
        "SELECT line_item, amount FROM costs WHERE source = 'an' AND bucket_start = ? ORDER BY 1", (stamp(yesterday),)
    ).fetchall()
    assert rows == [("default/kept", 0), (f"{WORKSPACE}/web", 0)]


# --- keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, 401, 403])
def test_an_ordinary_key_is_one_line_asking_for_an_admin_key(fake, status: int | None) -> None:
    if status is not None:  # what Anthropic answers for a key without the right, whatever its shape
        fake.faults.append(Fault("status", status=status))
    with pytest.raises(SourceError) as caught:
        fetch(config(fake.url, token=ORDINARY), 2)
    message = str(caught.value)
    assert message.startswith(f"an: HTTP {status or 401}: ") and "\n" not in message and ORDINARY not in message
    assert message.endswith(
        "(this is not an admin key: the cost report needs an Admin API key, sk-ant-admin…,"
        " from Claude Console → Settings → Admin keys)"
    )
    assert len(fake.requests) == 1  # not retried: it needs a person


def test_a_refused_admin_key_gets_the_same_help_without_saying_it_is_ordinary(fake) -> None:
    fake.faults.append(Fault("status", status=403))
    with pytest.raises(SourceError, match=r"HTTP 403: Forbidden \(the cost report needs an Admin API key"):
        fetch(config(fake.url), 2)


# --- every fault mode: a clean, named failure of that source ---------------------------------------

R = "data.0.results.0."


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("status", status=500), "HTTP 500: Internal Server Error (gave up after 1 attempts)"),
        (Fault("status", status=529), "HTTP 529"),
        (Fault("status", status=429, retry_after="0"), "HTTP 429: Too Many Requests (gave up"),
        (Fault("status", status=422), "HTTP 422: Unprocessable Entity"),
        (Fault("status", status=400), "HTTP 400: Bad Request"),
        (Fault("delay", seconds=1.5), "timed out"),
        (Fault("trickle", seconds=0.3), "timed out"),
        (Fault("garbled"), "the response is not valid JSON"),
        (Fault("drop"), "connection failed"),
        (Fault("body", body=b'{"data": {"buckets": []}}'), "unexpected response shape (no data list)"),
        (Fault("body", body=b'{"data": [{"starting_at": NaN}]}'), "NaN is not a number"),
        (Fault("edit", edit=put(R + "amount", "12,5")), "amount of 'default/Probe' is '12,5', not an amount"),
        (Fault("edit", edit=put(R + "amount", "-1")), "is '-1', a negative amount"),
        (Fault("edit", edit=put(R + "amount", "1e308")), "is '1e308', not an amount"),
        (Fault("edit", edit=put(R + "amount", None)), "is null, not an amount"),
        (Fault("edit", edit=put(R + "currency", "EUR")), "is in currency 'EUR', not USD"),
        (Fault("edit", edit=put(R + "description", 7)), "a description is not a string"),
        (Fault("edit", edit=duplicate("data.0.results.0")), "is listed twice in one response"),
        (Fault("edit", edit=put("data.0.starting_at", "yesterday")), "starting_at is 'yesterday', not an RFC 3339"),
        (Fault("edit", edit=put("data.0.ending_at", "2026-02-30T00:00:00Z")), "not an RFC 3339 time"),
        (Fault("edit", edit=put("data.0.starting_at", "2026-01-01T12:00:00Z")), "not one UTC day"),
        (Fault("edit", edit=put("data.0.results", {"a": 1})), "results is not a list"),
        (Fault("no_cursor"), "has_more is true but next_page is not a page token"),
        (Fault("repeat_cursor"), "the API returned the same page cursor twice"),
    ],
    ids=lambda value: value.kind if isinstance(value, Fault) else "",
)
def test_each_fault_is_a_named_failure_of_the_source_and_stores_nothing(store, fault: Fault, reason: str) -> None:
    days = anthropic_days(TODAY - timedelta(days=40), 41, seed=4)
    for results in days.values():  # whichever day comes first, its first result is this one
        results.insert(0, result("Probe", "1"))
    with FakeAnthropic(days, token=TOKEN, now=lambda: NOW) as fake:
        fake.faults.append(fault)
        (outcome,) = poll(config(fake.url), store, ["an"], NOW, retry=ONCE)
    assert outcome.error is not None and outcome.error.startswith("an: ") and reason in outcome.error
    assert "\n" not in outcome.error and TOKEN not in outcome.error
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0
    logged = store.last_fetch("an")
    assert logged is not None and logged.status == "error" and logged.error == outcome.error


def test_a_429_asking_for_an_hour_fails_at_once_rather_than_stall_the_poll(fake) -> None:
    fake.faults.append(Fault("status", status=429, retry_after="3600"))
    with pytest.raises(SourceError, match=r"^an: the server asks to wait 3600s before retrying$"):
        fetch(config(fake.url), 2)


def test_a_429_then_a_500_then_success(fake) -> None:
    fake.faults.extend([Fault("status", status=429, retry_after="0"), Fault("status", status=500)])
    assert fetch(config(fake.url), 2).records and len(fake.requests) == 3


# --- the fake speaks the API: its validation -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "headers", "status", "message"),
    [
        ({}, {}, 400, "starting_at: Field required"),
        ({"starting_at": "2026-11-01"}, {}, 400, "starting_at must be an RFC 3339 timestamp"),
        ({"starting_at": "2026-11-01T00:00:00Z", "limit": "32"}, {}, 400, "limit must be between 1 and 31"),
        ({"starting_at": "2026-11-01T00:00:00Z", "limit": "0"}, {}, 400, "limit must be between 1 and 31"),
        ({"starting_at": "2026-11-01T00:00:00Z", "bucket_width": "1h"}, {}, 400, "bucket_width: Input should be '1d'"),
        ({"starting_at": "2026-11-01T00:00:00Z", "group_by[]": "model"}, {}, 400, "group_by[]: Input should be"),
        ({"starting_at": "2026-11-01T00:00:00Z", "group_by": "description"}, {}, 400, "Extra inputs"),
        ({"starting_at": "2026-11-01T00:00:00Z", "page": "made-up"}, {}, 400, "invalid or unknown cursor"),
        ({"starting_at": "2026-11-02T00:00:00Z", "ending_at": "2026-11-01T00:00:00Z"}, {}, 400, "must be after"),
        ({"starting_at": "2026-11-01T00:00:00Z"}, {"anthropic-version": ""}, 400, "anthropic-version"),
        ({"starting_at": "2026-11-01T00:00:00Z"}, {"x-api-key": ""}, 401, "x-api-key header is required"),
        ({"starting_at": "2026-11-01T00:00:00Z"}, {"x-api-key": ORDINARY}, 401, "invalid x-api-key"),
    ],
)
def test_the_fake_refuses_what_the_api_refuses_with_its_error_body(
    fake, params: dict, headers: dict, status: int, message: str
) -> None:
    sent = {"x-api-key": TOKEN, "anthropic-version": "2023-06-01", **headers}
    response = httpx.get(f"{fake.url}/v1/organizations/cost_report", params=params, headers=sent)
    body = response.json()
    assert response.status_code == status and body["type"] == "error" and message in body["error"]["message"]
    assert body["error"]["type"] == {400: "invalid_request_error", 401: "authentication_error"}[status]


def test_the_fake_snaps_starting_at_serves_seven_buckets_by_default_and_nulls_ungrouped_fields(fake) -> None:
    headers = {"x-api-key": TOKEN, "anthropic-version": "2023-06-01"}
    start = f"{TODAY - timedelta(days=20)}T13:45:00.5+00:00"
    body = httpx.get(f"{fake.url}/v1/organizations/cost_report", params={"starting_at": start}, headers=headers).json()
    assert len(body["data"]) == 7 and body["has_more"] is True and body["next_page"]
    assert body["data"][0]["starting_at"] == f"{TODAY - timedelta(days=20)}T00:00:00Z"
    (total,) = body["data"][0]["results"]  # ungrouped: one sum a day, described by nothing
    assert total["workspace_id"] is None and total["description"] is None and isinstance(total["amount"], str)
    by_workspace = httpx.get(
        f"{fake.url}/v1/organizations/cost_report",
        params={"starting_at": start, "group_by[]": "workspace_id", "limit": "1"},
        headers=headers,
    ).json()
    assert {r["workspace_id"] for r in by_workspace["data"][0]["results"]} == set(ANTHROPIC_WORKSPACES)
    assert sum(Decimal(r["amount"]) for r in by_workspace["data"][0]["results"]) == Decimal(total["amount"])


# --- any JSON: records that are all sound, or a SourceError ---------------------------------------

_MIDNIGHTS = st.integers(-3, 4).map(lambda d: f"{TODAY + timedelta(days=d)}T00:00:00Z")
_TIME = _MIDNIGHTS | st.sampled_from(["2026-02-30T00:00:00Z", "2026-11-01T00:00:00+01:00"]) | _SCALARS
_RESULT = _JSON | st.fixed_dictionaries(
    {"amount": _SCALARS | st.sampled_from(["123.78912", "0.00001"])},
    optional={
        "description": st.sampled_from(["a", " a ", ""]) | _SCALARS,
        "workspace_id": st.sampled_from(["default", "wrkspc_1", None]) | _SCALARS,
        "currency": st.sampled_from(["USD", "usd"]) | _SCALARS,
    },
)
_BUCKET = _JSON | st.fixed_dictionaries(
    {"starting_at": _TIME, "ending_at": _TIME}, optional={"results": st.lists(_RESULT, max_size=4) | _JSON}
)


@_PROPERTY
@given(st.lists(_BUCKET, max_size=5), st.sampled_from([None, frozenset({"default"})]))
def test_any_cost_report_gives_sound_records_or_a_source_error(buckets: list[Any], workspaces) -> None:
    start = stamp(TODAY - timedelta(days=1))
    try:
        records = cost_records("an", buckets, start, start + 3 * DAY, "USD", workspaces)
    except SourceError as exc:
        assert str(exc).startswith("an: ") and "\n" not in str(exc)
        return
    _sound(records, start, start + 3 * DAY, DAY)


@pytest.fixture(scope="module")
def quiet_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic({}, token=TOKEN, now=lambda: NOW) as server:
        yield server


_ENVELOPE = _JSON | st.fixed_dictionaries(
    {"data": st.lists(_BUCKET, max_size=3) | _JSON},
    optional={"has_more": _SCALARS, "next_page": _SCALARS | st.just("page_x")},
)


@settings(_PROPERTY, max_examples=100)
@given(_ENVELOPE)
def test_any_response_body_over_http_gives_records_or_a_source_error(quiet_fake, body: Any) -> None:
    quiet_fake.faults.clear()
    quiet_fake.faults.append(Fault("body", body=to_json(body).encode()))
    try:
        result = fetch(config(quiet_fake.url), 2, retry=ONCE)
    except SourceError as exc:
        assert str(exc).startswith("an: ") and "\n" not in str(exc) and TOKEN not in str(exc)
        return
    _sound(result.records, stamp(TODAY - timedelta(days=2)), stamp(TODAY + timedelta(days=1)), DAY)


# --- a year's backfill through the command line ----------------------------------------------------


@pytest.mark.slow
def test_a_years_backfill_from_a_flaky_api_reports_the_apis_own_total(write, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    today = now.date()
    data = anthropic_days(today - timedelta(days=365), 366, seed=8)
    with FakeAnthropic(data, token=TOKEN, fail_rate=0.15, seed=3) as fake:
        rules = write(
            "rules.yaml",
            f"""
            timezone: UTC
            database: costs.db
            sources:
              - {{name: anthropic, provider: anthropic, token: "${{ANTHROPIC_ADMIN_KEY}}", base_url: "{fake.url}"}}
            """,
        )
        env = {"ANTHROPIC_ADMIN_KEY": TOKEN}
        since = (today - timedelta(days=365)).isoformat()
        first = run_cli("backfill", "-c", str(rules), "--since", since, "--log-level", "debug", env=env)
        assert first.returncode == 0, first.stderr
        until = (today + timedelta(days=1)).isoformat()
        report = run_cli("report", "-c", str(rules), "--json", "--since", since, "--until", until, env=env)
        assert report.returncode == 0, report.stderr
        total = Decimal(json.loads(report.stdout)["total"])
        # To the micro-dollar: what the API sent, each day and line item rounded half-even once.
        assert total * 10**6 == stored_micros(data)
        assert abs(total - anthropic_dollars(data)) < Decimal("0.01")  # and within a cent of the exact sum

        db = sqlite3.connect(tmp_path / "costs.db")
        snapshot = db.execute("SELECT bucket_start, line_item, amount FROM costs ORDER BY 1, 2").fetchall()
        second = run_cli("backfill", "-c", str(rules), "--since", since, env=env)
        assert second.returncode == 0 and "0 new or revised" in second.stdout, second.stdout + second.stderr
        assert db.execute("SELECT bucket_start, line_item, amount FROM costs ORDER BY 1, 2").fetchall() == snapshot
        assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0

        wrong = write("wrong.yaml", rules.read_text().replace("costs.db", "wrong.db"))
        refused = run_cli("backfill", "-c", str(wrong), "--since", since, env={"ANTHROPIC_ADMIN_KEY": ORDINARY})
    assert refused.returncode == 1 and "this is not an admin key" in refused.stdout
    assert "anthropic: 0 rows" in refused.stdout

    # The keys never reach the output, the logs (debug) or the database.
    everything = first.stdout + first.stderr + second.stdout + second.stderr + report.stdout
    everything += refused.stdout + refused.stderr
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("*.db*"))
    for secret in (TOKEN, ORDINARY):
        assert secret not in everything and secret.encode() not in raw


def fake_body(fake: FakeAnthropic) -> str:
    """The fake's raw answer for today, as the API would write it."""
    response = httpx.get(
        f"{fake.url}/v1/organizations/cost_report",
        params={"starting_at": f"{TODAY}T00:00:00Z", "group_by[]": ["workspace_id", "description"]},
        headers={"x-api-key": fake.token, "anthropic-version": "2023-06-01"},
    )
    return response.text
