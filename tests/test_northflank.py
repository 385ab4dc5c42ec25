"""The Northflank source against a real HTTP fake speaking the endpoint page's shapes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd.config import Config
from alertd.ingest import backfill
from alertd.model import Window, utc
from alertd.simulate._server import Fault
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import northflank_dollars, northflank_hours
from alertd.sources import SourceError, build
from alertd.sources.http import RetryPolicy
from alertd.store import Store

H = 3600
END = 1_790_000_000 - 1_790_000_000 % H
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)
TOKEN = "nf-canary-token-0451"


def config(url: str, **extra: object) -> Config:
    source = {"name": "nf", "provider": "northflank", "token": TOKEN, "base_url": url, "timeout": "2s", **extra}
    return Config.model_validate({"sources": [source]})


@pytest.fixture
def usage() -> dict[int, dict]:
    return northflank_hours(END - 40 * 24 * H, 40 * 24, seed=7)


@pytest.fixture
def fake(usage: dict[int, dict]) -> Iterator[FakeNorthflank]:
    with FakeNorthflank(usage, token=TOKEN) as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "a.db", ZoneInfo("UTC"))
    yield s
    s.close()


def fetch(cfg: Config, window: Window):
    source = build(cfg, "nf", FAST)
    try:
        return source.fetch(window)
    finally:
        source.close()


def test_forty_days_over_many_pages_add_up_to_the_providers_totals(fake, usage) -> None:
    result = fetch(config(fake.url), Window(utc(END - 40 * 24 * H), utc(END)))
    cursors = [r.query.get("cursor") for r in fake.requests]
    assert len(fake.requests) == 10 and cursors[0] is None and all(cursors[1:])
    assert all(r.query["per_page"] == "100" and r.headers["authorization"] == f"Bearer {TOKEN}" for r in fake.requests)
    assert sum(r.amount for r in result.records) == northflank_dollars(usage) * 1_000_000
    hours = {r.bucket_start for r in result.records}
    assert hours == set(usage) and all(r.bucket_seconds == H for r in result.records)
    # Each hour's items add up exactly to paas total + byoc total.
    for ts in list(usage)[:50]:
        expected = northflank_dollars({ts: usage[ts]}) * 1_000_000
        assert sum(r.amount for r in result.records if r.bucket_start == ts) == expected
    items = {r.line_item for r in result.records}
    assert {"paas.cpu", "paas.memory", "paas.storage", "paas.gpu", "byoc.vcpu", "byoc.gpu_memory"} <= items
    assert items <= {
        *("paas.cpu", "paas.memory", "paas.storage", "paas.gpu", "paas.other"),
        *("byoc.vcpu", "byoc.memory", "byoc.gpu_memory", "byoc.cluster", "byoc.other"),
    }
    assert "paas.other" in items or "byoc.other" in items  # the generator leaves ~1 hour in 50 un-itemised


def test_window_is_sent_as_start_inclusive_end_exclusive(fake) -> None:
    fetch(config(fake.url), Window(utc(END - 5 * H), utc(END - 2 * H)))
    (request,) = fake.requests
    assert (request.query["startTime"], request.query["endTime"]) == (str(END - 5 * H), str(END - 2 * H))


def test_team_scoped_source_uses_the_team_path_and_can_leave_byoc_out(usage) -> None:
    team = {ts: {**e, "paasUsage": e["paasUsage"]} for ts, e in list(usage.items())[-24:]}
    with FakeNorthflank({}, teams={"team-a": team}, token=TOKEN) as server:
        result = fetch(config(server.url, team="team-a", byoc=False), Window(utc(END - 24 * H), utc(END)))
        assert server.requests[0].path == "/v1/teams/team-a/billing/usage"
    assert {r.line_item.split(".")[0] for r in result.records} == {"paas"}


def test_unit_currency_reads_prices_as_currency_units(usage) -> None:
    hour = {END - H: usage[END - H]}
    with FakeNorthflank(hour, token=TOKEN) as server:
        cents = fetch(config(server.url), Window(utc(END - H), utc(END)))
        units = fetch(config(server.url, unit="currency"), Window(utc(END - H), utc(END)))
    assert sum(r.amount for r in units.records) == 100 * sum(r.amount for r in cents.records)


def test_a_revised_hour_is_stored_with_its_revision(fake, usage, store) -> None:
    cfg = config(fake.url)
    window = Window(utc(END - 24 * H), utc(END))
    backfill(cfg, store, window, ["nf"], retry=FAST)
    revised = {**usage[END - H]}
    revised["paasUsage"] = {"price": {**revised["paasUsage"]["price"], "cpu": 999, "total": 1999}}
    fake.set_hour(END - H, revised)
    (outcome,) = backfill(cfg, store, window, ["nf"], retry=FAST)
    assert outcome.error is None and outcome.changed >= 1
    rows = store.conn.execute("SELECT line_item, new_amount FROM revisions ORDER BY line_item").fetchall()
    assert ("paas.cpu", 9_990_000) in rows
    hour = store.conn.execute("SELECT sum(amount) FROM costs WHERE bucket_start = ?", (END - H,)).fetchone()[0]
    byoc = Decimal(str(revised["byocUsage"]["price"]["total"])) if "byocUsage" in revised else 0
    assert hour == (1999 + byoc) * 10_000


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=500),
        Fault("status", status=503),
        Fault("status", status=429, retry_after="1"),
        Fault("garbled"),
        Fault("drop"),
        Fault("delay", seconds=3),  # longer than the 2 s timeout
    ],
    ids=["500", "503", "429-retry-after", "garbled-json", "dropped-connection", "timeout"],
)
def test_passing_failures_are_retried(fake, fault) -> None:
    fake.faults.append(fault)
    started = time.monotonic()
    result = fetch(config(fake.url), Window(utc(END - 3 * H), utc(END)))
    assert len({r.bucket_start for r in result.records}) == 3
    assert len(fake.requests) == 2
    if fault.retry_after:
        assert time.monotonic() - started >= 1.0  # honoured Retry-After


def test_persistent_failure_names_source_and_status_and_stores_nothing(fake, store) -> None:
    fake.faults.extend([Fault("status", status=502)] * 10)
    (outcome,) = backfill(config(fake.url), store, Window(utc(END - 3 * H), utc(END)), ["nf"], retry=FAST)
    assert outcome.error is not None and outcome.error.startswith("nf: HTTP 502")
    assert "gave up after 4 attempts" in outcome.error
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0
    assert store.conn.execute("SELECT count(*) FROM fetches").fetchone()[0] == 1
    log = store.last_fetch("nf")
    assert log is not None and log.status == "error" and log.error == outcome.error


def test_a_failure_on_a_later_page_leaves_nothing_half_written(fake, store) -> None:
    fake.faults.extend([Fault("delay", seconds=0)] + [Fault("garbled")] * 10)  # page 1 fine, page 2 never
    (outcome,) = backfill(config(fake.url), store, Window(utc(END - 300 * H), utc(END)), ["nf"], retry=FAST)
    assert outcome.error and "not valid JSON" in outcome.error
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0


def test_wrong_token_is_a_clear_error_without_the_token(fake) -> None:
    cfg = Config.model_validate(
        {"sources": [{"name": "nf", "provider": "northflank", "token": "wrong-token-123", "base_url": fake.url}]}
    )
    with pytest.raises(SourceError) as caught:
        fetch(cfg, Window(utc(END - H), utc(END)))
    assert str(caught.value).startswith("nf: HTTP 401")
    assert "check the token" in str(caught.value) and "wrong-token-123" not in str(caught.value)
    assert len(fake.requests) == 1  # a 4xx is not retried


def test_repeated_cursor_stops_instead_of_looping(fake) -> None:
    fake.faults.extend([Fault("repeat_cursor")] * 5)
    with pytest.raises(SourceError, match="same page cursor twice"):
        fetch(config(fake.url), Window(utc(END - 300 * H), utc(END)))
    assert len(fake.requests) <= 3


def test_missing_cursor_falls_back_to_page_numbers(fake, usage) -> None:
    fake.faults.append(Fault("no_cursor"))
    result = fetch(config(fake.url), Window(utc(END - 150 * H), utc(END)))
    assert len({r.bucket_start for r in result.records}) == 150
    assert fake.requests[1].query.get("page") == "2"


def test_exhausted_rate_limit_pauses_until_reset(usage) -> None:
    with FakeNorthflank(usage, token=TOKEN, ratelimit=2) as server:
        started = time.monotonic()
        with pytest.raises(SourceError, match="rate limit spent"):
            # The fake's hourly window resets in ~3600 s: more than alertd will sleep.
            fetch(config(server.url), Window(utc(END - 300 * H), utc(END)))
        assert time.monotonic() - started < 5
