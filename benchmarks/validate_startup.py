"""Benchmark the start-up of `alertd validate` against a bare `python -c pass`.

Run by hand:  /work/venv/bin/python benchmarks/validate_startup.py [--runs 20] [--config FILE]

Runs `alertd validate -c rules.example.yaml --allow-missing-env` --runs times as a subprocess,
interleaved with as many `python -c pass` (the same interpreter), and prints min/median/max of
each against the target (median under 0.3 s). Then prints the modules with the largest
cumulative import time from `python -X importtime -m alertd validate ...`.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from _common import alertd_command, clean_env

TARGET = 0.3  # seconds, median wall time of one `alertd validate`
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "rules.example.yaml"
_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def wall(cmd: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def import_times(cmd: list[str], env: dict[str, str]) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) for every import of one run."""
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    rows = []
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            own, cumulative, indent, name = match.groups()
            rows.append((int(own), int(cumulative), len(indent) // 2, name))
    return rows


def stats(times: list[float]) -> str:
    return f"min {min(times):.3f}  median {statistics.median(times):.3f}  max {max(times):.3f} s"


def table(rows: list[tuple[str, str]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog=f"Target: median under {TARGET} s. Exit status 1 if it is missed.",
    )
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (default 20)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="rules file (default %(default)s)")
    parser.add_argument("--top", type=int, default=10, help="modules to list by cumulative import time (default 10)")
    parser.add_argument("--alertd", help="alertd executable (default: the one beside this Python, else -m alertd)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    env = clean_env()
    verb = ["validate", "-c", str(args.config), "--allow-missing-env"]
    validate = [*alertd_command(args.alertd), *verb]
    bare = [sys.executable, "-c", "pass"]

    wall(validate, env)  # warm the page cache and .pyc files; not counted
    wall(bare, env)
    base_times, validate_times = [], []
    for _ in range(args.runs):  # interleaved, so background load hits both alike
        base_times.append(wall(bare, env))
        validate_times.append(wall(validate, env))

    median = statistics.median(validate_times)
    results = [
        ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")),
        ("python", f"{platform.python_version()} ({platform.python_implementation()}) {sys.executable}"),
        ("os.cpu_count()", str(os.cpu_count())),
        ("runs", str(args.runs)),
        ("python -c pass", stats(base_times)),
        ("alertd validate", stats(validate_times)),
        ("validate - baseline (medians)", f"{median - statistics.median(base_times):.3f} s"),
        ("target", f"median < {TARGET} s: {'met' if median < TARGET else 'MISSED'}"),
    ]
    print(f"Results\n{table(results)}")

    rows = import_times([sys.executable, "-X", "importtime", "-m", "alertd", *verb], env)
    total_ms = sum(own for own, *_ in rows) / 1000
    by_package: dict[str, int] = defaultdict(int)
    for own, _, _, name in rows:
        by_package[name.split(".")[0]] += own
    print(f"\nTop {args.top} modules by cumulative import time (one run; all imports: {total_ms:.0f} ms)")
    print(f"  {'cumulative':>10}  {'self':>8}  module (indented by nesting depth)")
    for own, cumulative, depth, name in sorted(rows, key=lambda r: r[1], reverse=True)[: args.top]:
        print(f"  {cumulative / 1000:8.1f}ms  {own / 1000:6.1f}ms  {'  ' * depth}{name}")
    heavy = sorted(by_package.items(), key=lambda kv: kv[1], reverse=True)[:8]
    print("Self time by top-level package: " + ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in heavy))
    return 0 if median < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
