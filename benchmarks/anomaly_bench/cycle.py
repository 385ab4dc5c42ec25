"""What anomaly evaluation costs per cycle, on a real SQLite store: a year of hourly spend for
`series` line items of one source, one `by: line_item` rule. Cold first evaluation, a cycle after
one new hour, a cycle with nothing new, and `replay` of the year (its anomaly part); and the scan
alone, per bucket, over a year of one of those series."""

from __future__ import annotations

import math
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alertd import config as configuration
from alertd.alerts.anomaly import params_of
from alertd.evaluate.anomalies import evaluate_anomalies, replay_anomalies
from alertd.model import Alert, CostRecord
from alertd.rules.anomaly import scan
from alertd.store import Store

H = 3600
RULES = """
database: costs.db
sources:
  - {name: feed, provider: csv, path: feed.csv}
channels:
  out: console://
anomalies:
  - {name: spend, notify: [out]}
"""


def _rows(start: int, hours: range, series: int, rng: random.Random) -> list[CostRecord]:
    rows = []
    for h in hours:
        moment = datetime.fromtimestamp(start + h * H, UTC)
        shape = (1.3 if 8 <= moment.hour < 19 else 0.7) * (0.6 if moment.weekday() >= 5 else 1.0)
        for s in range(series):
            amount = int((1 + s % 7) * shape * math.exp(rng.gauss(0, 0.08)) * 1_000_000)
            rows.append(CostRecord("feed", start + h * H, f"item{s:03}", H, amount, "USD"))
    return rows


def measure(series: int = 20, days: int = 365, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(RULES)
        (Path(tmp) / "feed.csv").write_text("timestamp,line_item,amount\n")
        conf = configuration.load(path, {}).config
        start = int(datetime(2025, 6, 2, tzinfo=UTC).timestamp())
        hours = days * 24
        with Store(Path(tmp) / "costs.db", conf.tz) as store:
            store.import_records("feed", _rows(start, range(hours), series, rng), 0.0)
            now = datetime.fromtimestamp(start + hours * H + 300, UTC)
            sent: list[Alert] = []

            def timed(changed: dict[str, tuple[int, int]], at: datetime) -> float:
                began = time.perf_counter()
                evaluate_anomalies(conf, store, changed, at, sent.append)
                return time.perf_counter() - began

            cold = timed({"feed": (start, start + hours * H)}, now)
            lines.append(f"cold first evaluation: {cold * 1000:.0f} ms, {cold * 1000 / series:.2f} ms per series")
            hourly = []
            for extra in range(1, 6):
                store.import_records("feed", _rows(start, range(hours + extra - 1, hours + extra), series, rng), 0.0)
                at = now + timedelta(hours=extra)
                first = start + (hours + extra - 1) * H
                hourly.append(timed({"feed": (first, first + H)}, at))
            best = min(hourly)
            lines.append(
                f"cycle after one new hour: {best * 1000:.1f} ms, {best * 1000 / series:.3f} ms per series"
                f" (best of {len(hourly)}; median {sorted(hourly)[2] * 1000:.1f} ms)"
            )
            idle = min(timed({}, now + timedelta(hours=5, minutes=10)) for _ in range(5))
            lines.append(f"cycle with nothing new: {idle * 1000:.2f} ms ({idle * 1e6 / series:.0f} us per series)")
            began = time.perf_counter()
            (rule,) = conf.anomalies
            replayed = replay_anomalies(conf, store, rule, now - timedelta(days=days), now)
            took = time.perf_counter() - began
            lines.append(f"replay of the year (anomaly part): {took:.2f} s for {series} series, {len(replayed)} alerts")
            size = store.conn.execute(
                "SELECT sum(length(vals) + length(expected) + length(ratios) + length(residuals)"
                " + length(level) + length(recent) + length(noise)) FROM scan_state"
            ).fetchone()[0]
            lines.append(f"scan state: {size / series / 1024:.1f} KiB per series; first-look alerts: {len(sent)}")
        values = [r.amount for r in _rows(start, range(hours), 1, random.Random(seed))]
        best = min(_timed_scan(values, start, conf) for _ in range(5))
        lines.append(f"scan alone: {best * 1e6 / hours:.2f} us per bucket ({hours:,} hourly buckets, best of 5)")
    return lines


def _timed_scan(values: list[int], start: int, conf: configuration.Config) -> float:
    (rule,) = conf.anomalies
    began = time.process_time()  # CPU time: the machine is shared
    scan(values, start, H, conf.tz, params_of(rule, H))
    return time.process_time() - began
