"""The budget pass against plain arithmetic on rows.

Sums read from the store (the rollup's whole days, cost rows for cut days and the forecast's
hours) must give exactly the status `budget_status` gives from the rows themselves; and deciding
only the budgets that may have news must send exactly what deciding every budget every time sends.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alertd.config import Config
from alertd.config.models import Metrics
from alertd.cycle import evaluate
from alertd.evaluate.budgets import coverage_of, statuses
from alertd.model import CostRecord, FetchResult, Window, utc
from alertd.rules.budget import budget_status
from alertd.store import Store

H = 3600
DAY = 86400
START = int(datetime(2026, 1, 25, tzinfo=UTC).timestamp())
ZONES = ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/Santiago"]
ITEMS = ["gpu.h100", "gpu.a100", "paas.cpu", "paas.memory", "storage"]


def config(zone: str, budgets: list[dict[str, object]]) -> Config:
    return Config.model_validate({"timezone": zone, "channels": {"x": "json://127.0.0.1:9/"}, "budgets": budgets})


budget_specs = st.fixed_dictionaries(
    {
        "amount": st.integers(1, 5000),
        "period": st.sampled_from(["day", "week", "month", "quarter", "year"]),
        "week_start": st.sampled_from(["monday", "sunday"]),
        "thresholds": st.lists(st.integers(1, 150), min_size=1, max_size=3),
    },
    optional={
        "sources": st.lists(st.sampled_from(["nf", "fr", "csv"]), min_size=1, max_size=2, unique=True),
        "line_items": st.lists(st.sampled_from(["gpu.*", "paas.cpu", "*memory", "st?rage"]), min_size=1, max_size=2),
        "forecast": st.lists(st.integers(50, 150), min_size=1, max_size=2),
        "repeat": st.sampled_from(["3h", "1d"]),
    },
)


def history(rng: random.Random, hours: int) -> list[CostRecord]:
    """Hourly rows for nf and csv, day-long rows for fr (like Friendli), a few zeros and credits."""
    rows = []
    for h in range(hours):
        t = START + h * H
        for source in ("nf", "csv"):
            for item in rng.sample(ITEMS, 3):
                rows.append(CostRecord(source, t, item, H, rng.choice([0, rng.randint(1, 9_000_000), -50_000]), "USD"))
        if t % DAY == 0:
            for item in ("m1, output tokens cost", "ep, h100, gpu time cost"):
                rows.append(CostRecord("fr", t, item, DAY, rng.randint(0, 90_000_000), "USD"))
    return rows


def write(store: Store, rows: list[CostRecord], complete: bool) -> None:
    for source in sorted({r.source for r in rows}):
        mine = [r for r in rows if r.source == source]
        # From the start, as polls reach back to the end of the last one: no gap holds completeness back.
        window = Window(utc(START), utc(max(r.bucket_start for r in mine) + DAY))
        store.record_fetch(source, "poll", window, 0, FetchResult(mine, complete))


def final(rows: list[CostRecord]) -> list[CostRecord]:
    """What the store holds after the writes: the last amount of each bucket and line item."""
    return list({(r.source, r.bucket_start, r.line_item): r for r in rows}.values())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10**6),
    zone=st.sampled_from(ZONES),
    specs=st.lists(budget_specs, min_size=1, max_size=6),
    at=st.integers(0, 70 * 24 * H),
)
def test_sums_from_the_store_equal_sums_of_the_rows(
    tmp_path_factory: pytest.TempPathFactory, seed: int, zone: str, specs: list[dict[str, object]], at: int
) -> None:
    rng = random.Random(seed)
    rows = history(rng, 75 * 24)
    revised = [r._replace(amount=r.amount + rng.randint(1, 10**6)) for r in rng.sample(rows, 40)]
    cfg = config(zone, [{"name": f"b{i}", "notify": ["x"], **s} for i, s in enumerate(specs)])
    now = utc(START + at) + timedelta(minutes=rng.randint(0, 59))
    with Store(tmp_path_factory.mktemp("db") / "a.db", cfg.tz) as store:
        write(store, rows, complete=False)
        write(store, revised, complete=False)
        # Each source complete through some instant (a lagging day, a blind stretch, past now), or never.
        for source in ("nf", "fr", "csv"):
            through = START + at - rng.randint(-3 * H, 50 * H)
            store.conn.execute("DELETE FROM completeness WHERE source = ?", (source,))
            if rng.random() < 0.8:
                store.conn.execute("INSERT INTO completeness VALUES (?, ?, 0)", (source, through))
        coverage = coverage_of(cfg, store)
        got = statuses(cfg, store, now)
    stored = final(rows + revised)
    for budget, status in got:
        assert status == budget_status(budget, stored, now, cfg.tz, cfg.currency, coverage), budget.name


def test_a_store_opened_in_another_zone_rebuilds_its_days(tmp_path: Path) -> None:
    rows = history(random.Random(3), 40 * 24)
    cfg = config("Europe/Berlin", [{"name": "m", "amount": 100, "period": "month", "notify": ["x"]}])
    now = utc(START + 39 * DAY + 5 * H)
    with Store(tmp_path / "a.db", ZoneInfo("America/Santiago")) as store:
        write(store, rows, complete=False)
    with Store(tmp_path / "a.db", cfg.tz) as store:
        ((budget, status),) = statuses(cfg, store, now)
        coverage = coverage_of(cfg, store)
    assert status == budget_status(budget, rows, now, cfg.tz, cfg.currency, coverage)


def alert_keys(store: Store) -> list[str]:
    return [k for (k,) in store.conn.execute("SELECT key FROM alerts ORDER BY key")]


def alert_texts(store: Store) -> list[tuple[str, str]]:
    return store.conn.execute("SELECT key, text FROM alerts ORDER BY key").fetchall()


@pytest.mark.parametrize("seed", range(6))
def test_deciding_what_may_have_news_sends_what_deciding_everything_sends(tmp_path: Path, seed: int) -> None:
    """Two stores get the same writes over 40 days, hour after hour with revisions and quiet
    stretches; one evaluates only the budgets that may have news, the other every budget every
    time, projecting every forecast (as when metrics are served: the lazy one projects only where
    a forecast may fire or an alert shows it), opened afresh each time (nothing held from the
    evaluation before, as the lazy one holds its hours). Same alerts, word for word, at every
    step; and the first one's statuses are the rows' arithmetic."""
    rng = random.Random(seed)
    zone = rng.choice(ZONES)
    specs = [
        {"amount": 300, "period": "day", "thresholds": [50, 100], "repeat": "3h"},
        {"amount": 1000, "period": "week", "forecast": [50, 100], "sources": ["nf"]},
        {"amount": 9000, "period": "month", "summary": True, "line_items": ["gpu.*"]},
        {"amount": 20000, "period": "quarter", "forecast": [90, 120], "sources": ["fr", "csv"]},
        {"amount": 90000, "period": "year", "thresholds": [1, 2]},
    ]
    cfg = config(zone, [{"name": f"b{i}", "notify": ["x"], **s} for i, s in enumerate(specs)])
    metered = cfg.model_copy(update={"metrics": Metrics(listen="127.0.0.1:9464")})
    rows = history(rng, 40 * 24)
    lazy = Store(tmp_path / "lazy.db", cfg.tz)
    written: list[CostRecord] = []
    t = START + 2 * DAY
    while t < START + 40 * DAY:
        step = rng.choice([H, H, 3 * H, 7 * H, DAY + 5 * H])
        batch = [r for r in rows if t <= r.bucket_start < t + step]
        if written and rng.random() < 0.3:  # a provider restates recent buckets
            batch += [r._replace(amount=r.amount * 2) for r in rng.sample(written[-200:], 10)]
        quiet = rng.random() < 0.2  # a poll that brings nothing
        t += step
        now = utc(t) + timedelta(minutes=rng.randint(1, 59))
        with Store(tmp_path / "eager.db", cfg.tz) as eager:
            for store in (lazy, eager):
                if batch and not quiet:
                    write(store, batch, complete=False)
            evaluate(cfg, lazy, now)
            evaluate(metered, eager, now, everything=True)
            assert alert_texts(lazy) == alert_texts(eager), utc(t)
        if batch and not quiet:
            written += batch
    coverage = coverage_of(cfg, lazy)
    for budget, status in statuses(cfg, lazy, now):
        assert status == budget_status(budget, final(written), now, cfg.tz, cfg.currency, coverage)
    assert len(alert_keys(lazy)) > 5  # the sequence did cross thresholds
    assert any("/forecast/" in key for key in alert_keys(lazy))  # and forecast some
    lazy.close()
