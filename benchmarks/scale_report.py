"""The figures of `scale.py` (what was measured, per dataset) and how they are printed: the
table of issue 9's targets, the growth exponents, and the JSON written to results.json."""

from __future__ import annotations

import argparse
import math
import os
import platform
import sqlite3
import statistics
from dataclasses import dataclass, field
from typing import Any

from _common import Measured

MIB_TARGET = 150
# figure → (what the issue asks of its time, as a label; a test of (seconds, baseline seconds))
TARGETS: dict[str, tuple[str, Any]] = {
    "backfill": ("", None),
    "cold check": ("≤ 3x baseline", lambda t, b: t <= 3 * b),
    "nothing new": ("≤ 0.2 s", lambda t, b: t <= 0.2),
    "one new hour": ("≤ 0.5 s", lambda t, b: t <= 0.5),
    "replay 1 series": ("", None),
    "replay 50 series": ("≤ 5 s", lambda t, b: t <= 5),
    "status": ("≤ 1 s", lambda t, b: t <= 1),
    "report": ("≤ 2x baseline", lambda t, b: t <= 2 * b),
    # a running `alertd run`'s own `cycle took` lines: no start-up, imports or plugin load after the first
    "daemon: first cycle": ("≤ 3x baseline", lambda t, b: t <= 3 * b),
    "daemon: nothing new": ("≤ 0.2 s", lambda t, b: t <= 0.2),
    "daemon: one new hour": ("≤ 0.5 s", lambda t, b: t <= 0.5),
}


@dataclass
class Figure:
    runs: list[Measured] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    polls_done: list[float] = field(default_factory=list)
    timeout_s: float | None = None  # what "timed out" means for it, when not --timeout

    @property
    def timed_out(self) -> bool:
        return any(r.timed_out for r in self.runs)

    @property
    def failed(self) -> int | None:
        """The exit status of the first run that failed."""
        return next((r.returncode for r in self.runs if r.returncode not in (0, None)), None)

    @property
    def seconds(self) -> float | None:
        done = [r.seconds for r in self.runs if not r.timed_out]
        return statistics.median(done) if done and not self.timed_out else None

    @property
    def rss(self) -> float | None:
        known = [r.rss_mib for r in self.runs if r.rss_mib is not None]
        return max(known) if known else None

    def as_json(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "rss_mib": self.rss,
            "timed_out": self.timed_out,
            "runs": [{"seconds": r.seconds, "rss_mib": r.rss_mib, "returncode": r.returncode} for r in self.runs],
            "messages": self.messages,
            "polls_done_s": self.polls_done,
        }


@dataclass
class Scenario:
    label: str
    series: int
    months: float
    figures: dict[str, Figure] = field(default_factory=dict)
    baseline: list[Measured] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline_seconds(self) -> float | None:
        done = [r.seconds for r in self.baseline if not r.timed_out]
        return statistics.median(done) if done else None


def mib(value: float | None) -> str:
    return "? MiB" if value is None else f"{value:.1f} MiB"


def _exponent(big: float | None, small: float | None) -> str:
    if big is None or small is None or small <= 0:
        return "n/a"
    return f"{math.log2(big / small):.2f}"


def _s(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds:.3f} s"


def shown_name(name: str, sc: Scenario) -> str:
    """The larger replay under the number of series it selected."""
    return f"replay {sc.facts['replay_n_series']} series" if name == "replay 50 series" else name


def table(
    full: Scenario, growth: dict[str, Scenario], run: dict[str, Any] | None, args: argparse.Namespace
) -> list[list[str]]:
    timeout = args.timeout
    base = full.baseline_seconds
    rows = [["figure", "alertd", "peak RSS", "baseline", "ratio", "target", "met?"]]
    for name, fig in full.figures.items():
        label, test = TARGETS[name]
        t = fig.seconds
        limit = fig.timeout_s or timeout
        shown = f"timeout after {limit:.0f} s" if fig.timed_out else ("skipped" if not fig.runs else f"{t:.3f} s")
        if fig.failed is not None:
            shown += f" (exit {fig.failed})"
        met = "—"
        if fig.runs and (test or name != "backfill"):
            ok_time = t is not None and base is not None and (test is None or test(t, base)) and fig.failed is None
            ok_rss = fig.rss is not None and fig.rss <= MIB_TARGET
            met = "yes" if ok_time and ok_rss else "NO"
        elif not fig.runs and name != "backfill":
            met = "NO"
        ratio = f"{t / base:.1f}x" if t is not None and base else "—"
        target = ", ".join(filter(None, (label, f"≤ {MIB_TARGET} MiB" if name != "backfill" else "")))
        rows.append([shown_name(name, full), shown, mib(fig.rss), f"{base:.3f} s" if base else "?", ratio, target, met])
    cold = full.figures["cold check"]
    if cold.runs:
        sent = "n/a (timed out)" if cold.timed_out else str(max(cold.messages))
        ok = not cold.timed_out and max(cold.messages) <= 10
        rows.append(["messages sent by the cold check", sent, "", "", "", "a handful (≤ 10)", "yes" if ok else "NO"])
    half = growth.get("half-history")
    if half and "one new hour" in half.figures:
        e = _exponent(full.figures["one new hour"].seconds, half.figures["one new hour"].seconds)
        flat = e != "n/a" and float(e) <= 0.3
        label = f"one new hour: {args.months:g} vs {args.months / 2:g} months"
        rows.append([label, f"exponent {e}", "", "", "", "not growing (≤ 0.3)", "yes" if flat else "NO"])
    if run and "cycles" in run:
        slope = run["slope_mib_per_100"]
        flat = slope is not None and slope <= 0.5 and (run["peak_rss"] or 0) <= MIB_TARGET
        rows.append(
            [
                f"`alertd run`, {run['cycles']} cycles ({run['stopped']})",
                f"RSS {mib(run['rss_first'])} → {mib(run['rss_last'])}, slope "
                + (f"{slope:+.2f} MiB/100 cycles" if slope is not None else "?"),
                mib(run["peak_rss"]),
                "",
                "",
                f"flat (≤ 0.5 MiB/100 cycles), ≤ {MIB_TARGET} MiB, 1,000 cycles",
                "yes" if flat and run["cycles"] >= 1000 else "NO",
            ]
        )
    return rows


