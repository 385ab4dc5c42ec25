"""Benchmark `alertd import` of a ~1M-row CSV against the bare minimum csv + Decimal + SQLite.

Run by hand:  /work/venv/bin/python benchmarks/import_bench.py [--repeat 5] [--workdir DIR]

Generates (seeded, reused when present) one source's two years of hourly costs, 56 line items
an hour (17,520 x 56 = 981,120 rows), then times --repeat interleaved rounds (a, a', b, c in
turn), each run on a fresh db; the headline is the median over rounds of (b)/(a) within a round,
which a loaded machine disturbs less than best/best:

  (a) baseline   csv.reader + Decimal(amount) + one executemany into a keyed WAL table
  (b) subprocess `alertd import --source NAME FILE.csv -c rules.yaml`, whole command
  (c) in-process `alertd.cli.main([...])`, so interpreter start-up is separated
  (a') informational: a stricter bare minimum storing what alertd stores (integer unix time
       and micro-units in a WITHOUT ROWID table); (a) stores text in a rowid table, which
       SQLite writes more slowly, so (b)/(a') is the harder ratio

and checks that `alertd report --json` over everything totals the CSV's exact Decimal sum.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gc
import io
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from _common import alertd_command, clean_env, fresh

SOURCE = "bulk"
HOURS = 2 * 365 * 24  # 17,520
ITEMS = 56
START = datetime(2024, 1, 1, tzinfo=UTC)
TARGET_RATIO = 1.3  # (b)/(a), median of the rounds' ratios

_BASELINE_TABLE = """
CREATE TABLE costs (
    source TEXT, bucket_start TEXT, line_item TEXT, amount TEXT,
    PRIMARY KEY (source, bucket_start, line_item)
)
"""
_STRICT_TABLE = """
CREATE TABLE costs (
    source TEXT, bucket_start INTEGER, line_item TEXT, amount INTEGER,
    PRIMARY KEY (source, bucket_start, line_item)
) WITHOUT ROWID
"""
_MICRO = Decimal(1_000_000)


# --- data --------------------------------------------------------------------------------------


def line_items(count: int) -> list[str]:
    """Realistic-looking, distinct names: `svc-07.cpu`, `svc-07.memory`, ..."""
    kinds = ("cpu", "memory", "storage", "gpu", "egress", "requests", "other")
    return [f"svc-{i // len(kinds):02d}.{kinds[i % len(kinds)]}" for i in range(count)]


def amount_text(micros: int) -> str:
    """Micro-units as a plain decimal string with at most 6 places, trailing zeros dropped."""
    whole, frac = divmod(micros, 1_000_000)
    text = f"{whole}.{frac:06d}".rstrip("0")
    return text.removesuffix(".")


def generate(path: Path, hours: int, items: int, seed: int) -> tuple[int, Decimal]:
    """Write the CSV (hour by hour, its rows consecutive) → (rows, exact sum of amounts)."""
    rng = random.Random(seed)
    names = line_items(items)
    total_micros = rows = 0
    tmp = path.with_suffix(".partial")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        handle.write("timestamp,line_item,amount\n")
        for hour in range(hours):
            stamp = (START + timedelta(hours=hour)).isoformat()
            lines = []
            for name in names:
                # Mostly small amounts, some zero, a few large; 0..6 significant decimals.
                roll = rng.random()
                if roll < 0.05:
                    micros = 0
                elif roll < 0.97:
                    micros = rng.randint(1, 5_000_000)
                else:
                    micros = rng.randint(5_000_000, 900_000_000)
                micros -= micros % 10 ** rng.randint(0, 6)  # vary how many places are written
                total_micros += micros
                lines.append(f"{stamp},{name},{amount_text(micros)}\n")
            handle.writelines(lines)
            rows += len(lines)
    tmp.replace(path)
    return rows, Decimal(total_micros).scaleb(-6)


def dataset(workdir: Path, hours: int, items: int, seed: int) -> tuple[Path, int, Decimal, float | None]:
    """The CSV and its meta (rows, sum), generated unless an identical one is already there."""
    csv_path = workdir / f"costs-{hours}h-{items}i-seed{seed}.csv"
    meta_path = csv_path.with_suffix(".json")
    if csv_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == csv_path.stat().st_size:
            return csv_path, int(meta["rows"]), Decimal(meta["sum"]), None
    began = time.perf_counter()
    rows, total = generate(csv_path, hours, items, seed)
    elapsed = time.perf_counter() - began
    meta_path.write_text(json.dumps({"rows": rows, "sum": str(total), "bytes": csv_path.stat().st_size}))
    return csv_path, rows, total, elapsed


# --- the three contenders ------------------------------------------------------------------------


def baseline(csv_path: Path, db: Path) -> int:
    """The bare minimum: parse, Decimal, one keyed executemany in one transaction, WAL."""
    return _bare_insert(
        csv_path, db, _BASELINE_TABLE, lambda rows: ((SOURCE, r[0], r[1], str(Decimal(r[2]))) for r in rows)
    )


def strict_baseline(csv_path: Path, db: Path) -> int:
    """A stricter bare minimum, closer to what alertd stores: integer unix time (parsed once per
    hour) and integer micro-units in a WITHOUT ROWID table. Informational; not the target's."""
    return _bare_insert(csv_path, db, _STRICT_TABLE, _strict_rows)


