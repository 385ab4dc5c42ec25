"""Benchmark `alertd backfill` of one year of Northflank hourly usage from a loopback fake.

Run by hand:  /work/venv/bin/python benchmarks/backfill_bench.py [--repeat 2] [--hours 8760]

Serves --hours hourly entries ending at the current hour from alertd.simulate.northflank's
FakeNorthflank (waiting, if need be, until that module imports cleanly), then times, best of
--repeat runs:

  (a) baseline   an httpx.Client loop fetching the same pages (per_page=100, cursor) and
                 json-decoding them; nothing stored
  (b) subprocess `alertd backfill --since START --until END -c rules.yaml` on a fresh db
  (f) the same command over the last hour only: its fixed cost (start-up, imports, schema)

and checks the rows stored and that `alertd report --json --by source` totals exactly the
generated PaaS + BYOC totals (cents → dollars, Decimal).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from _common import alertd_command, clean_env, fresh, wait_for_import

HOUR = 3600
TOKEN = "nf-bench-token"
SOURCE = "northflank"
PER_PAGE = 100
BLOCKS = ("paasUsage", "byocUsage")
_PROBE = (
    "from alertd.simulate.northflank import FakeNorthflank\n"
    "from alertd.simulate.spend import northflank_hours\n"
    "assert callable(northflank_hours) and hasattr(FakeNorthflank, 'url')\n"
)


def expected_total(usage: dict[int, dict[str, Any]]) -> Decimal:
    """PaaS + BYOC `price.total` of every hour, cents → dollars, exactly."""
    totals = (entry[block]["price"]["total"] for entry in usage.values() for block in BLOCKS if block in entry)
    cents = sum((Decimal(str(t)) for t in totals), Decimal(0))
    return cents / 100  # exact: dividing by 100 only moves the decimal point here


def expected_rows(usage: dict[int, dict[str, Any]]) -> int:
    """Line items alertd should store: every listed part, plus `<block>.other` when the total differs."""
    rows = 0
    for entry in usage.values():
        for block in BLOCKS:
            price = entry.get(block, {}).get("price", {})
            parts = [Decimal(str(v)) for k, v in price.items() if k != "total" and v is not None]
            rows += len(parts) + (Decimal(str(price["total"])) != sum(parts, Decimal(0)) if "total" in price else 0)
    return rows


def baseline(url: str, start: int, end: int) -> int:
    """The bare minimum: one client, follow the cursor, decode each page. → entries seen."""
    import httpx

    seen = 0
    params: dict[str, Any] = {"per_page": PER_PAGE, "startTime": start, "endTime": end}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client:
        while True:
            response = client.get("/v1/billing/usage", params=params)
            response.raise_for_status()
            body = json.loads(response.content)
            seen += len(body["data"]["usage"])
            if not body["pagination"].get("hasNextPage"):
                return seen
            params["cursor"] = body["pagination"]["cursor"]


def run_backfill(cmd: list[str], db: Path) -> tuple[float, str]:
    fresh(db)
    began = time.perf_counter()
    done = subprocess.run(cmd, env=clean_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout.strip()


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def seconds(times: list[float]) -> str:
    return f"{min(times):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times)})"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Exit status 1 if a correctness check fails.",
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs of each contender; the best counts (default 2)")
    parser.add_argument("--hours", type=int, default=8760, help="hourly entries served (default 8760, one year)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated usage (default 0)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "alertd-bench-backfill",
        help="where rules and database go (default %(default)s)",
    )
    parser.add_argument("--alertd", help="alertd executable (default: the one beside this Python, else -m alertd)")
    parser.add_argument(
        "--wait-minutes", type=float, default=20, help="wait this long for the fake to import (default 20)"
    )
    parser.add_argument("--poll-seconds", type=float, default=30, help="between import attempts (default 30)")
    parser.add_argument("--clean", action="store_true", help="delete the workdir afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.repeat < 1 or args.hours < 1:
        raise SystemExit("--repeat and --hours must be at least 1")
    wait_for_import(_PROBE, "alertd.simulate.northflank", args.wait_minutes, args.poll_seconds)
    from alertd.simulate.northflank import FakeNorthflank
    from alertd.simulate.spend import northflank_hours

    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    db, rules = workdir / "backfill.sqlite", workdir / "rules.yaml"
    db_fixed, rules_fixed = workdir / "fixed.sqlite", workdir / "rules-fixed.yaml"
    cmd = alertd_command(args.alertd)

    now = int(time.time())
    last = now - now % HOUR  # the current hour is the newest entry
    first = last - (args.hours - 1) * HOUR
    start, end = first, last + HOUR  # [start, end) holds every served hour
    began = time.perf_counter()
    usage = northflank_hours(first, args.hours, args.seed)
    generated_in = time.perf_counter() - began
    want_total, want_rows = expected_total(usage), expected_rows(usage)
    print(f"data: {len(usage):,} hours {iso(start)} .. {iso(end)}, generated in {generated_in:.2f} s", flush=True)

    # A rate limit this high never throttles: the benchmark measures work, not the quota.
    with FakeNorthflank(usage, token=TOKEN, seed=args.seed, ratelimit=1_000_000) as fake:
        rules.write_text(
            f"timezone: UTC\ncurrency: USD\ndatabase: {db}\nsources:\n"
            f"  - name: {SOURCE}\n    provider: northflank\n    token: {TOKEN}\n    base_url: {fake.url}\n"
        )
        backfill = [*cmd, "backfill", "--since", iso(start), "--until", iso(end), "-c", str(rules)]

        times_b: list[float] = []
        pages_b: list[int] = []
        output = ""
        for _ in range(args.repeat):
            before = len(fake.requests)
            elapsed, output = run_backfill(backfill, db)
            times_b.append(elapsed)
            pages_b.append(len(fake.requests) - before)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
        print(f"(b) alertd backfill: {seconds(times_b)}\n    {output}", flush=True)

        # The fixed cost (start-up, imports, schema, one page): the same command over one hour.
        one_hour = [*cmd, "backfill", "--since", iso(end - HOUR), "--until", iso(end), "-c", str(rules_fixed)]
        rules_fixed.write_text(rules.read_text().replace(str(db), str(db_fixed)))
        times_f = [run_backfill(one_hour, db_fixed)[0] for _ in range(args.repeat)]
        print(f"(f) fixed cost:      {seconds(times_f)}", flush=True)

        times_a: list[float] = []
        pages_a, entries_a = 0, 0
        for _ in range(args.repeat):
            before = len(fake.requests)
            t0 = time.perf_counter()
            entries_a = baseline(fake.url, start, end)
            times_a.append(time.perf_counter() - t0)
            pages_a = len(fake.requests) - before
        print(f"(a) httpx baseline:  {seconds(times_a)}", flush=True)
        paths = {r.path for r in fake.requests}

    conn = sqlite3.connect(db)
    try:
        stored = int(conn.execute("SELECT count(*) FROM costs").fetchone()[0])
    finally:
        conn.close()
    report = subprocess.run(
        [*cmd, "report", "--json", "--by", "source", "--since", iso(start), "--until", iso(end), "-c", str(rules)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if report.returncode != 0:
        raise SystemExit(f"alertd report failed ({report.returncode}):\n{report.stderr}")
    got_total = Decimal(json.loads(report.stdout)["total"])
    total_ok = got_total == want_total
    rows_ok = stored == want_rows
    entries_ok = entries_a == args.hours

    best_a, best_b, best_f = min(times_a), min(times_b), min(times_f)
    results = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")),
        ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
        ("os.cpu_count()", str(os.cpu_count())),
        ("hours served", f"{args.hours:,} (seed {args.seed}); paths seen: {', '.join(sorted(paths))}"),
        ("(a) httpx baseline", f"{best_a:.3f} s  ({pages_a} pages, {entries_a:,} entries)"),
        ("(b) alertd backfill", f"{best_b:.3f} s  (pages per run: {', '.join(map(str, pages_b))})"),
        ("(f) fixed cost: one-hour backfill", f"{best_f:.3f} s  (start-up, imports, schema, one page)"),
        ("ratio (b)/(a)", f"{best_b / best_a:.2f}"),
        ("ratio ((b)-(f))/(a)", f"{(best_b - best_f) / best_a:.2f}  (the year's work beyond the fixed cost)"),
        ("peak RSS of (b)", f"{peak_kb / 1024:.1f} MiB"),
        ("rows stored", f"{stored:,} (expected {want_rows:,}): {'PASS' if rows_ok else 'FAIL'}"),
        ("report total", f"{got_total} vs generated {want_total}: {'PASS' if total_ok else 'FAIL'}"),
        ("baseline saw every hour", "PASS" if entries_ok else f"FAIL ({entries_a:,})"),
    ]
    print(f"\nResults (best of {args.repeat})\n{table(results)}")
    if args.clean:
        shutil.rmtree(workdir)
    return 0 if total_ok and rows_ok and entries_ok else 1


if __name__ == "__main__":
    sys.exit(main())
