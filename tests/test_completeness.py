"""Completeness as data, and the messages that depend on it (issue 11, items 1-5).

In-process against a real CSV file and a real SQLite store, each check a poll and an
evaluation at a chosen instant (the poll's own bookkeeping runs on the wall clock, which is
later than every instant here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alertd.config import Budget, Config
from alertd.cycle import evaluate
from alertd.evaluate.budgets import coverage_of, statuses
from alertd.ingest import poll
from alertd.model import CostRecord
from alertd.rules.budget import Coverage, budget_status
from alertd.rules.completeness import DAY, HOUR, REPORTING, advanced, established
from alertd.status import collect, render_text
from alertd.store import Store

BERLIN_DEC = datetime(2026, 11, 30, 23, tzinfo=UTC)  # 1 December 2026, 00:00 in Berlin
BERLIN_NOV = datetime(2026, 10, 31, 23, tzinfo=UTC)


def config(path: Path, budget: dict[str, object]) -> Config:
    return Config.model_validate(
        {
            "timezone": "Europe/Berlin",
            "channels": {"x": "json://127.0.0.1:9/"},
            "sources": [{"name": "csv", "provider": "csv", "path": str(path)}],
            "budgets": [{"name": "b", "notify": ["x"], **budget}],
        }
    )


def budget(amount: int, period: str) -> Budget:
    channels = {"x": "json://127.0.0.1:9/"}
    spec = {"name": "b", "amount": amount, "period": period, "notify": ["x"]}
    return Config.model_validate({"channels": channels, "budgets": [spec]}).budgets[0]


def hourly(path: Path, start: datetime, end: datetime, dollars: str = "1", item: str = "gpu") -> None:
    lines = ["line_item,timestamp,amount"]
    t = start
    while t < end:
        lines.append(f"{item},{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{dollars}")
        t += timedelta(hours=1)
    path.write_text("\n".join(lines) + "\n")


def check(cfg: Config, store: Store, now: datetime) -> list[tuple[str, str, str]]:
    poll(cfg, store, [s.name for s in cfg.sources], now)
    evaluate(cfg, store, now)
    return store.conn.execute("SELECT kind, title, text FROM alerts ORDER BY id").fetchall()


@pytest.mark.parametrize(
    ("provider", "window_end", "finished", "newest", "expected"),
    [
        ("northflank", 1000 * HOUR, 500 * HOUR + 1200, None, 500 * HOUR),  # the growing hour is not complete
        ("northflank", 400 * HOUR, 500 * HOUR + 1200, None, 400 * HOUR),  # no further than the window
        ("friendli", 100 * DAY, 50 * DAY + 7 * HOUR, None, 49 * DAY),  # yesterday arrives during today
        ("csv", None, 50 * DAY, 49 * DAY + 5 * HOUR, 49 * DAY + 5 * HOUR),  # the newest bucket in the file
        ("csv", None, 50 * DAY, 51 * DAY, 50 * DAY),  # a bucket still running: up to the fetch
        ("csv", None, 50 * DAY, None, None),  # nothing stored: complete through nothing
    ],
)
def test_what_a_fetch_establishes(
    provider: str, window_end: int | None, finished: float, newest: int | None, expected: int | None
) -> None:
    assert established(REPORTING[provider], window_end, finished, newest) == expected


@pytest.mark.parametrize(
    ("current", "window_start", "candidate", "expected"),
    [
        (None, 100, 200, 200),  # a first fetch
        (150, 100, 200, 200),
        (150, 150, 200, 200),
        (150, 160, 200, 150),  # a gap between 150 and 160 no fetch covered
        (300, 100, 200, 300),  # an older window never moves it back
        (150, None, 120, 150),
        (150, 100, None, 150),  # a fetch that establishes nothing
    ],
)
def test_completeness_advances_only_without_a_gap(
    current: int | None, window_start: int | None, candidate: int | None, expected: int | None
) -> None:
    assert advanced(current, window_start, candidate) == expected


def test_summary_waits_for_complete_data_then_one_correct_summary_and_one_correction(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 3000, "period": "month", "thresholds": [99], "summary": True})
    now = BERLIN_DEC + timedelta(hours=9)
    with Store(tmp_path / "a.db", cfg.tz) as store:
        assert check(cfg, store, now) == []  # the file is missing: no "$0.00 closed"
        feed.write_bytes(b"line_item,timestamp,amount\ngpu,2026-11-05T00:00:00Z,\xff\xfe\n")  # not UTF-8
        assert check(cfg, store, now + timedelta(hours=1)) == []
        assert coverage_of(cfg, store).through == {}
        (row,) = statuses(cfg, store, now)
        shown = collect(cfg, store, now + timedelta(hours=1))
        assert shown["sources"][0]["complete_through"] is None
        assert shown["budgets"][0]["summary"]["state"] == "waiting"
        assert shown["budgets"][0]["summary"]["waiting_for"] == [{"source": "csv", "complete_through": None}]
        assert "waits for csv (complete through nothing); sent marked incomplete from 2026-12-04T00:00:00+01:00" in (
            render_text(shown)
        )
        hourly(feed, BERLIN_NOV, now + timedelta(hours=2), "1.10")  # fixed, November in full
        alerts = check(cfg, store, now + timedelta(hours=2))
        (kind, title, _), *rest = alerts
        assert (kind, rest) == ("summary", [])
        november = len(range(int(BERLIN_NOV.timestamp()), int(BERLIN_DEC.timestamp()), HOUR)) * Decimal("1.10")
        assert title == f"[alertd] b: November 2026 closed at ${november:,.2f} of $3,000.00 (26.4%)"
        assert check(cfg, store, now + timedelta(hours=3)) == alerts  # said once
        windows = store.conn.execute("SELECT DISTINCT window_start, window_end FROM fetches").fetchall()
        assert windows == [(None, None)]  # a CSV poll reads the whole file: no made-up 1970 window
        shown = collect(cfg, store, now + timedelta(hours=3))
        assert shown["sources"][0]["complete_through"] == "2026-12-01T11:00:00+01:00"  # the newest row ends 10:00 UTC
        assert shown["budgets"][0]["summary"]["state"] == "sent"
        # A late restatement of a November hour: one correction, naming the source.
        text = feed.read_text().replace("gpu,2026-11-10T10:00:00Z,1.10", "gpu,2026-11-10T10:00:00Z,26.10")
        feed.write_text(text)
        alerts = check(cfg, store, now + timedelta(hours=4))
        assert [a[0] for a in alerts] == ["summary", "revision"]
        assert alerts[1][1].endswith(f"(revised from ${november:,.2f}: late csv costs)")
        assert f"${november + 25:,.2f} of $3,000.00" in alerts[1][1]
        feed.write_text(text.replace("gpu,2026-11-11T10:00:00Z,1.10", "gpu,2026-11-11T10:00:00Z,9.10"))
        assert len(check(cfg, store, now + timedelta(hours=5))) == 2  # one correction, not one per change
    assert [(g.source, g.through, g.blind) for g in row[1].lagging] == [("csv", None, True)]


def test_a_summary_still_incomplete_after_three_days_says_what_is_missing(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 3000, "period": "month", "thresholds": [99], "summary": True})
    hourly(feed, BERLIN_NOV, BERLIN_DEC - timedelta(hours=10))  # stops ten hours before the end
    with Store(tmp_path / "a.db", cfg.tz) as store:
        assert check(cfg, store, BERLIN_DEC + timedelta(days=2)) == []
        status = store.conn.execute("SELECT count(*) FROM alerts").fetchone()[0]
        assert status == 0
        ((kind, title, text),) = check(cfg, store, BERLIN_DEC + timedelta(days=3, hours=1))
    assert kind == "summary"
    assert title == "[alertd] b: November 2026 closed, incomplete: $710.00 counted of $3,000.00"
    assert "csv complete through 30 Nov 14:00 CET, 10 hours missing" in text
    assert "closed at" not in title


def test_an_incomplete_summary_is_corrected_once_its_source_completes_even_without_a_change_in_it(
    tmp_path: Path,
) -> None:
    """A late November cost lands while the feed is still short of the end (no correction yet:
    the total is not final); then a December row completes November without changing it: the
    correction comes then, once."""
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 3000, "period": "month", "thresholds": [99], "summary": True})
    hourly(feed, BERLIN_NOV, BERLIN_DEC - timedelta(hours=10))
    late = BERLIN_DEC + timedelta(days=3, hours=1)
    with Store(tmp_path / "a.db", cfg.tz) as store:
        assert [a[0] for a in check(cfg, store, late)] == ["summary"]  # $710.00 counted, incomplete
        feed.write_text(feed.read_text().replace("gpu,2026-11-10T10:00:00Z,1", "gpu,2026-11-10T10:00:00Z,26"))
        assert [a[0] for a in check(cfg, store, late + timedelta(hours=1))] == ["summary"]
        with feed.open("a") as f:
            f.write("gpu,2026-12-01T05:00:00Z,1\n")
        alerts = check(cfg, store, late + timedelta(hours=2))
        assert [a[0] for a in alerts] == ["summary", "revision"]
        assert "$735.00 of $3,000.00" in alerts[1][1]
        assert alerts[1][1].endswith("(revised from $710.00: late csv costs)")
        with feed.open("a") as f:
            f.write("gpu,2026-12-01T06:00:00Z,1\n")
        assert len(check(cfg, store, late + timedelta(hours=3))) == 2


def test_a_flat_source_compares_the_same_span_of_both_periods(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 50, "period": "month", "thresholds": [50]})
    now = BERLIN_DEC + timedelta(hours=30, minutes=30)  # 2 Dec 06:30, the hour from 06:00 not reported yet
    hourly(feed, BERLIN_NOV, BERLIN_DEC + timedelta(hours=30))
    with Store(tmp_path / "a.db", cfg.tz) as store:
        ((_, _, text),) = check(cfg, store, now)
    assert "$30.00 of $50.00 (60.0%), vs $30.00 at this point last period" in text


def test_a_day_late_daily_source_compares_like_with_like() -> None:
    """A Friendli-like source on a weekly budget: complete through the start of yesterday."""
    b = budget(500, "week")
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    rows = [
        CostRecord("fr", int((monday + timedelta(days=d)).timestamp()), "m", DAY, 24_000_000, "USD")
        for d in range(-7, 2)
    ]
    now = monday + timedelta(days=3, hours=7)  # Thursday: Tuesday is in, Wednesday arrives today
    through = {"fr": int((monday + timedelta(days=2)).timestamp())}
    status = budget_status(b, rows, now, UTC, "USD", Coverage(through))
    assert (status.spent, status.previous_spent, status.compared_spent) == (48_000_000, 48_000_000, None)
    # Without completeness, last week's Wednesday and Thursday count against this week's two days.
    assert budget_status(b, rows, now, UTC, "USD").previous_spent == 96_000_000


def test_no_data_for_the_previous_period_is_said_so(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 50, "period": "month", "thresholds": [50]})
    hourly(feed, BERLIN_DEC, BERLIN_DEC + timedelta(hours=30))
    with Store(tmp_path / "a.db", cfg.tz) as store:
        ((_, _, text),) = check(cfg, store, BERLIN_DEC + timedelta(hours=30, minutes=5))
    assert "no data for November 2026" in text
    assert "$0.00" not in text and "Change vs last period" not in text


def test_a_threshold_alert_while_a_source_is_blind_says_so(tmp_path: Path) -> None:
    feed, other = tmp_path / "feed.csv", tmp_path / "other.csv"
    cfg = config(feed, {"amount": 50, "period": "month", "thresholds": [50]})
    cfg = cfg.model_copy(
        update={"sources": (*cfg.sources, cfg.sources[0].model_copy(update={"name": "nf", "path": other}))}
    )
    hourly(feed, BERLIN_DEC, BERLIN_DEC + timedelta(hours=3), "1")
    hourly(other, BERLIN_DEC, BERLIN_DEC + timedelta(hours=2), "1")
    with Store(tmp_path / "a.db", cfg.tz) as store:
        assert check(cfg, store, BERLIN_DEC + timedelta(hours=3)) == []
        other.write_text(other.read_text() + "gpu,not a time,1\n")  # nf's feed breaks
        hourly(feed, BERLIN_DEC, BERLIN_DEC + timedelta(hours=4), "9")  # and spend crosses meanwhile
        ((_, _, text),) = check(cfg, store, BERLIN_DEC + timedelta(hours=4))
    assert "nf has not reported since 1 Dec 02:00 CET; spend may be higher" in text


def test_a_forecast_does_not_take_a_blind_source_for_zero_spend() -> None:
    b = budget(5000, "month")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    now = start + timedelta(days=15)
    blind_from = int((now - timedelta(days=2)).timestamp())
    rows = [
        CostRecord(source, t, "x", HOUR, 1_000_000, "USD")
        for t in range(int((start - timedelta(days=35)).timestamp()), int(now.timestamp()), HOUR)
        for source in ("a", "b")
        if source == "a" or t < blind_from
    ]
    through = {"a": int(now.timestamp()) // HOUR * HOUR, "b": blind_from}
    seen = budget_status(b, rows, now, UTC, "USD", Coverage(through, frozenset({"b"}), ("a", "b")))
    naive = budget_status(b, rows, now, UTC, "USD")
    assert seen.forecast is not None and naive.forecast is not None
    assert seen.forecast.horizon == datetime.fromtimestamp(blind_from, UTC)
    assert abs(seen.forecast.projected - 2 * 720 * 1_000_000) < 5_000_000  # $2/h over the month
    assert naive.forecast.projected < seen.forecast.projected - 100_000_000
    assert [g.source for g in seen.lagging] == ["b"]


def test_a_runaway_on_day_two_with_a_year_of_history_gets_its_forecast_alert(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    cfg = config(feed, {"amount": 3000, "period": "month", "thresholds": [50, 100], "forecast": [100]})
    now = BERLIN_DEC + timedelta(days=1, hours=10)  # 2 December
    lines = ["line_item,timestamp,amount"]
    t = BERLIN_DEC - timedelta(days=365)
    while t < now - timedelta(hours=1):
        runaway = t >= BERLIN_DEC + timedelta(days=1)
        lines.append(f"gpu,{t.strftime('%Y-%m-%dT%H:%M:%SZ')},{'90' if runaway else '3'}")
        t += timedelta(hours=1)
    feed.write_text("\n".join(lines) + "\n")
    with Store(tmp_path / "a.db", cfg.tz) as store:
        alerts = check(cfg, store, now)
    assert [kind for kind, _, _ in alerts] == ["forecast"], alerts
