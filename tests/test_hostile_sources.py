"""Hostile provider data: whatever a provider sends, a poll stores a whole validated response or
nothing, and ends as a recorded failure of that source alone, in one line naming the field."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.config import Config
from alertd.ingest import poll
from alertd.model import Window, utc
from alertd.simulate._server import Fault
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.poison import duplicate, put, shift
from alertd.simulate.spend import friendli_days, northflank_hours
from alertd.sources import SourceError, build
from alertd.sources.csvfile import CsvError, read_costs
from alertd.sources.friendli import cost_records
from alertd.sources.http import RetryPolicy, decode
from alertd.sources.northflank import usage_records
from alertd.sources.values import MAX_AMOUNT, iso_utc
from alertd.store import Store
from tests.conftest import run_cli
from tests.receivers import Webhook

H = 3600
DAY = 86400
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
HOUR_NOW = int(NOW.timestamp()) // H * H
NF_TOKEN = "nf-canary-hostile-3391"
FR_TOKEN = "flp_canary_hostile_7720"
ONCE = RetryPolicy(attempts=1)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)
WINDOW = Window(utc(HOUR_NOW - 48 * H), utc(HOUR_NOW + H))

# --- any response: records that are all sound, or a SourceError -------------------------------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["NaN", "1e308", "-5", "１２", "1_000", "12.5", " 7 ", "2026-12-01T00:00:00Z"])
)
_JSON = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
)
_NF_TIMES = st.integers(WINDOW.start_ts - 5 * H, WINDOW.end_ts + 5 * H).map(lambda t: t - t % 1800)
_NF_PRICE = st.dictionaries(st.sampled_from(["total", "cpu", "memory", "storage", "gpu", "vcpu", "cluster"]), _SCALARS)
_NF_BLOCK = _JSON | st.fixed_dictionaries({"price": _JSON | _NF_PRICE})
_NF_ENTRY = _JSON | st.fixed_dictionaries(
    {"timestamp": _NF_TIMES | _SCALARS}, optional={"paasUsage": _NF_BLOCK, "byocUsage": _NF_BLOCK}
)
_DAYS = st.integers(-3, 4).map(lambda d: datetime.fromtimestamp(HOUR_NOW // DAY * DAY + d * DAY, UTC))
_FR_TIME = _DAYS.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")) | _SCALARS
_FR_RESULT = _JSON | st.fixed_dictionaries(
    {"total": _SCALARS}, optional={"line_item": st.sampled_from(["a", "b", " a "]) | _SCALARS}
)
_FR_BUCKET = _JSON | st.fixed_dictionaries(
    {"start_time": _FR_TIME, "end_time": _FR_TIME}, optional={"results": st.lists(_FR_RESULT, max_size=4) | _JSON}
)
_PROPERTY = settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


def _sound(records: list, start: int, end: int, step: int) -> None:
    keys = [(r.bucket_start, r.line_item) for r in records]
    assert len(keys) == len(set(keys)), "a bucket and line item once per response"
    for r in records:
        assert start <= r.bucket_start < end and r.bucket_start % step == 0 and r.bucket_seconds == step
        assert isinstance(r.line_item, str) and r.line_item
        assert isinstance(r.amount, int) and abs(r.amount) <= 2 * MAX_AMOUNT * 10**6
        assert r.amount >= 0 or r.line_item.endswith(".other")  # a total below its rounded-up parts


@_PROPERTY
@given(st.lists(_NF_ENTRY, max_size=6), st.booleans())
def test_any_northflank_usage_gives_sound_records_or_a_source_error(entries: list[Any], byoc: bool) -> None:
    try:
        records = usage_records("nf", entries, WINDOW, "USD", Decimal("0.01"), byoc)
    except SourceError as exc:
        assert str(exc).startswith("nf: ") and "\n" not in str(exc)
        return
    _sound(records, WINDOW.start_ts, WINDOW.end_ts, H)


@_PROPERTY
@given(st.lists(_FR_BUCKET, max_size=5))
def test_any_friendli_cost_gives_sound_records_or_a_source_error(buckets: list[Any]) -> None:
    start = HOUR_NOW // DAY * DAY - DAY
    try:
        records = cost_records("fr", buckets, start, start + 3 * DAY, "USD")
    except SourceError as exc:
        assert str(exc).startswith("fr: ") and "\n" not in str(exc)
        return
    _sound(records, start, start + 3 * DAY, DAY)


@_PROPERTY
@given(
    st.binary(max_size=64)
    | st.text(max_size=64).map(str.encode)
    | st.sampled_from([b"[" * 100_000, b'{"a": [[0.1, 2e3]]}'])
)
def test_any_body_decodes_exactly_or_is_a_value_error(body: bytes) -> None:
    try:
        value = decode(body)
    except ValueError:
        return
    stack = [value]
    while stack:  # no float anywhere inside, however deep
        item = stack.pop()
        assert not isinstance(item, float)
        stack.extend(item.values() if isinstance(item, dict) else item if isinstance(item, list) else ())


_CSV_CELL = st.sampled_from(
    [
        "2026-11-01T00:00:00Z",
        "1793491200",
        "x",
        "1.5",
        "-2",
        "credit",
        "",
        "NaN",
        "1e400",
        "9" * 25,
        "0001-01-01T00:00Z",
    ]
) | st.text(max_size=8)


@_PROPERTY
@given(
    st.sampled_from(["timestamp,line_item,amount", "timestamp,line_item,amount,kind", "line_item,timestamp,end,amount"])
    | st.text(max_size=30),
    st.lists(st.lists(_CSV_CELL, min_size=1, max_size=5).map(",".join), max_size=6),
)
def test_any_csv_text_gives_records_or_a_csv_error(tmp_path_factory, header: str, rows: list[str]) -> None:
    path = tmp_path_factory.mktemp("csv") / "feed.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        records = list(read_costs(path, "s", "USD", timedelta(hours=1)))
    except CsvError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
        return
    for r in records:
        assert abs(r.amount) <= MAX_AMOUNT * 10**6 and 946684800 <= r.bucket_start < 4102444800


# --- named cases, against the fake servers -------------------------------------------------


def _config(nf_url: str, **source: object) -> Config:
    nf = {"name": "nf", "provider": "northflank", "token": NF_TOKEN, "base_url": nf_url, "timeout": "1s", **source}
    return Config.model_validate({"sources": [nf], "database": "unused.db"})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as s:
        yield s


@pytest.fixture
def nf() -> Iterator[FakeNorthflank]:
    with FakeNorthflank(northflank_hours(HOUR_NOW - 47 * H, 48, seed=5), token=NF_TOKEN) as server:
        yield server


P = "data.usage.0."  # the first entry of a Northflank page


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (put(P + "timestamp", "NaN"), "entry 1: timestamp is 'NaN', not a unix time"),
        (put(P + "timestamp", 2**70), "not a time between 2000 and 2100"),
        (put(P + "paasUsage.price.cpu", Decimal("1e308")), "paasUsage.price.cpu is 1E+308, not an amount"),
        (
            put(P + "paasUsage.price.cpu", Decimal("1e17")),
            "paasUsage.price.cpu is 100000000000000000, not an amount",
        ),
        (put(P + "paasUsage", "oops"), "paasUsage is not an object"),
        (put(P + "paasUsage.price", [1, 2]), "paasUsage.price is not an object"),
        (put(P + "paasUsage.price.gpu", [5]), "paasUsage.price.gpu is a JSON array, not an amount"),
        (put(P + "paasUsage.price.memory", "-3"), "paasUsage.price.memory is '-3', a negative amount"),
        (put(P + "paasUsage.price.cpu", "１２"), "paasUsage.price.cpu is '１２', not an amount"),
        (put(P + "paasUsage.price.cpu", True), "paasUsage.price.cpu is True, not an amount"),
        (shift(P + "timestamp", 1800), "not the start of an hour"),
        (
            duplicate("data.usage.0", {"paasUsage.price.cpu": "1.00"}),
            "the hour is listed twice in one response, with other prices",
        ),
    ],
)
def test_a_poisoned_northflank_answer_stores_nothing_and_names_the_field(nf, store, edit, reason) -> None:
    nf.faults.append(Fault("edit", edit=edit))
    (outcome,) = poll(_config(nf.url), store, ["nf"], NOW, retry=ONCE)
    assert outcome.error is not None and reason in outcome.error and outcome.error.startswith("nf: entry ")
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0
    logged = store.last_fetch("nf")
    assert logged is not None and logged.status == "error" and reason in (logged.error or "")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"data": {"usage": [{"timestamp": NaN}]}, "pagination": {}}', "NaN is not a number"),
        (b'{"data": {"usage": [{"timestamp": Infinity}]}, "pagination": {}}', "Infinity is not a number"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deep"),
        (b'{"data": {"usage": [1' + b"0" * 5000 + b"]}}", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
)
def test_a_body_that_is_not_exact_json_is_a_failure_of_that_source(nf, store, body, reason) -> None:
    nf.faults.append(Fault("body", body=body))
    (outcome,) = poll(_config(nf.url), store, ["nf"], NOW, retry=ONCE)
    assert outcome.error is not None and reason in outcome.error
    assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0


def test_a_poisoned_answer_then_a_good_one_stores_the_good_one(nf, store) -> None:
    nf.faults.append(Fault("body", body=b'{"data": {"usage": [{"timestamp": NaN}]}}'))
    (outcome,) = poll(_config(nf.url), store, ["nf"], NOW, retry=FAST)  # the retry gets a clean answer
    assert outcome.error is None and outcome.rows > 0


def test_an_hour_outside_the_window_is_skipped_not_stored(nf, store) -> None:
    nf.faults.append(Fault("edit", edit=put(P + "timestamp", 4102444800 - 10 * 365 * DAY)))  # 2090
    (outcome,) = poll(_config(nf.url), store, ["nf"], NOW, retry=ONCE)
    assert outcome.error is None
    newest = store.conn.execute("SELECT max(bucket_start) FROM costs").fetchone()[0]
    assert newest <= HOUR_NOW


def test_the_same_hour_twice_with_the_same_prices_is_taken_once(nf, store) -> None:
    nf.faults.append(Fault("edit", edit=duplicate("data.usage.0")))
    (outcome,) = poll(_config(nf.url), store, ["nf"], NOW, retry=ONCE)
    assert outcome.error is None
    (once,) = poll(_config(nf.url), store, ["nf"], NOW + timedelta(hours=1), retry=ONCE)
    assert once.changed == 0  # the clean restatement changed nothing: nothing was summed


def test_friendli_lists_a_line_item_twice_the_response_is_refused_never_summed(store) -> None:
    today = NOW.date()
    days = friendli_days(today - timedelta(days=3), 4, seed=2)
    days[today] = [{"total": Decimal("40"), "quantity": Decimal(1), "unit_price": Decimal(40), "line_item": "gpu"}]

    with FakeFriendli(days, token=FR_TOKEN) as fr:
        fr.faults.append(Fault("edit", edit=duplicate("data.-1.results.0")))
        cfg = Config.model_validate(
            {"sources": [{"name": "fr", "provider": "friendli", "token": FR_TOKEN, "base_url": fr.url}]}
        )
        (outcome,) = poll(cfg, store, ["fr"], NOW, retry=ONCE)
        assert outcome.error is not None and "is listed twice in one response" in outcome.error
        assert store.conn.execute("SELECT count(*) FROM costs").fetchone()[0] == 0
        store.conn.execute("DELETE FROM fetches")  # Friendli asks for 5 minutes between polls
        (again,) = poll(cfg, store, ["fr"], NOW, retry=ONCE)
    assert again.error is None
    [(amount,)] = store.conn.execute(
        "SELECT amount FROM costs WHERE line_item = 'gpu' AND bucket_start = ?",
        (int(datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()),),
    ).fetchall()
    assert amount == 40_000_000


@pytest.mark.parametrize("endless", [False, True], ids=["slow body", "endless body"])
def test_a_trickling_answer_ends_at_the_sources_timeout(nf, endless: bool) -> None:
    nf.faults.append(Fault("trickle", seconds=0.2, body=b" " if endless else None))
    source = build(_config(nf.url), "nf", ONCE)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError, match="timed out"):
            source.fetch(WINDOW)
    finally:
        source.close()
    assert time.monotonic() - started < 1.8  # timeout: 1s, for connect, headers and body together


def test_a_bug_in_one_sources_poll_fails_that_source_and_the_next_is_polled(
    tmp_path, store, caplog: pytest.LogCaptureFixture
) -> None:
    """A base_url httpx refuses is a failure of that source only (validate refuses it now; here
    it is slipped past the checks, standing for any bug met inside one source's poll)."""
    feed = tmp_path / "feed.csv"
    feed.write_text(f"timestamp,line_item,amount\n{HOUR_NOW - H},x,1\n")
    cfg = Config.model_validate(
        {
            "sources": [
                {"name": "nf", "provider": "northflank", "token": NF_TOKEN, "base_url": "http://127.0.0.1:1"},
                {"name": "feed", "provider": "csv", "path": str(feed)},
            ]
        }
    )
    broken = cfg.sources[0].model_copy(update={"base_url": "http://127.0.0.1:80:80/x"})
    cfg = cfg.model_copy(update={"sources": (broken, cfg.sources[1])})
    bad, good = poll(cfg, store, ["nf", "feed"], NOW)
    assert bad.error is not None and bad.error.startswith("nf: unexpected error (") and NF_TOKEN not in bad.error
    assert good.error is None and good.rows == 1
    logged = store.last_fetch("nf")
    assert logged is not None and logged.status == "error"
    (line,) = [r for r in caplog.records if r.levelname == "ERROR"]  # logged once, with its traceback and window
    assert line.exc_info is not None and line.getMessage().startswith(f"poll nf failed: {bad.error} (")
    assert logged.window_end is not None and line.getMessage().endswith(f"{iso_utc(logged.window_end)})")


def test_check_delivers_a_good_sources_alert_while_another_is_poisoned(write) -> None:
    hours = northflank_hours(HOUR_NOW - 47 * H, 48, seed=5)
    hours[HOUR_NOW - 2 * H]["paasUsage"]["price"]["cpu"] = Decimal("1e308")
    today = int(NOW.timestamp()) // DAY * DAY
    with FakeNorthflank(hours, token=NF_TOKEN) as nf, Webhook() as hook:
        feed = write("feed.csv", f"timestamp,line_item,amount\n{today},gpu,500\n")
        rules = write(
            "rules.yaml",
            f"""
database: costs.db
timezone: UTC
sources:
  - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{nf.url}", timeout: 2s}}
  - {{name: feed, provider: csv, path: {feed}}}
channels:
  ops: {hook.url}
budgets:
  - {{name: feed-day, amount: 100, period: day, sources: [feed], notify: [ops]}}
""",
        )
        result = run_cli("check", "-c", str(rules), "--log-level", "debug", cwd=rules.parent)
    assert result.returncode == 1  # a source failed: said, and the rest was done
    assert "Traceback" not in result.stderr and NF_TOKEN not in result.stdout + result.stderr
    assert "nf: entry " in result.stderr and "paasUsage.price.cpu is 1E+308, not an amount" in result.stderr
    assert any("feed-day: crossed 100%" in title for title in hook.titles())