def _bare_insert(
    csv_path: Path, db: Path, table: str, to_rows: Callable[[Iterator[list[str]]], Iterable[tuple[Any, ...]]]
) -> int:
    """One executemany of the CSV's rows (as `to_rows` makes them) into a fresh WAL database."""
    fresh(db)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(table)
        with open(csv_path, newline="", encoding="utf-8") as handle, conn:
            reader = csv.reader(handle)
            next(reader)
            return conn.executemany("INSERT INTO costs VALUES (?, ?, ?, ?)", to_rows(reader)).rowcount
    finally:
        conn.close()


def _strict_rows(reader: Iterator[list[str]]) -> Iterator[tuple[str, int, str, int]]:
    text, start = "", 0
    for stamp, item, amount in reader:
        if stamp != text:
            text, start = stamp, int(datetime.fromisoformat(stamp).timestamp())
        yield SOURCE, start, item, int((Decimal(amount) * _MICRO).to_integral_value(ROUND_HALF_EVEN))


def write_rules(path: Path, csv_path: Path, db: Path) -> None:
    path.write_text(
        f"timezone: UTC\ncurrency: USD\ndatabase: {db}\n"
        f"sources:\n  - name: {SOURCE}\n    provider: csv\n    path: {csv_path}\n    bucket: 1h\n"
    )


def run_subprocess(cmd: list[str], db: Path) -> float:
    fresh(db)
    began = time.perf_counter()
    done = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def run_in_process(argv: list[str], db: Path) -> float:
    from alertd.cli import main

    fresh(db)
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("ALERTD_")}
    out = io.StringIO()
    try:
        began = time.perf_counter()
        with contextlib.redirect_stdout(out):
            status = main(argv)
        elapsed = time.perf_counter() - began
    finally:
        os.environ.update(saved)
    if status != 0:
        raise SystemExit(f"alertd.cli.main({argv}) returned {status}: {out.getvalue()}")
    return elapsed


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    def run() -> float:
        began = time.perf_counter()
        fn()
        return time.perf_counter() - began

    return run


