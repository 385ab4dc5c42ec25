"""The OpenAI organization costs source against a real HTTP fake speaking the API reference's shapes."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.config import Config
from alertd.ingest import poll
from alertd.model import Window
from alertd.simulate._server import Fault
from alertd.simulate.openai import FakeOpenAI
from alertd.simulate.poison import duplicate, put, shift
from alertd.simulate.spend import OPENAI_PROJECTS, openai_days, openai_dollars
from alertd.sources import SourceError, build
from alertd.sources.http import RetryPolicy
from alertd.sources.openai import cost_records
from alertd.sources.values import MAX_AMOUNT
from alertd.store import Store
from tests.conftest import run_cli

NOW = datetime.now(UTC).replace(hour=15, minute=30, second=0, microsecond=0)
TODAY = NOW.date()
DAY = 86400
MIDNIGHT = int(datetime.combine(TODAY, datetime.min.time(), UTC).timestamp())
TOKEN = "sk-admin-cnryOpenAi-4Q7x"
PROJECT_KEY = "sk-proj-cnryProjKey-8Z2w"
P1, P2 = OPENAI_PROJECTS
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
ONCE = RetryPolicy(attempts=1)
TWICE = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
REFUSED = "an admin key (sk-admin-…) is needed; project keys cannot read organization costs"


def config(url: str, token: str = TOKEN, **extra: object) -> Config:
    source = {"name": "oa", "provider": "openai", "token": token, "base_url": url, "timeout": "1s", **extra}
    return Config.model_validate({"sources": [source], "database": "unused.db"})


def fetch(cfg: Config, start: datetime, end: datetime, retry: RetryPolicy = FAST):
    source = build(cfg, "oa", retry)
    try:
        return source.fetch(Window(start, end), now=NOW)  # type: ignore[call-arg]
    finally:
        source.close()


@pytest.fixture
def days() -> dict[date, list[dict[str, Any]]]:
    return openai_days(TODAY - timedelta(days=60), 61, seed=3)


@pytest.fixture
def fake(days) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(days, token=TOKEN, project_key=PROJECT_KEY, now=lambda: NOW) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as s:
        yield s


def test_sixty_days_in_one_page_by_project_and_line_item(fake, days) -> None:
    result = fetch(config(fake.url), NOW - timedelta(days=60), NOW)
    (request,) = fake.requests
    assert request.query == {
        "start_time": str(MIDNIGHT - 60 * DAY),
        "end_time": str(MIDNIGHT + DAY),  # through today, which is still growing
        "bucket_width": "1d",
        "group_by": "line_item",
        "limit": "180",
    }
    assert request.values("group_by") == ["project_id", "line_item"]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert sum(r.amount for r in result.records) == openai_dollars(days) * 1_000_000
    assert all(r.bucket_seconds == DAY and r.currency == "USD" and r.bucket_start % DAY == 0 for r in result.records)
    items = {r.line_item for r in result.records}
    assert {item.split("/")[0] for item in items} == {P1, P2, "unattributed"}
    assert any(item.endswith("/gpt-4o-2024-08-06, input") for item in items)
    assert "unattributed/fine-tuning storage" in items  # a cost of no project
    assert result.complete_buckets  # a day restated without a line item zeroes it


def test_many_pages_when_the_server_returns_fewer_buckets_than_asked(days) -> None:
    with FakeOpenAI(days, token=TOKEN, now=lambda: NOW, page_buckets=4) as server:
        result = fetch(config(server.url), NOW - timedelta(days=60), NOW)
        pages = server.requests
    assert len(pages) == 16 and all(p.query["page"] for p in pages[1:])
    assert len({p.query.get("page") for p in pages}) == 16
    assert sum(r.amount for r in result.records) == openai_dollars(days) * 1_000_000


def test_project_ids_are_sent_as_an_array_and_filter_the_costs(fake, days) -> None:
    result = fetch(config(fake.url, project_ids=[P1]), NOW - timedelta(days=60), NOW)
    assert fake.requests[0].values("project_ids") == [P1]
    assert {r.line_item.split("/")[0] for r in result.records} == {P1}
    assert sum(r.amount for r in result.records) == openai_dollars(days, (P1,)) * 1_000_000


def test_a_result_of_a_project_not_asked_for_is_an_error_not_counted(fake) -> None:
    fake.faults.append(Fault("edit", edit=put("data.0.results.0.project_id", "proj_other")))
    with pytest.raises(SourceError, match=r"project 'proj_other' is not in project_ids; the filter was not applied"):
        fetch(config(fake.url, project_ids=[P1, P2]), NOW - timedelta(days=2), NOW, ONCE)


def test_an_empty_project_filter_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match="project_ids"):
        config("http://127.0.0.1:1", project_ids=[])


def test_team_is_refused_on_an_openai_source_rather_than_ignored() -> None:
    with pytest.raises(ValueError, match="team"):
        config("http://127.0.0.1:1", team="t")


BODY = """{"object": "page", "has_more": false, "next_page": null, "data": [{"object": "bucket",
 "start_time": %d, "end_time": %d, "results": [
  {"object": "organization.costs.result", "amount": {"value": 0.06, "currency": "usd"}, "line_item": "a", "project_id": "p"},
  {"amount": {"value": 1e-7, "currency": "usd"}, "line_item": "tiny", "project_id": "p"},
  {"amount": {"value": 0.0000015, "currency": "USD"}, "line_item": "half up to even", "project_id": "p"},
  {"amount": {"value": 0.0000025, "currency": "usd"}, "line_item": "half down to even", "project_id": "p"},
  {"amount": {"value": 123.456789012345678901234, "currency": "usd"}, "line_item": "many decimals", "project_id": "p"},
  {"amount": {"value": 0.30000000000000004, "currency": "usd"}, "line_item": "a float's digits", "project_id": "p"},
  {"amount": {"value": 6E+2, "currency": "usd"}, "line_item": "exponent", "project_id": "p"},
  {"amount": {"value": 7, "currency": "usd"}, "line_item": "integer", "project_id": "p"},
  {"amount": {"value": "0.10", "currency": "usd"}, "line_item": "string", "project_id": "p"},
  {"amount": {"value": 999999999.999999, "currency": "usd"}, "line_item": "largest", "project_id": null},
  {"amount": {"value": 0, "currency": "usd"}, "line_item": null, "project_id": "  "}
 ]}]}"""


def test_amounts_are_exact_to_the_micro_unit(fake) -> None:
    fake.faults.append(Fault("body", body=(BODY % (MIDNIGHT - DAY, MIDNIGHT)).encode()))
    result = fetch(config(fake.url), NOW - timedelta(days=1), NOW, ONCE)
    assert {r.line_item: r.amount for r in result.records} == {
        "p/a": 60_000,
        "p/tiny": 0,
        "p/half up to even": 2,
        "p/half down to even": 2,
        "p/many decimals": 123_456_789,
        "p/a float's digits": 300_000,
        "p/exponent": 600_000_000,
        "p/integer": 7_000_000,
        "p/string": 100_000,
        "unattributed/largest": 999_999_999_999_999,
        "unattributed/unattributed": 0,
    }


def test_amounts_sent_as_strings_are_read_exactly_too(days) -> None:
    with FakeOpenAI(days, token=TOKEN, now=lambda: NOW, strings=True) as server:
        result = fetch(config(server.url), NOW - timedelta(days=60), NOW)
        raw = httpx.get(
            f"{server.url}/v1/organization/costs",
            params={"start_time": MIDNIGHT - DAY, "group_by": "line_item"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ).json()
    assert all(isinstance(r["amount"]["value"], str) for r in raw["data"][0]["results"])
    assert sum(r.amount for r in result.records) == openai_dollars(days) * 1_000_000


def test_another_currency_is_an_error_naming_it_never_added(days) -> None:
    with FakeOpenAI(days, token=TOKEN, now=lambda: NOW, currency="eur") as server, pytest.raises(SourceError) as caught:
        fetch(config(server.url), NOW - timedelta(days=2), NOW, ONCE)
    assert "is in currency 'eur', not USD; alertd does not convert currencies" in str(caught.value)


def test_a_configured_currency_matches_the_apis_lower_case(days) -> None:
    with FakeOpenAI(days, token=TOKEN, now=lambda: NOW, currency="eur") as server:
        cfg = config(server.url).model_copy(update={"currency": "EUR"})
        result = fetch(cfg, NOW - timedelta(days=2), NOW)
    assert result.records and {r.currency for r in result.records} == {"EUR"}


@pytest.mark.parametrize(
    ("key", "status"),
    [(PROJECT_KEY, 403), ("sk-proj-unknownKey-1", 401), ("sk-svcacct-unknown-2", 401)],
)
def test_a_key_that_is_not_an_admin_key_is_one_clear_line(fake, store, key: str, status: int) -> None:
    (outcome,) = poll(config(fake.url, token=key), store, ["oa"], NOW, retry=FAST)
    error = outcome.error or ""
    assert error.startswith(f"oa: HTTP {status}: ") and error.endswith(f" ({REFUSED})") and "\n" not in error
    assert len(fake.requests) == 1  # a refusal needs a person, not a retry
    logged = store.last_fetch("oa")
    assert logged is not None and logged.status == "error" and logged.error == outcome.error


def test_a_wrong_admin_key_is_said_to_be_wrong(fake) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(config(fake.url, token="sk-admin-revoked-3"), NOW - timedelta(days=1), NOW)
    assert str(caught.value) == "oa: HTTP 401: Incorrect API key provided. (the admin key is mistyped or was revoked)"


def test_a_restated_day_is_recorded_as_revisions_and_a_vanished_line_item_is_zeroed(fake, days, store) -> None:
    (first,) = poll(config(fake.url), store, ["oa"], NOW, retry=FAST)
    assert first.error is None and first.rows > 0
    yesterday = TODAY - timedelta(days=1)
    kept, dropped, *_ = [r for r in days[yesterday] if r["project_id"] == P1]
    fake.set_day(yesterday, [kept | {"amount": Decimal(str(kept["amount"])) + Decimal("0.25")}])
    later = NOW + timedelta(hours=1)
    (second,) = poll(config(fake.url), store, ["oa"], later, retry=FAST)
    assert second.error is None and second.changed >= 2
    at = MIDNIGHT - DAY

    def amount(result: dict[str, Any]) -> int:
        return int(Decimal(str(result["amount"])) * 1_000_000)

    revisions = dict(
        store.conn.execute(
            "SELECT line_item, new_amount - old_amount FROM revisions WHERE source = 'oa' AND bucket_start = ?", (at,)
        ).fetchall()
    )
    assert revisions[f"{P1}/{kept['line_item']}"] == 250_000
    assert revisions[f"{P1}/{dropped['line_item']}"] == -amount(dropped)
    stored = dict(store.conn.execute("SELECT line_item, amount FROM costs WHERE bucket_start = ?", (at,)).fetchall())
    assert stored[f"{P1}/{dropped['line_item']}"] == 0
    assert stored[f"{P1}/{kept['line_item']}"] == amount(kept) + 250_000
    assert sum(stored.values()) == amount(kept) + 250_000
    earlier = MIDNIGHT - 30 * DAY  # outside the look-back: untouched
    assert not store.conn.execute("SELECT 1 FROM revisions WHERE bucket_start = ?", (earlier,)).fetchall()


# --- every fault ends as a clean, named failure of the source ----------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("status", status=500), "oa: HTTP 500: Internal Server Error (gave up after 2 attempts)"),
        (Fault("status", status=503, retry_after="0"), "oa: HTTP 503: Service Unavailable (gave up after 2 attempts)"),
        (Fault("status", status=429, retry_after="0"), "oa: HTTP 429: Too Many Requests (gave up after 2 attempts)"),
        (Fault("status", status=429, retry_after="3600"), "oa: the server asks to wait 3600s before retrying"),
        (Fault("status", status=422), "oa: HTTP 422: Unprocessable Entity"),
        (Fault("status", status=400), "oa: HTTP 400: Bad Request"),
        (Fault("status", status=404), "oa: HTTP 404: Not Found"),
        (Fault("delay", seconds=1.5), "oa: timed out (gave up after 2 attempts)"),
        (Fault("garbled"), "oa: the response is not valid JSON (Expecting value) (gave up after 2 attempts)"),
        (Fault("drop"), "oa: connection failed (RemoteProtocolError) (gave up after 2 attempts)"),
        (Fault("trickle", seconds=0.3), "oa: timed out (gave up after 2 attempts)"),
        (Fault("trickle", seconds=0.3, body=b" "), "oa: timed out (gave up after 2 attempts)"),
        (
            Fault("body", body=b'{"data": [{"start_time": NaN}]}'),
            "not valid JSON (NaN is not a number) (gave up after 2",
        ),
        (Fault("body", body=b'{"data": {"usage": []}}'), "oa: unexpected response shape (no data list)"),
        (Fault("body", body=b'{"data": [], "has_more": true}'), "oa: has_more is true but next_page is not a page"),
        (Fault("edit", edit=put("data.0.results.0.amount.value", Decimal("1e308"))), "is 1E+308, not an amount"),
        (Fault("edit", edit=put("data.0.results.0.amount.value", "-3")), "is '-3', a negative amount"),
        (Fault("edit", edit=put("data.0.results.0.amount.value", "１２")), "is '１２', not an amount"),
        (Fault("edit", edit=put("data.0.results.0.amount.value", True)), "is True, not an amount"),
        (Fault("edit", edit=put("data.0.results.0.amount.value", Decimal(MAX_AMOUNT) + 1)), "not an amount"),
        (Fault("edit", edit=put("data.0.results.0.amount", 0.5)), "has no amount.value"),
        (Fault("edit", edit=put("data.0.results.0.amount.currency", None)), "is in currency missing, not USD"),
        (Fault("edit", edit=put("data.0.results.0.line_item", 5)), "a line_item is not a string"),
        (Fault("edit", edit=put("data.0.results", {})), "results is not a list"),
        (Fault("edit", edit=put("data.0.start_time", "soon")), "bucket 1: start_time is 'soon', not a unix time"),
        (Fault("edit", edit=shift("data.0.start_time", 3600)), "not one UTC day"),
        (Fault("edit", edit=shift("data.0.end_time", DAY)), "not one UTC day"),
        (Fault("edit", edit=duplicate("data.0.results.0")), "is listed twice in one response"),
        (Fault("edit", edit=put("data.0", [])), "oa: bucket 1 is not an object"),
    ],
)
def test_a_fault_is_a_clean_named_failure_that_stores_nothing(fake, store, fault: Fault, reason: str) -> None:
    fake.faults.extend([fault] * (2 if "gave up" in reason else 1))
    (outcome,) = poll(config(fake.url), store, ["oa"], NOW, retry=TWICE)
    assert outcome.error is not None and reason in outcome.error, outcome.error
    assert outcome.error.startswith("oa: ") and "\n" not in outcome.error and TOKEN not in outcome.error
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0
    logged = store.last_fetch("oa")
    assert logged is not None and logged.status == "error"


def test_a_transient_fault_then_success(fake, store) -> None:
    fake.faults.extend([Fault("status", 500), Fault("status", 429, retry_after="0"), Fault("drop")])
    (outcome,) = poll(config(fake.url), store, ["oa"], NOW, retry=RetryPolicy(attempts=4, base_delay=0.01))
    assert outcome.error is None and outcome.rows > 0 and len(fake.requests) == 4


def test_the_fake_validates_the_query_as_the_api_does(fake) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    start = str(MIDNIGHT - DAY)

    def status(**query: object) -> tuple[int, str]:
        response = httpx.get(f"{fake.url}/v1/organization/costs", params=query, headers=auth)
        body = response.json()
        return response.status_code, body["error"]["message"] if "error" in body else ""

    assert status()[0] == 400 and "start_time" in status()[1]
    assert status(start_time=start, limit=181)[0] == 400
    assert status(start_time=start, limit=0)[0] == 400
    assert status(start_time=start, bucket_width="1h")[0] == 400
    assert status(start_time=start, group_by="model")[0] == 400
    assert status(start_time=start, end_time=start)[0] == 400
    assert status(start_time=start, page="made-up")[0] == 400
    assert status(start_time=start, **{"group_by[]": ["line_item", "project_id"]})[0] == 200
    default = httpx.get(f"{fake.url}/v1/organization/costs", params={"start_time": MIDNIGHT - 30 * DAY}, headers=auth)
    assert len(default.json()["data"]) == 7 and default.json()["has_more"] is True  # 7 buckets by default
    ungrouped = httpx.get(f"{fake.url}/v1/organization/costs", params={"start_time": start}, headers=auth).json()
    assert all(r["line_item"] is None and r["project_id"] is None for r in ungrouped["data"][0]["results"])
    cursor = default.json()["next_page"]
    other = {"start_time": MIDNIGHT - 20 * DAY, "page": cursor}
    assert httpx.get(f"{fake.url}/v1/organization/costs", params=other, headers=auth).status_code == 400


# --- any response: records that are all sound, or a SourceError -------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "1e308", "-5", "１２", "1_000", "12.5", " 7 ", "usd", "USD", "eur"])
)
_JSON = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
)
_TIME = st.integers(-3, 4).map(lambda d: MIDNIGHT + d * DAY) | st.integers(MIDNIGHT - 5 * DAY, MIDNIGHT + 5 * DAY)
_AMOUNT = _JSON | st.fixed_dictionaries(
    {"value": _SCALARS}, optional={"currency": st.sampled_from(["usd", "USD", "Usd", "eur", "üsd"]) | _SCALARS}
)
_RESULT = _JSON | st.fixed_dictionaries(
    {"amount": _AMOUNT},
    optional={
        "line_item": st.sampled_from(["a", "b", " a ", None]) | _SCALARS,
        "project_id": st.sampled_from(["p1", "p2", None, ""]) | _SCALARS,
    },
)
_BUCKET = _JSON | st.fixed_dictionaries(
    {"start_time": _TIME | _SCALARS, "end_time": _TIME | _SCALARS},
    optional={"results": st.lists(_RESULT, max_size=4) | _JSON},
)
_PROPERTY = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@_PROPERTY
@given(st.lists(_BUCKET, max_size=5), st.sampled_from([None, ("p1",), ("p1", "p2")]))
def test_any_buckets_give_sound_records_or_a_source_error(buckets: list[Any], projects) -> None:
    start, end = MIDNIGHT - DAY, MIDNIGHT + 2 * DAY
    try:
        records = cost_records("oa", buckets, start, end, "USD", projects)
    except SourceError as exc:
        assert str(exc).startswith("oa: ") and "\n" not in str(exc)
        return
    keys = [(r.bucket_start, r.line_item) for r in records]
    assert len(keys) == len(set(keys)), "a day and line item once per response"
    for r in records:
        assert start <= r.bucket_start < end and r.bucket_start % DAY == 0 and r.bucket_seconds == DAY
        project, _, item = r.line_item.partition("/")
        assert project.strip() == project and project and item and r.currency == "USD"
        assert projects is None or project in projects
        assert isinstance(r.amount, int) and 0 <= r.amount <= MAX_AMOUNT * 10**6


@pytest.fixture(scope="module")
def hostile() -> Iterator[FakeOpenAI]:
    with FakeOpenAI({}, token=TOKEN) as server:
        yield server


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    st.binary(max_size=48)
    | _JSON.map(lambda v: json.dumps(v, default=str).encode())
    | st.lists(_BUCKET, max_size=3).map(
        lambda b: json.dumps({"data": b, "has_more": False}, default=lambda d: format(d, "f")).encode()
    )
)
def test_any_body_over_http_gives_records_or_a_source_error(hostile: FakeOpenAI, body: bytes) -> None:
    hostile.faults.append(Fault("body", body=body))
    try:
        result = fetch(config(hostile.url), NOW - timedelta(days=2), NOW, ONCE)
    except SourceError as exc:
        assert str(exc).startswith("oa: ") and "\n" not in str(exc)
        return
    finally:
        hostile.faults.clear()
    assert all(r.amount >= 0 and r.bucket_start % DAY == 0 for r in result.records)


# --- the user's view: a year's backfill, the report, and no secret anywhere ----------------------


@pytest.mark.slow
def test_backfill_a_year_then_report_equals_the_fakes_total_exactly(write, tmp_path: Path) -> None:
    start = TODAY - timedelta(days=365)
    data = openai_days(start, 366, seed=8)
    with FakeOpenAI(data, token=TOKEN, project_key=PROJECT_KEY, fail_rate=0.15, seed=4) as fake:
        rules = write(
            "rules.yaml",
            f"""
            timezone: UTC
            database: costs.db
            sources:
              - {{name: openai, provider: openai, token: "${{OPENAI_ADMIN_KEY}}", base_url: "{fake.url}"}}
              - {{name: project, provider: openai, token: "${{OPENAI_PROJECT_KEY}}", base_url: "{fake.url}"}}
            """,
        )
        env = {"OPENAI_ADMIN_KEY": TOKEN, "OPENAI_PROJECT_KEY": PROJECT_KEY}
        assert run_cli("validate", "-c", str(rules), env=env).returncode == 0
        since, until = start.isoformat(), (TODAY + timedelta(days=1)).isoformat()
        first = run_cli("backfill", "-c", str(rules), "--since", since, "--log-level", "debug", env=env)
        assert first.returncode == 1, first.stderr  # the project key's source failed, and said why
        assert (
            f"project: HTTP 403: You have insufficient permissions for this operation. Missing scopes: api.usage.read. ({REFUSED})"
            in (first.stdout + first.stderr)
        )
        assert "Traceback" not in first.stderr
        report = run_cli("report", "-c", str(rules), "--json", "--since", since, "--until", until, env=env)
        assert report.returncode == 0, report.stderr
        assert Decimal(json.loads(report.stdout)["total"]) == openai_dollars(data)
        requests = len(fake.requests)

        db = sqlite3.connect(tmp_path / "costs.db")
        stored = "SELECT source, bucket_start, line_item, amount FROM costs ORDER BY 1, 2, 3"
        snapshot = db.execute(stored).fetchall()
        again = run_cli("backfill", "-c", str(rules), "--since", since, env=env)
        assert "openai: " in again.stdout and "0 new or revised" in again.stdout
        assert db.execute(stored).fetchall() == snapshot
        assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0
    assert requests >= 3  # 366 days in chunks of one 180-bucket page, and the retries of a flaky API

    everything = first.stdout + first.stderr + report.stdout + again.stdout + again.stderr
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("costs.db*"))
    for secret in (TOKEN, PROJECT_KEY):
        assert secret not in everything and secret.encode() not in raw


def test_the_generated_costs_are_deterministic_and_exact_to_the_micro_unit() -> None:
    first, again = openai_days(date(2026, 1, 1), 40, seed=2), openai_days(date(2026, 1, 11), 30, seed=2)
    assert all(first[day] == again[day] for day in again)
    amounts = [r["amount"] for results in first.values() for r in results]
    assert all(isinstance(a, Decimal) and a >= 0 and a == a.quantize(Decimal("0.000001")) for a in amounts)
    assert any(r["project_id"] is None for results in first.values() for r in results)


def test_a_day_restated_with_no_costs_at_all_is_zeroed(fake, days, store) -> None:
    """The API lists the day with no results: what was stored for it went to zero (revisions)."""
    (first,) = poll(config(fake.url), store, ["oa"], NOW, retry=FAST)
    assert first.error is None
    yesterday = TODAY - timedelta(days=1)
    fake.set_day(yesterday, [])
    (second,) = poll(config(fake.url), store, ["oa"], NOW + timedelta(hours=1), retry=FAST)
    assert second.error is None and second.changed == len(days[yesterday])
    at = MIDNIGHT - DAY
    assert store.conn.execute("SELECT sum(amount) FROM costs WHERE bucket_start = ?", (at,)).fetchone()[0] == 0
    before = MIDNIGHT - 2 * DAY  # the day before, listed with its costs, is untouched
    assert store.conn.execute("SELECT sum(amount) FROM costs WHERE bucket_start = ?", (before,)).fetchone()[0] > 0
