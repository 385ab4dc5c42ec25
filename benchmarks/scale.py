"""alertd at the scale of a real organisation, in one run (issue 9): a year of hourly spend
for 160 series in 4 CSV sources, 200 budgets, 50 anomaly rules.

Run by hand:  /work/venv/bin/python benchmarks/scale.py [--quick] [--repeat 3] [--skip-growth]

Choices (also in benchmarks/README.md):
Files: this one measures, scale_data.py makes the data and rules, scale_report.py prints.
- Data (scale_data.py): seeded hourly spend per series with Berlin office-hours and weekend
  shape, noise, growth, incidents (a few still going on at the end), idle and sub-dollar
  series; one CSV per source (`timestamp,line_item,amount`, ISO 8601 with offset, one source
  in Berlin local offsets), ending with the hour before the current one. Regenerated each run:
  it ends at the current hour.
- Rules: Europe/Berlin, the 4 sources as `provider: csv`, one `json://127.0.0.1:PORT/` channel
  answered by a receiver thread here that counts the messages of each command. Budget amounts
  are set from the generated spend of the current period, so that about 45 / 20 / 15 / 20 % stand
  below 50, at 50-80, at 80-100 and past 100 %.
- Data gets in by `alertd backfill --since START --until END` on a fresh database (timed on its
  own). A copy of that database is kept, and each of --repeat rounds starts from it (CSV files
  truncated back): (1) cold check = the first `check`; (2) nothing new = `check` again;
  (3) one new hour = the next hour's rows (the current hour, as a provider reports it while it
  runs) appended to every CSV file, then `check`; then `status`, `report --by
  source,line_item --since START`, and `replay --since START` with 10 budgets + 5 anomaly rules
  over 1 series and over 50 (whole teams, `*.TEAM`). Medians of the rounds; a command that
  times out is not tried again, and after a timed-out cold check (2) and (3) are skipped
  (they would be cold checks too).
- Every command is a whole process under GNU time (its own peak RSS: a forked child's peak
  counts its parent's memory, and this process holds the dataset), killed after --timeout s.
  "polls done" is the last `poll` log line's time after the process started: start-up plus
  reading the CSV files, the rest being evaluation and delivery.
- Baseline: `SELECT source, line_item, SUM(amount) FROM costs GROUP BY source, line_item` over
  the same database in a `python -c` process, run after every alertd command; its median.
- Growth: the figures again at half the history and at half the series (not those that timed
  out at full size); exponent log2(t(2n) / t(n)), 1.0 = linear. Start-up (~0.4 s) is in every
  figure, so fast commands show exponents near 0.
- `alertd run`: on a smaller dataset (--run-days of history, all series: the CSV provider
  re-reads its whole file each poll, seconds at full size), every source `every: 1s` (the
  shortest duration alertd parses), so 1,000 cycles take at least 1,000 s. Cycles are counted
  from the first source's `poll` log lines, VmRSS sampled every --run-sample cycles; stopped by
  SIGTERM at --run-cycles, at --run-timeout, or after 60 s when its pace would not reach
  --run-cycles within --run-timeout. Flat: least-squares slope after the first 10 % of cycles
  at most 0.5 MiB per 100 cycles.
- Daemon cycles (not with --skip-daemon-cycles): after the rounds, on the full-size dataset, per
  round from the post-backfill copy with the CSV files restored: `alertd run` with every source
  `every: 1s`, timed by its own `cycle took X s` log lines (run_cycle alone: no start-up,
  imports, and Apprise's plugin load only in the first cycle that delivers). First cycle; median
  of the 5 that follow (nothing new); then one hour appended right after a cycle is logged, and
  the first of the next 3 cycles whose polls report new rows. Peak RSS = VmHWM after that cycle
  (VmRSS after it printed too); messages counted by the receiver per cycle. 120 s for the first
  cycle, 30 s for each later one, then SIGTERM (killed after 30 s more).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from contextlib import closing, suppress
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import scale_data as data_mod
from _common import Measured, Started, alertd_command, clean_env, fresh, measure, peak_rss_mib, rss_mib
from scale_report import Figure, Scenario, mib, report

BASELINE_SQL = "SELECT source, line_item, SUM(amount) FROM costs GROUP BY source, line_item"
_BASELINE = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nprint(len(c.execute(sys.argv[2]).fetchall()))\n"
_POLL_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ poll ", re.M)
_CYCLE_LINE = re.compile(
    r" INFO cycle took (\d+(?:\.\d+)?) s: (\d+) sources polled, (\d+) new alerts, (\d+) deliveries sent"
)
_POLL_CHANGED = re.compile(r" INFO poll \S+: (\d+) rows, (\d+) new or revised")
FIRST_CYCLE_TIMEOUT = 120.0  # seconds for the daemon's first cycle to be logged
CYCLE_TIMEOUT = 30.0  # for each later one
QUIET_CYCLES = 5  # cycles with nothing new after the first
AFTER_APPEND = 3  # cycles waited for after the new hour is appended


class Receiver:
    """The `json://` channel: a loopback HTTP server counting the messages it is sent."""

    def __init__(self) -> None:
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with counter._lock:
                    counter.count += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.count = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> int:
        with self._lock:
            count, self.count = self.count, 0
        return count


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.alertd = alertd_command(args.alertd)
        self.env = clean_env()
        self.receiver = Receiver()
        self.end = int(time.time()) // data_mod.HOUR * data_mod.HOUR  # the current hour: the data ends before it

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def alertd_run(self, name: str, verb: list[str], rules: Path, scenario: Scenario, db: Path) -> None:
        """One alertd command into its figure (its output kept under logs/), then one baseline run."""
        fig = scenario.figures[name]
        self.receiver.take()
        started = Started([*self.alertd, *verb, "-c", str(rules)], self.env)
        run = started.finish(self.args.timeout)
        fig.runs.append(run)
        fig.messages.append(self.receiver.take())
        logs = db.parent / "logs"
        logs.mkdir(exist_ok=True)
        (logs / f"{name.replace(' ', '-')}-{len(fig.runs)}.log").write_text(
            f"$ {' '.join(verb)}\n{run.stdout}\n{run.stderr}"
        )
        polls = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S,%f").timestamp() for m in _POLL_LINE.findall(run.stderr)]
        if polls:
            fig.polls_done.append(max(polls) - started.began_wall)
        state = f"timeout after {self.args.timeout:.0f} s" if run.timed_out else f"{run.seconds:.2f} s"
        exit_note = f", exit {run.returncode}: {run.stderr.strip()[-300:]}" if run.returncode not in (0, None) else ""
        self.log(f"  {' '.join(verb[:1])}: {state}, {mib(run.rss_mib)}{exit_note}")
        scenario.baseline.append(
            measure([sys.executable, "-c", _BASELINE, str(db), BASELINE_SQL], timeout=self.args.timeout, env=self.env)
        )

    def scenario(self, label: str, series: int, months: float, skip: set[str], *, cycles: bool = False) -> Scenario:
        sc = Scenario(label, series, months)
        hours = round(months * 730)
        total = round(self.args.months * 730)
        where = self.args.workdir / label
        self.log(f"{label}: {series} series x {hours} h = {series * hours:,} rows")
        began = time.perf_counter()
        data = data_mod.generate(
            where,
            series=series,
            sources=self.args.sources,
            hours=hours,
            total_hours=total,
            end=self.end,
            seed=self.args.seed,
        )
        sc.facts["generated_s"] = round(time.perf_counter() - began, 1)
        db = where / "alertd.db"
        rules = self.write_rules(data, db, where, "15m", sc)
        since = datetime.fromtimestamp(data.start, UTC).isoformat()
        until = datetime.fromtimestamp(data.end, UTC).isoformat()
        replays = {}
        for n in (1, self.args.replay_series * series // self.args.series or 1):
            sources, globs, count = data_mod.replay_selection(data, n)
            path = where / f"replay-{count}.yaml"
            path.write_text(
                data_mod.rules_header(data, db, self.receiver.port, "15m") + data_mod.replay_yaml(sources, globs)
            )
            replays["replay 1 series" if n == 1 else "replay 50 series"] = path
            sc.facts[f"replay_{'1' if n == 1 else 'n'}_series"] = count
        fresh(db)
        sc.figures["backfill"] = Figure()
        self.alertd_run("backfill", ["backfill", "--since", since, "--until", until], rules, sc, db)
        pristine = where / "pristine.db"
        _copy_db(db, pristine)
        with closing(sqlite3.connect(pristine)) as conn:
            sc.facts["rows_stored"] = conn.execute("SELECT count(*) FROM costs").fetchone()[0]
        steps: list[tuple[str, list[str], Path]] = [
            ("cold check", ["check"], rules),
            ("nothing new", ["check"], rules),
            ("one new hour", ["check"], rules),
            ("status", ["status"], rules),
            ("report", ["report", "--by", "source,line_item", "--since", since], rules),
            *((name, ["replay", "--since", since], path) for name, path in replays.items()),
        ]
        for name, _, _ in steps:
            sc.figures[name] = Figure()
        for round_ in range(self.args.repeat):
            self.log(f" round {round_ + 1}/{self.args.repeat}")
            if round_:
                _copy_db(pristine, db)
                data_mod.restore(data)
            for name, verb, path in steps:
                fig = sc.figures[name]
                cold = sc.figures["cold check"]
                if name in skip or fig.timed_out or (name in ("nothing new", "one new hour") and cold.timed_out):
                    continue
                if name == "one new hour":
                    data_mod.append_hour(data, self.args.seed)
                self.alertd_run(name, verb, path, sc, db)
        data_mod.restore(data)
        if cycles:
            self.daemon_cycles(data, db, pristine, where, sc)
        return sc

    def daemon_cycles(self, data: data_mod.Dataset, db: Path, pristine: Path, where: Path, sc: Scenario) -> None:
        """A running daemon's own view: `alertd run`, every source every second, from the pristine
        database: its first cycle, QUIET_CYCLES with nothing new, then one new hour; each cycle's
        time as the daemon logs it (`cycle took X s`), without start-up and imports."""
        rules = self.write_rules(data, db, where, "1s", sc, name="rules-every-1s.yaml")
        names = ("daemon: first cycle", "daemon: nothing new", "daemon: one new hour")
        for name in names:
            sc.figures[name] = Figure()
        first, quiet, new_hour = (sc.figures[name] for name in names)
        logs = where / "logs"
        logs.mkdir(exist_ok=True)
        sc.facts["daemon_cycles"] = []
        for round_ in range(self.args.repeat):
            _copy_db(pristine, db)
            data_mod.restore(data)
            log_path = logs / f"daemon-cycles-{round_ + 1}.log"
            self.log(f" daemon cycles {round_ + 1}/{self.args.repeat}: `alertd run`, every source every second")
            facts = self._daemon_round(rules, data, log_path)
            sc.facts["daemon_cycles"].append(facts)
            cycles, before, hwm = facts["cycles"], facts["appended_after"], facts["vmhwm_mib"]
            if not cycles:
                first.timeout_s = FIRST_CYCLE_TIMEOUT
                first.runs.append(Measured(FIRST_CYCLE_TIMEOUT, facts["peak_rss_mib"], None, "", ""))
                break
            first.runs.append(Measured(cycles[0]["seconds"], hwm[0], 0, "", ""))
            first.messages.append(facts["messages"][0])
            if before is None:
                quiet.timeout_s = new_hour.timeout_s = CYCLE_TIMEOUT
                quiet.runs.append(Measured(CYCLE_TIMEOUT, facts["peak_rss_mib"], None, "", ""))
                break
            calm = [c["seconds"] for c in cycles[1:before]]
            quiet.runs.append(Measured(statistics.median(calm), hwm[before - 1], 0, "", ""))
            quiet.messages.append(sum(facts["messages"][1:before]))
            news = next((i for i in range(before, len(cycles)) if cycles[i]["changed"] > 0), None)
            if news is None:
                new_hour.timeout_s = CYCLE_TIMEOUT
                new_hour.runs.append(Measured(CYCLE_TIMEOUT, facts["peak_rss_mib"], None, "", ""))
                break
            new_hour.runs.append(Measured(cycles[news]["seconds"], hwm[news], 0, "", ""))
            new_hour.messages.append(facts["messages"][news])
            rss = facts["vmrss_mib"]
            sc.facts.setdefault("daemon_vmrss_mib", []).append([rss[0], rss[before - 1], rss[news]])

    def _daemon_round(self, rules: Path, data: data_mod.Dataset, log_path: Path) -> dict[str, Any]:
        """One `alertd run` until its first cycle + QUIET_CYCLES + AFTER_APPEND cycles (the new hour
        appended after the quiet ones), then SIGTERM; always stopped, killed if need be."""
        self.receiver.take()
        started = Started([*self.alertd, "run", "-c", str(rules)], self.env, stderr=log_path)
        seen: dict[int, tuple[int, float | None, float | None]] = {}  # cycles logged → (messages, VmHWM, VmRSS)
        appended_after: int | None = None
        appended_rows = 0
        stopped = "done"

        def wait_for(count: int, timeout: float) -> int | None:
            deadline = time.monotonic() + timeout
            while True:
                logged = len(_CYCLE_LINE.findall(log_path.read_text(errors="replace")))
                if logged >= count:
                    seen[logged] = (self.receiver.take(), peak_rss_mib(started.pid), rss_mib(started.pid))
                    return logged
                if time.monotonic() > deadline:
                    return None
                if peak_rss_mib(started.pid) is None:
                    return None  # the daemon is gone
                time.sleep(0.02)

        try:
            logged = wait_for(1, FIRST_CYCLE_TIMEOUT)
            while logged is not None and logged < 1 + QUIET_CYCLES:
                logged = wait_for(logged + 1, CYCLE_TIMEOUT)
            if logged is not None:
                # Right after a cycle is logged: the daemon sleeps until its next poll, a second after
                # this cycle's start, so the files are whole when it next reads them.
                appended_after, appended_rows = logged, data_mod.append_hour(data, self.args.seed)
                while logged is not None and logged < appended_after + AFTER_APPEND:
                    logged = wait_for(logged + 1, CYCLE_TIMEOUT)
            if logged is None:
                stopped = "timed out or exited while waiting for a cycle"
        finally:
            peak = peak_rss_mib(started.pid)
            group = None
            with suppress(ProcessLookupError):
                group = os.getpgid(started.pid)
                os.kill(started.pid, signal.SIGTERM)
            run = started.finish(30)
            with suppress(ProcessLookupError, PermissionError):
                if group is not None:
                    os.killpg(group, signal.SIGKILL)  # whatever it may have left behind
            data_mod.restore(data)
        cycles: list[dict[str, Any]] = []
        changed = 0
        for line in run.stderr.splitlines():
            if m := _POLL_CHANGED.search(line):
                changed += int(m[2])
            elif m := _CYCLE_LINE.search(line):
                cycles.append(
                    {"seconds": float(m[1]), "polled": int(m[2]), "new_alerts": int(m[3]), "sent": int(m[4])}
                    | {"changed": changed}
                )
                changed = 0
        # A look at the receiver counts the messages of every cycle since the previous look: they go
        # to the last of them. VmHWM and VmRSS after a cycle: the first look at or after it.
        messages = [seen[i + 1][0] if i + 1 in seen else 0 for i in range(len(cycles))]
        hwm = [next((seen[c][1] for c in sorted(seen) if c >= i + 1), peak) for i in range(len(cycles))]
        resident = [next((seen[c][2] for c in sorted(seen) if c >= i + 1), None) for i in range(len(cycles))]
        news = next((c for c in cycles[appended_after or len(cycles) :] if c["changed"]), None)
        later = ", ".join(f"{c['seconds']:.3f}" for c in cycles[1:])
        self.log(
            "  "
            + (f"first cycle {cycles[0]['seconds']:.3f} s" if cycles else "no cycle logged")
            + (f", then {later} s" if later else "")
            + f"; new hour: {appended_rows} rows appended after cycle {appended_after}, "
            + (f"{news['changed']} new or revised in one cycle" if news else "not seen")
            + f"; VmHWM {mib(peak)}, VmRSS after the last cycle {mib(resident[-1] if resident else None)}"
            + f", exit {run.returncode} ({stopped})"
        )
        return {
            "cycles": cycles,
            "appended_after": appended_after,
            "appended_rows": appended_rows,
            "messages": messages,
            "vmhwm_mib": hwm,
            "vmrss_mib": resident,
            "peak_rss_mib": peak if peak is not None else run.rss_mib,
            "exit": run.returncode,
            "stopped": stopped,
        }

    def write_rules(
        self, data: data_mod.Dataset, db: Path, where: Path, every: str, sc: Scenario, name: str = "rules.yaml"
    ) -> Path:
        rng = random.Random(self.args.seed)
        now = datetime.fromtimestamp(self.end, UTC)
        budgets, bands = data_mod.budgets_yaml(data, self.args.budgets, now, rng)
        anomalies, scans = data_mod.anomalies_yaml(data, self.args.anomalies, rng)
        path = where / name
        header = data_mod.rules_header(data, db, self.receiver.port, every)
        path.write_text(f"{header}budgets:\n{budgets}anomalies:\n{anomalies}")
        sc.facts |= {"budget_bands": bands, "anomaly_series_scans": scans, "rows": data.rows}
        return path

    def daemon(self) -> dict[str, Any]:
        """`alertd run` on a smaller dataset, every source every second: RSS per cycle."""
        args = self.args
        where = args.workdir / "run"
        hours = args.run_days * 24
        data = data_mod.generate(
            where,
            series=args.series,
            sources=args.sources,
            hours=hours,
            total_hours=hours,
            end=self.end,
            seed=args.seed,
        )
        db = where / "alertd.db"
        fresh(db)
        sc = Scenario("run", args.series, hours / 730)
        rules = self.write_rules(data, db, where, "1s", sc)
        since = datetime.fromtimestamp(data.start, UTC).isoformat()
        backfill = measure(
            [*self.alertd, "backfill", "-c", str(rules), "--since", since], timeout=args.timeout, env=self.env
        )
        if backfill.returncode != 0:
            return {"error": f"backfill failed: {backfill.stderr[-300:]}"}
        time.sleep(1.5)  # past `every` since the backfill's fetches, so the first cycle polls as the others do
        log_path = where / "run.log"
        first = next(iter(data.paths))
        marker = re.compile(rf" poll {re.escape(first)}[: ]")
        self.log(f"run: {args.series} series x {hours} h; until {args.run_cycles} cycles or {args.run_timeout:.0f} s")
        started = Started([*self.alertd, "run", "-c", str(rules)], self.env, stderr=log_path)
        samples: list[tuple[int, float, float]] = []  # (cycle, seconds since start, VmRSS MiB)
        stop_reason = "reached --run-cycles"
        cycles = 0
        while True:
            time.sleep(0.2)
            elapsed = time.perf_counter() - started.began
            cycles = len(marker.findall(log_path.read_text(errors="replace")))
            rss = rss_mib(started.pid)
            if rss is None:
                stop_reason = "the daemon exited"
                break
            if cycles and (not samples or cycles >= samples[-1][0] + args.run_sample):
                samples.append((cycles, round(elapsed, 2), rss))
            if cycles >= args.run_cycles:
                break
            if elapsed > args.run_timeout:
                stop_reason = f"--run-timeout {args.run_timeout:.0f} s"
                break
            if elapsed > 60 and elapsed / max(cycles, 1) * args.run_cycles > args.run_timeout:
                stop_reason = f"too slow: {cycles} cycles in {elapsed:.0f} s would not reach {args.run_cycles} in time"
                break
        os.kill(started.pid, signal.SIGTERM)
        run = started.finish(30)
        later = [(c, r) for c, _, r in samples if c >= max(cycles // 10, 2)]
        return {
            "series": args.series,
            "hours": hours,
            "cycles": cycles,
            "seconds": round(run.seconds, 1),
            "stopped": stop_reason,
            "exit": run.returncode,
            "rss_first": samples[0][2] if samples else None,
            "rss_last": samples[-1][2] if samples else None,
            "rss_max": max((r for _, _, r in samples), default=None),
            "peak_rss": run.rss_mib,
            "slope_mib_per_100": _slope(later) * 100 if len(later) >= 3 else None,
            "samples": samples,
        }


def _copy_db(source: Path, target: Path) -> None:
    """A consistent copy onto a fresh file (SQLite's backup: whatever is still in a WAL comes too)."""
    fresh(target)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of y over x."""
    mean_x = statistics.fmean(x for x, _ in points)
    mean_y = statistics.fmean(y for _, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / den if den else 0.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=160)
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--months", type=float, default=12)
    ap.add_argument("--budgets", type=int, default=200)
    ap.add_argument("--anomalies", type=int, default=50)
    ap.add_argument("--replay-series", type=int, default=50, help="series of the larger replay (default 50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "alertd-bench-scale")
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run (~1 min)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds; medians (default 3)")
    ap.add_argument("--timeout", type=float, default=90, help="seconds per command before it is killed (default 90)")
    ap.add_argument("--skip-growth", action="store_true", help="no half-history / half-series runs")
    ap.add_argument(
        "--skip-daemon-cycles", action="store_true", help="no `alertd run` cycle timings on the full-size dataset"
    )
    ap.add_argument("--run-cycles", type=int, default=1000)
    ap.add_argument("--run-days", type=int, default=14, help="history of the `alertd run` dataset (default 14)")
    ap.add_argument("--run-sample", type=int, default=10, help="VmRSS every this many cycles (default 10)")
    ap.add_argument("--run-timeout", type=float, default=1200, help="seconds of `alertd run` at most (default 1200)")
    ap.add_argument("--alertd", help="alertd executable (default: the one beside this Python)")
    ap.add_argument("--clean", action="store_true", help="remove --workdir afterwards")
    args = ap.parse_args(argv)
    if args.quick:
        args.series, args.months, args.budgets, args.anomalies = 16, 1, 20, 6
        args.replay_series, args.repeat, args.run_cycles, args.run_days, args.run_sample = 5, 1, 30, 2, 2
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    began = time.perf_counter()
    full = bench.scenario("full", args.series, args.months, set(), cycles=not args.skip_daemon_cycles)
    growth: dict[str, Scenario] = {}
    if not args.skip_growth:
        skip = {name for name, fig in full.figures.items() if fig.timed_out or not fig.runs}
        growth["half-history"] = bench.scenario("half-history", args.series, args.months / 2, skip)
        growth["half-series"] = bench.scenario("half-series", args.series // 2, args.months, skip)
    run = bench.daemon() if args.run_cycles > 0 else None
    results = report(args, full, growth, run, time.perf_counter() - began)
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {args.workdir / 'results.json'}")
    if args.clean:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