def stored_rows(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM costs").fetchone()[0])
    finally:
        conn.close()


def report_total(cmd: list[str], rules: Path) -> Decimal:
    args = ["report", "--json", "--since", "2000-01-01", "--until", "2100-01-01", "-c", str(rules)]
    done = subprocess.run([*cmd, *args], env=clean_env(), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"alertd report failed ({done.returncode}):\n{done.stderr}")
    return Decimal(json.loads(done.stdout)["total"])


# --- output --------------------------------------------------------------------------------------


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def runs(times: list[float]) -> str:
    return ", ".join(f"{t:.3f}" for t in times) + " s"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"Target: median per-round (b)/(a) <= {TARGET_RATIO}. Exit status 1 if the correctness check fails.",
    )
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds of all contenders (default 5)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "alertd-bench-import",
        help="where the CSV, rules and databases go; the CSV is reused across runs (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    parser.add_argument("--hours", type=int, default=HOURS, help=f"hourly buckets (default {HOURS})")
    parser.add_argument("--items", type=int, default=ITEMS, help=f"line items per hour (default {ITEMS})")
    parser.add_argument("--alertd", help="alertd executable (default: the one beside this Python, else -m alertd)")
    parser.add_argument("--skip-in-process", action="store_true", help="do not run (c)")
    parser.add_argument("--clean", action="store_true", help="delete the workdir afterwards (CSV included)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = alertd_command(args.alertd)

    csv_path, rows, expected, generated_in = dataset(workdir, args.hours, args.items, args.seed)
    size_mb = csv_path.stat().st_size / 1e6
    note = f"generated in {generated_in:.1f} s" if generated_in is not None else "reused"
    print(f"data: {csv_path} ({rows:,} rows, {size_mb:.1f} MB, {note}); exact sum {expected}", flush=True)

    db_a, db_s, db_b, db_c = (workdir / f"{n}.sqlite" for n in ("baseline", "strict", "subprocess", "inprocess"))
    rules_b, rules_c = workdir / "rules-subprocess.yaml", workdir / "rules-inprocess.yaml"
    write_rules(rules_b, csv_path, db_b)
    write_rules(rules_c, csv_path, db_c)
    import_args = ["import", "--source", SOURCE, str(csv_path)]

    contenders: dict[str, Callable[[], float]] = {
        "(a)": timed(lambda: baseline(csv_path, db_a)),
        "(a')": timed(lambda: strict_baseline(csv_path, db_s)),
        "(b)": lambda: run_subprocess([*cmd, *import_args, "-c", str(rules_b)], db_b),
    }
    if not args.skip_in_process:
        contenders["(c)"] = lambda: run_in_process([*import_args, "-c", str(rules_c)], db_c)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(1, args.repeat + 1):  # interleaved, so background load hits all alike
        for name, run in contenders.items():
            gc.collect()
            times[name].append(run())
        ratio = times["(b)"][-1] / times["(a)"][-1]
        line = ", ".join(f"{n} {t[-1]:.3f} s" for n, t in times.items())
        print(f"round {round_}: {line}; (b)/(a) {ratio:.2f}", flush=True)
    # Only (b) runs as a child before this point, so the children's peak is (b)'s.
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    best = {name: min(t) for name, t in times.items()}
    best_a, best_s, best_b = best["(a)"], best["(a')"], best["(b)"]

    rows_a, rows_b = stored_rows(db_a), stored_rows(db_b)
    total = report_total(cmd, rules_b)
    ok = total == expected and rows_b == rows
    ratios = [b / a for a, b in zip(times["(a)"], times["(b)"], strict=True)]
    per_round = statistics.median(ratios)
    results = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")),
        ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("os.cpu_count()", str(os.cpu_count())),
        ("sqlite", sqlite3.sqlite_version),
        ("rows", f"{rows:,} ({args.hours:,} hours x {args.items} items, {size_mb:.1f} MB)"),
        ("(a) baseline", f"{best_a:.3f} s  ({rows / best_a:,.0f} rows/s, {rows_a:,} rows stored)"),
        ("(a') strict baseline", f"{best_s:.3f} s  (integer columns, WITHOUT ROWID: see --help)"),
        ("(b) alertd import, subprocess", f"{best_b:.3f} s  ({rows / best_b:,.0f} rows/s, {rows_b:,} rows stored)"),
    ]
    if "(c)" in best:
        best_c = best["(c)"]
        results += [
            ("(c) alertd import, in-process", f"{best_c:.3f} s  ({rows / best_c:,.0f} rows/s)"),
            ("start-up + exit, (b) - (c)", f"{best_b - best_c:.3f} s"),
        ]
    verdict = "met" if per_round <= TARGET_RATIO else "MISSED"
    target = f"target <= {TARGET_RATIO}: {verdict}"
    results.append(("ratio (b)/(a)", f"{per_round:.2f}  median of the rounds' ratios ({target})"))
    results.append(("ratios (b)/(a) by round", ", ".join(f"{r:.2f}" for r in ratios)))
    results.append(("ratio (b)/(a), best/best", f"{best_b / best_a:.2f}  (informational)"))
    if "(c)" in best:
        results.append(("ratio (c)/(a)", f"{best['(c)'] / best_a:.2f}"))
    results.append(("ratio (b)/(a')", f"{best_b / best_s:.2f}  (informational)"))
    results += [
        *((f"runs {name}", runs(t)) for name, t in times.items()),
        ("peak RSS of (b)", f"{peak_kb / 1024:.1f} MiB"),
        ("report total", f"{total} vs CSV sum {expected}"),
        ("correctness", "PASS" if ok else f"FAIL (total {total}, rows {rows_b:,})"),
    ]
    print(f"\nResults ({args.repeat} rounds; times are the best of them)\n{table(results)}")
    if args.clean:
        shutil.rmtree(workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