def print_table(rows: list[list[str]]) -> None:
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + " --- |" * len(rows[0]))
    for row in rows[1:]:
        print("| " + " | ".join(row) + " |")


def growth_lines(full: Scenario, growth: dict[str, Scenario]) -> list[str]:
    lines = []
    for label, what in (("half-history", "history doubles"), ("half-series", "series double")):
        half = growth.get(label)
        if half is None:
            continue
        for name, fig in full.figures.items():
            small = half.figures.get(name)
            if name.startswith("daemon: "):
                continue  # measured at full size only
            if small is None or not small.runs:
                lines.append(f"{what}: {shown_name(name, full)}: n/a (timed out or skipped at full size)")
                continue
            t = _exponent(fig.seconds, small.seconds)
            m = _exponent(fig.rss, small.rss)
            lines.append(
                f"{what}: {shown_name(name, full)}: time exponent {t} ({_s(small.seconds)} → {_s(fig.seconds)}), "
                f"RSS exponent {m} ({mib(small.rss)} → {mib(fig.rss)})"
            )
        lines.append(f"{what}: baseline: time exponent {_exponent(full.baseline_seconds, half.baseline_seconds)}")
    return lines


def report(
    args: argparse.Namespace, full: Scenario, growth: dict[str, Scenario], run: dict[str, Any] | None, elapsed: float
) -> dict[str, Any]:
    """Print everything → what goes to results.json."""
    rows = table(full, growth, run, args)
    print()
    print(
        f"alertd at scale: {args.series} series x {args.months:g} months in {args.sources} CSV sources "
        f"({full.facts['rows']:,} rows), {args.budgets} budgets, {args.anomalies} anomaly rules "
        f"({full.facts['anomaly_series_scans']} series-scans), seed {args.seed}"
    )
    print(
        f"os.cpu_count() = {os.cpu_count()}, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{args.repeat} round(s), timeout {args.timeout:.0f} s per command, "
        f"{elapsed:.0f} s in all"
    )
    print(
        f"budgets aimed at: {full.facts['budget_bands']}; replay selections: "
        f"{full.facts['replay_1_series']} and {full.facts['replay_n_series']} series"
    )
    print()
    print_table(rows)
    cold = full.figures["cold check"]
    for name, fig in full.figures.items():
        if fig.polls_done:
            print(f"{name}: polls done {statistics.median(fig.polls_done):.2f} s after start (start-up + CSV reads)")
    if cold.messages:
        print(f"messages: cold check {cold.messages}, one new hour {full.figures['one new hour'].messages}")
    if "daemon: first cycle" in full.figures:
        print(
            f"messages: daemon first cycle {full.figures['daemon: first cycle'].messages}, "
            f"nothing new {full.figures['daemon: nothing new'].messages}, "
            f"one new hour {full.figures['daemon: one new hour'].messages}"
        )
    for first, calm, news in full.facts.get("daemon_vmrss_mib", []):
        print(
            f"daemon VmRSS after the first cycle {mib(first)}, the last with nothing new {mib(calm)}, "
            f"one new hour {mib(news)} (the peak RSS column is VmHWM: the process's peak so far)"
        )
    for line in growth_lines(full, growth):
        print(line)
    results = {
        "environment": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "args": {k: str(v) for k, v in vars(args).items()},
        },
        "table": rows,
        "scenarios": {
            sc.label: {
                "series": sc.series,
                "months": sc.months,
                "facts": sc.facts,
                "baseline_s": sc.baseline_seconds,
                "figures": {name: fig.as_json() for name, fig in sc.figures.items()},
            }
            for sc in (full, *growth.values())
        },
        "growth": growth_lines(full, growth),
        "run": run,
    }
    return results
