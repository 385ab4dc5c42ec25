"""How long the dashboard takes to make a budget's page from a year of hourly spend (issue 13:
under 200 ms server-side), and how that grows when the series double.

Run by hand:  /work/venv/bin/python benchmarks/dashboard.py [--series 160] [--repeat 7]

The data is `scale.py`'s (seeded hourly spend in 4 CSV sources, a year ending at the current hour),
backfilled by `alertd backfill`. Budgets over every series: a day, a month (with a forecast), a
quarter and a year. Timed in this process, as the server makes a page: `pages.budget` (statuses,
charts, the periods before, template) from the server's one read-only store, kept open between
pages ("warm": its sums of recent hours are read again only where data changed), and from a store
opened for the page ("cold": the first page after a start); alternating with the baseline (one
`GROUP BY` over all rows, on its own connection); medians of --repeat, at --series and at half as
many.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import scale_data
from _common import alertd_command, clean_env

from alertd import config as configuration
from alertd.dashboard import pages
from alertd.store import Store

HOURS = 8760
BUDGETS = """budgets:
  - {name: daily, amount: 50000, period: day}
  - {name: monthly, amount: 1000000, period: month, forecast: [100]}
  - {name: quarterly, amount: 3000000, period: quarter, forecast: [100]}
  - {name: yearly, amount: 12000000, period: year, forecast: [100]}
"""
BASELINE = "SELECT source, line_item, SUM(amount) FROM costs GROUP BY source, line_item"


def build(workdir: Path, series: int) -> Path:
    end = int(time.time()) // 3600 * 3600
    data = scale_data.generate(workdir, series=series, sources=4, hours=HOURS, total_hours=HOURS, end=end, seed=1)
    rules = workdir / "rules.yaml"
    rules.write_text(scale_data.rules_header(data, workdir / "alertd.db", 9, "15m") + BUDGETS)
    since = datetime.fromtimestamp(data.start, UTC).isoformat()
    subprocess.run(
        [*alertd_command(None), "backfill", "-c", str(rules), "--since", since],
        check=True,
        env=clean_env(),
        capture_output=True,
    )
    return rules


def timed(rules: Path, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Per budget: the median seconds of its page warm, cold, and of the baseline, alternating."""
    cfg = configuration.load(rules).config
    assert cfg.database is not None
    out = {}
    with Store(Path(cfg.database), cfg.tz, read_only=True) as kept:
        for budget in cfg.budgets:
            pages.budget(cfg, kept, datetime.now(UTC), budget.name)  # the server's first page of it
            warm, cold, base = [], [], []
            for _ in range(repeat):
                began = time.perf_counter()
                pages.budget(cfg, kept, datetime.now(UTC), budget.name)
                warm.append(time.perf_counter() - began)
                began = time.perf_counter()
                with Store(Path(cfg.database), cfg.tz, read_only=True) as store:
                    pages.budget(cfg, store, datetime.now(UTC), budget.name)
                cold.append(time.perf_counter() - began)
                began = time.perf_counter()
                with sqlite3.connect(cfg.database) as conn:
                    conn.execute(BASELINE).fetchall()
                base.append(time.perf_counter() - began)
            out[budget.name] = (statistics.median(warm), statistics.median(cold), statistics.median(base))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=160)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results = {}
    for series in (args.series // 2, args.series):
        with tempfile.TemporaryDirectory() as tmp:
            results[series] = timed(build(Path(tmp), series), args.repeat)
    half, full = results[args.series // 2], results[args.series]
    print(f"dashboard budget page, a year of hourly spend; os.cpu_count() = {os.cpu_count()}, {args.repeat} runs each")
    half_n, full_n = args.series // 2, args.series
    print(
        f"| budget | warm, {half_n} series | warm, {full_n} | cold, {half_n} | cold, {full_n} | baseline, {full_n}"
        " | warm/baseline | exponent warm, cold | warm ≤ 0.2 s? |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (warm, cold, base) in full.items():
        w_half, c_half, _ = half[name]
        print(
            f"| {name} | {w_half:.3f} s | {warm:.3f} s | {c_half:.3f} s | {cold:.3f} s | {base:.3f} s"
            f" | {warm / base:.2f}x | {math.log2(warm / w_half):.2f}, {math.log2(cold / c_half):.2f}"
            f" | {'yes' if warm <= 0.2 else 'no'} |"
        )


if __name__ == "__main__":
    main()
