"""Benchmark `alertd backfill` of a year from each new provider against a bare parse (issue 12).

Run by hand:  /work/venv/bin/python benchmarks/providers_bench.py [--repeat 3] [--only openai,focus]

Three providers, each against the bare minimum of reading the same data, in interleaved rounds
(--repeat, default 3: every contender once per round, in turn); the headline of each is the
median over rounds of alertd / baseline within a round, which a loaded machine disturbs less
than best/best:

  OpenAI     FakeOpenAI serving `spend.openai_days` for --days (365) days through today
             (a) one httpx.Client following `next_page` (limit=180, group_by project_id and
                 line_item), `json.loads(parse_float=Decimal)`, amounts summed
             (b) `alertd backfill --since START --until END -c rules.yaml`, fresh db
             check: `alertd report --json` total == the fake's own total, exactly
  Anthropic  FakeAnthropic serving `spend.anthropic_days`, the same (limit=31, group_by[]
             workspace_id and description; amounts are cent strings with 5 decimals)
             check: the report total is the sum of each day's line item rounded half-even to
             the micro-dollar (what alertd must store), and within N/2 micro-dollars of the
             exact sum for N results
  FOCUS      --focus-hours (8,760) hours x 115 line items (23 ServiceName x 5 SubAccountName)
             of FOCUS 1.0 rows, one CSV per month, BilledCost with 2 to 10 decimals and one
             credit a day (~1M rows, generated once, reused while the sidecar matches)
             (a) csv.reader over the files, Decimal(BilledCost) summed per (ChargePeriodStart,
                 ServiceName, SubAccountName) in a dict
             (b) `alertd backfill` of the `provider: focus` source (a directory), fresh db
             (c) `alertd check` right after (b): a poll with nothing changed (files skipped by
                 size + mtime); its ratio is against (a), the parse it avoids
             check: the report total is the sum of each hour and line item's exact sum rounded
             half-even to the micro-unit, and within N/2 micro-units of the exact total

Plus (f), alertd's fixed cost: `alertd backfill` of one OpenAI day on a fresh db. The fakes run
in a forked child process, so that neither the baseline (in this process) nor alertd (a
subprocess) shares an interpreter lock with the server. Peak RSS is GNU time's %M of the alertd
command, the largest of the rounds. Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from _common import GNU_TIME, Measured, alertd_command, clean_env, fresh, measure, wait_for_import
from backfill_bench import table

OPENAI_TOKEN = "sk-admin-bench-token"
ANTHROPIC_TOKEN = "sk-ant-admin01-bench-token"
PROVIDERS = ("openai", "anthropic", "focus")
TIMEOUT = 900.0  # seconds for any one command
_API_PROBE = (
    "from alertd.simulate.openai import FakeOpenAI\n"
    "from alertd.simulate.anthropic import FakeAnthropic\n"
    "from alertd.simulate.spend import anthropic_days, openai_days\n"
    "import alertd.sources.openai, alertd.sources.anthropic\n"
)
_FOCUS_PROBE = (
    "from alertd.config import FocusSource\n"
    "from alertd.sources.focus import FocusFeed\n"
    "from alertd.sources.focus_read import read_file\n"
    "assert callable(read_file) and hasattr(FocusFeed, 'fetch')\n"
)

# --- FOCUS data ------------------------------------------------------------------------------------

FOCUS_VERSION = 1  # bump when the generator changes: cached data is regenerated
FOCUS_START = datetime(2025, 1, 1, tzinfo=UTC)
PLACES = 10  # the generator's finest BilledCost: 10 decimals (alertd rounds each sum to 6)
_UNIT = 10**PLACES
FOCUS_COLUMNS = (
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "SubAccountId",
    "SubAccountName",
    "RegionId",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
)
SERVICES = (
    ("Amazon Elastic Compute Cloud", "Compute"),
    ("Amazon Simple Storage Service", "Storage"),
    ("Amazon Relational Database Service", "Databases"),
    ("Amazon DynamoDB", "Databases"),
    ("AWS Lambda", "Compute"),
    ("Amazon CloudFront", "Networking"),
    ("Amazon Virtual Private Cloud", "Networking"),
    ("Elastic Load Balancing", "Networking"),
    ("Amazon Elastic Kubernetes Service", "Compute"),
    ("Amazon Elastic Container Registry", "Storage"),
    ("Amazon ElastiCache", "Databases"),
    ("Amazon OpenSearch Service", "Analytics"),
    ("Amazon Redshift", "Analytics"),
    ("AWS Glue", "Analytics"),
    ("Amazon Athena", "Analytics"),
    ("Amazon Kinesis", "Analytics"),
    ("Amazon Simple Queue Service", "Integration"),
    ("Amazon Simple Notification Service", "Integration"),
    ("Amazon CloudWatch", "Management and Governance"),
    ("AWS Key Management Service", "Security"),
    ("Amazon Route 53", "Networking"),
    ("Amazon SageMaker", "AI and Machine Learning"),
    ("Amazon Bedrock", "AI and Machine Learning"),
)
ACCOUNTS = (
    ("100000000001", "payments-prod"),
    ("100000000002", "search-prod"),
    ("100000000003", "ml-training"),
    ("100000000004", "data-platform"),
    ("100000000005", "staging"),
)
_REGIONS = ("us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "us-west-2")
_ITEM_PLACES = (2, 4, 6, 8, 10)  # each line item writes its costs with this many decimals


@dataclass(frozen=True)
class FocusData:
    files: list[Path]
    rows: int
    buckets: int  # distinct (hour, line item): what alertd stores
    exact_total: Decimal  # the BilledCost column's exact sum
    stored_micros: int  # each bucket's exact sum rounded half-even to the micro-unit, added up
    start: datetime
    end: datetime
    generated_in: float | None  # None: reused

    @property
    def stored_total(self) -> Decimal:
        return Decimal(self.stored_micros).scaleb(-6)


def _cost_text(units: int, places: int) -> str:
    """An amount in 10^-10 units (a multiple of 10^(10 - places)) with exactly `places` decimals."""
    sign = "-" if units < 0 else ""
    digits = abs(units) // 10 ** (PLACES - places)
    whole, part = divmod(digits, 10**places)
    return f"{sign}{whole}.{part:0{places}d}"


def _half_even_micros(units: int) -> int:
    """10^-10 units → micro-units, half to even (floor division: right for negatives too)."""
    q, r = divmod(units, _UNIT // 10**6)
    half = _UNIT // 10**6 // 2
    return q + 1 if r > half or (r == half and q % 2) else q


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_after(moment: datetime) -> datetime:
    return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1, day=1)


def generate_focus(directory: Path, hours: int, seed: int) -> tuple[int, int, int, int]:
    """Write one CSV per month under `directory`; → (rows, buckets, exact sum in 10^-10, stored µ)."""
    rng = random.Random(f"focus-bench:{seed}")
    items = []  # (static columns before BilledCost, places, scale in 10^-10 units)
    for index, ((service, category), (account_id, account)) in enumerate((s, a) for s in SERVICES for a in ACCOUNTS):
        places = _ITEM_PLACES[(index * 7 + seed) % len(_ITEM_PLACES)]
        scale = 10 ** rng.randint(5, 11)  # 0.00001 .. 10 dollars an hour at most
        items.append(((service, category, account_id, account, _REGIONS[index % len(_REGIONS)]), places, scale))
    rows = buckets = total = stored = 0
    end = FOCUS_START + timedelta(hours=hours)
    month = FOCUS_START
    while month < end:
        period_end = _month_after(month)
        path = directory / month.strftime("%Y-%m") / "focus-00001.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        billing = ("999999999999", _iso(month), _iso(period_end))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(FOCUS_COLUMNS)
            hour = month
            while hour < min(period_end, end):
                start_text, end_text = _iso(hour), _iso(hour + timedelta(hours=1))
                weekend = hour.weekday() >= 5
                credit_at = (hour - FOCUS_START).days * 7 % len(items) if hour.hour == 12 else -1
                batch = []
                for index, ((service, category, account_id, account, region), places, scale) in enumerate(items):
                    step = 10 ** (PLACES - places)
                    units = rng.randrange(scale // 2 if weekend else scale) // step * step
                    text = _cost_text(units, places)
                    head = (*billing, start_text, end_text)
                    tail = (service, category, account_id, account, region, text, text, "USD")
                    batch.append((*head, "Usage", "AWS", *tail))
                    bucket = units
                    if index == credit_at:  # a credit in the same bucket and line item, 10 decimals
                        credit = -rng.randrange(1, max(2, units))
                        text = _cost_text(credit, PLACES)
                        tail = (service, category, account_id, account, region, text, text, "USD")
                        batch.append((*head, "Credit", "AWS", *tail))
                        bucket += credit
                    total += bucket
                    stored += _half_even_micros(bucket)
                writer.writerows(batch)
                rows += len(batch)
                buckets += len(items)
                hour += timedelta(hours=1)
        month = period_end
    return rows, buckets, total, stored


def focus_dataset(workdir: Path, hours: int, seed: int) -> FocusData:
    """The exports under workdir/focus-exports, reused when its sidecar says they are these."""
    directory, sidecar = workdir / "focus-exports", workdir / "focus-exports.json"
    wanted = {"version": FOCUS_VERSION, "hours": hours, "seed": seed, "start": _iso(FOCUS_START)}
    files = sorted(directory.rglob("*.csv")) if directory.exists() else []
    generated_in: float | None = None
    meta: dict[str, Any] = {}
    if sidecar.exists():
        meta = json.loads(sidecar.read_text())
        sizes = {str(p.relative_to(directory)): p.stat().st_size for p in files}
        if meta.get("params") != wanted or meta.get("sizes") != sizes:
            meta = {}
    if not meta:
        shutil.rmtree(directory, ignore_errors=True)
        print(f"generating {hours:,} hours of FOCUS rows under {directory} ...", flush=True)
        began = time.perf_counter()
        rows, buckets, total, stored = generate_focus(directory, hours, seed)
        generated_in = time.perf_counter() - began
        files = sorted(directory.rglob("*.csv"))
        meta = {
            "params": wanted,
            "rows": rows,
            "buckets": buckets,
            "total_units": str(total),
            "stored_micros": str(stored),
            "sizes": {str(p.relative_to(directory)): p.stat().st_size for p in files},
        }
        sidecar.write_text(json.dumps(meta, indent=1))
    return FocusData(
        files,
        meta["rows"],
        meta["buckets"],
        Decimal(int(meta["total_units"])).scaleb(-PLACES),
        int(meta["stored_micros"]),
        FOCUS_START,
        FOCUS_START + timedelta(hours=hours),
        generated_in,
    )


def focus_baseline(files: list[Path]) -> tuple[int, int, Decimal]:
    """csv.reader + Decimal(BilledCost) summed per (ChargePeriodStart, ServiceName, SubAccountName).
    → (rows, keys, total)."""
    sums: dict[tuple[str, str, str], Decimal] = {}
    rows = 0
    zero = Decimal(0)
    for path in files:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            start, service, account, cost = (
                header.index(c) for c in ("ChargePeriodStart", "ServiceName", "SubAccountName", "BilledCost")
            )
            for row in reader:
                key = (row[start], row[service], row[account])
                sums[key] = sums.get(key, zero) + Decimal(row[cost])
                rows += 1
    return rows, len(sums), sum(sums.values(), zero)


# --- the API fakes, served from a forked child -------------------------------------------------------


def _serve(factory: Callable[[], Any], conn: Any) -> None:
    with factory() as fake:
        conn.send(fake.url)
        while (message := conn.recv()) != "stop":
            if message == "requests":
                conn.send(len(fake.requests))
    conn.send("stopped")


class Served:
    """A fake (made by `factory` in the child) on loopback in a forked process."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(factory, child), daemon=True)
        self._process.start()
        if not self._conn.poll(30):
            raise SystemExit("the fake did not start within 30 s")
        self.url: str = self._conn.recv()

    def requests(self) -> int:
        self._conn.send("requests")
        return int(self._conn.recv())

    def close(self) -> None:
        self._conn.send("stop")
        if self._conn.poll(10):
            self._conn.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


@contextmanager
def served(factory: Callable[[], Any]) -> Iterator[Served]:
    server = Served(factory)
    try:
        yield server
    finally:
        server.close()


def openai_baseline(url: str, start: date, end: date) -> tuple[int, int, Decimal]:
    """One client following `next_page` over the year. → (pages, buckets, total in dollars)."""
    import httpx

    pages = buckets = 0
    total = Decimal(0)
    params: dict[str, Any] = {
        "start_time": _midnight(start),
        "end_time": _midnight(end),
        "bucket_width": "1d",
        "group_by": ["project_id", "line_item"],
        "limit": 180,
    }
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {OPENAI_TOKEN}"}, timeout=60) as client:
        while True:
            response = client.get("/v1/organization/costs", params=params)
            response.raise_for_status()
            body = json.loads(response.content, parse_float=Decimal)
            pages += 1
            for bucket in body["data"]:
                buckets += 1
                total += sum((Decimal(r["amount"]["value"]) for r in bucket["results"]), Decimal(0))
            if not body.get("has_more"):
                return pages, buckets, total
            params["page"] = body["next_page"]


def anthropic_baseline(url: str, start: date, end: date) -> tuple[int, int, Decimal]:
    """The same with the cost report (31 buckets a page). → (pages, buckets, total in dollars)."""
    import httpx

    pages = buckets = 0
    cents = Decimal(0)
    params: dict[str, Any] = {
        "starting_at": f"{start.isoformat()}T00:00:00Z",
        "ending_at": f"{end.isoformat()}T00:00:00Z",
        "bucket_width": "1d",
        "group_by[]": ["workspace_id", "description"],
        "limit": 31,
    }
    headers = {"x-api-key": ANTHROPIC_TOKEN, "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        while True:
            response = client.get("/v1/organizations/cost_report", params=params)
            response.raise_for_status()
            body = json.loads(response.content, parse_float=Decimal)
            pages += 1
            for bucket in body["data"]:
                buckets += 1
                cents += sum((Decimal(r["amount"]) for r in bucket["results"]), Decimal(0))
            if not body.get("has_more"):
                return pages, buckets, cents / 100
            params["page"] = body["next_page"]


def _midnight(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


# --- running alertd ------------------------------------------------------------------------------------


def run(cmd: list[str], db: Path | None = None) -> Measured:
    """A whole alertd command under GNU time (on a fresh db when `db` is given); exits on failure."""
    if db is not None:
        fresh(db)
    done = measure(cmd, timeout=TIMEOUT, env=clean_env())
    if done.returncode != 0:
        state = "timed out" if done.timed_out else f"exit {done.returncode}"
        raise SystemExit(f"{' '.join(cmd)}: {state}\n{done.stdout}{done.stderr}")
    return done


def report_total(cmd: list[str], rules: Path, since: str, until: str) -> Decimal:
    report = subprocess.run(
        [*cmd, "report", "--json", "--since", since, "--until", until, "-c", str(rules)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if report.returncode != 0:
        raise SystemExit(f"alertd report failed ({report.returncode}):\n{report.stderr}")
    return Decimal(json.loads(report.stdout)["total"])


def write_rules(path: Path, db: Path, source: str) -> Path:
    path.write_text(f"timezone: UTC\ncurrency: USD\ndatabase: {db}\nsources:\n{source}")
    return path


@dataclass
class Figure:
    """One row of the table: alertd's and the baseline's times per round, alertd's peak RSS."""

    label: str
    alertd: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    check: str = ""
    ok: bool = True

    def add(self, measured: Measured, baseline: float | None = None) -> None:
        self.alertd.append(measured.seconds)
        if measured.rss_mib is not None:
            self.rss.append(measured.rss_mib)
        if baseline is not None:
            self.baseline.append(baseline)

    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.alertd, self.baseline, strict=False)]

    def cells(self) -> tuple[str, ...]:
        base = f"{statistics.median(self.baseline):.3f} s" if self.baseline else "—"
        ratio = f"{statistics.median(self.ratios()):.2f}x" if self.baseline else "—"
        rss = f"{max(self.rss):.1f} MiB" if self.rss else "?"
        verdict = ("PASS" if self.ok else "FAIL") + (f" ({self.check})" if self.check else "")
        return (self.label, f"{statistics.median(self.alertd):.3f} s", base, ratio, rss, verdict)


def markdown(figures: list[Figure]) -> str:
    head = ("figure", "alertd (median)", "baseline (median)", "ratio (median of rounds)", "peak RSS", "check")
    rows = [head, tuple("---" for _ in head), *(f.cells() for f in figures)]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Exit status 1 if a correctness check fails.",
    )
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds; medians count (default 3)")
    parser.add_argument("--days", type=int, default=365, help="days served by each API fake (default 365)")
    parser.add_argument("--focus-hours", type=int, default=8760, help="hours of FOCUS rows (default 8760)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated costs (default 0)")
    parser.add_argument("--only", default=",".join(PROVIDERS), help="comma-separated subset of %(default)s")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "alertd-bench-providers",
        help="where rules, databases and the FOCUS exports go (default %(default)s)",
    )
    parser.add_argument("--alertd", help="alertd executable (default: the one beside this Python, else -m alertd)")
    parser.add_argument("--wait-minutes", type=float, default=15, help="wait this long for imports (default 15)")
    parser.add_argument("--poll-seconds", type=float, default=30, help="between import attempts (default 30)")
    parser.add_argument("--clean", action="store_true", help="delete the workdir afterwards")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    if args.repeat < 1 or args.days < 1 or args.focus_hours < 1 or not set(only) <= set(PROVIDERS) or not only:
        raise SystemExit(f"--repeat, --days and --focus-hours must be at least 1; --only from {PROVIDERS}")
    if {"openai", "anthropic"} & set(only):
        wait_for_import(_API_PROBE, "alertd.simulate.openai/anthropic", args.wait_minutes, args.poll_seconds)
    if "focus" in only:
        wait_for_import(_FOCUS_PROBE, "alertd.sources.focus", args.wait_minutes, args.poll_seconds)
    import httpx  # noqa: F401 (imported before the rounds: the first baseline must not pay for it)

    from alertd.simulate.anthropic import FakeAnthropic
    from alertd.simulate.openai import FakeOpenAI
    from alertd.simulate.spend import anthropic_days, anthropic_dollars, openai_days, openai_dollars

    workdir: Path = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = alertd_command(args.alertd)
    load_before = os.getloadavg()

    # The FOCUS exports first: generating them is the one long step, and it is done before any fork.
    focus = focus_dataset(workdir, args.focus_hours, args.seed) if "focus" in only else None
    if focus is not None:
        how = "reused" if focus.generated_in is None else f"generated in {focus.generated_in:.1f} s"
        size = sum(p.stat().st_size for p in focus.files) / 2**20
        print(f"FOCUS: {focus.rows:,} rows, {len(focus.files)} files, {size:.0f} MiB ({how})", flush=True)

    today = datetime.now(UTC).date()
    first, end = today - timedelta(days=args.days - 1), today + timedelta(days=1)  # [first, end): every day
    since, until = first.isoformat(), end.isoformat()
    oa_days = openai_days(first, args.days, args.seed)
    an_days = anthropic_days(first, args.days, args.seed)

    paths = {name: (workdir / f"{name}.sqlite", workdir / f"rules-{name}.yaml") for name in (*PROVIDERS, "fixed")}
    figures: dict[str, Figure] = {}
    notes: list[str] = []
    with (
        served(lambda: FakeOpenAI(oa_days, token=OPENAI_TOKEN)) as oa,
        served(lambda: FakeAnthropic(an_days, token=ANTHROPIC_TOKEN)) as an,
    ):
        oa_source = f"  - name: openai\n    provider: openai\n    token: {OPENAI_TOKEN}\n    base_url: {oa.url}\n"
        an_source = (
            f"  - name: anthropic\n    provider: anthropic\n    token: {ANTHROPIC_TOKEN}\n    base_url: {an.url}\n"
        )
        rules = {
            "openai": write_rules(paths["openai"][1], paths["openai"][0], oa_source),
            "fixed": write_rules(paths["fixed"][1], paths["fixed"][0], oa_source),
            "anthropic": write_rules(paths["anthropic"][1], paths["anthropic"][0], an_source),
        }
        if focus is not None:
            focus_source = (
                f"  - name: focus\n    provider: focus\n    path: {workdir / 'focus-exports'}\n"
                "    line_item: [ServiceName, SubAccountName]\n"
            )
            rules["focus"] = write_rules(paths["focus"][1], paths["focus"][0], focus_source)

        def backfill(name: str, frm: str, to: str) -> list[str]:
            return [*cmd, "backfill", "--since", frm, "--until", to, "-c", str(rules[name])]

        labels = {
            "openai": f"OpenAI backfill, {args.days} days",
            "anthropic": f"Anthropic backfill, {args.days} days",
            "focus": f"FOCUS backfill, {focus.rows:,} rows" if focus else "",
            "poll": "FOCUS poll, nothing changed (`check`) vs (a)",
            "fixed": "(f) fixed cost: 1-day OpenAI backfill",
        }
        wanted = [n for n in ("openai", "anthropic") if n in only]
        wanted += ["focus", "poll"] if focus else []
        wanted += ["fixed"] if "openai" in only else []
        figures = {name: Figure(labels[name]) for name in wanted}
        pages: dict[str, list[int]] = {"openai": [], "anthropic": []}
        base_results: dict[str, tuple[int, int, Decimal]] = {}
        last_output: dict[str, str] = {}
        for round_no in range(1, args.repeat + 1):
            line = []
            for name, server, bare in (("openai", oa, openai_baseline), ("anthropic", an, anthropic_baseline)):
                if name not in figures:
                    continue
                began = time.perf_counter()
                base_results[name] = bare(server.url, first, end)
                elapsed = time.perf_counter() - began
                before = server.requests()
                done = run(backfill(name, since, until), paths[name][0])
                pages[name].append(server.requests() - before)
                figures[name].add(done, elapsed)
                last_output[name] = done.stdout.strip()
                line.append(f"{name} {done.seconds:.3f}/{elapsed:.3f} s")
            if focus is not None:
                began = time.perf_counter()
                base_results["focus"] = focus_baseline(focus.files)
                elapsed = time.perf_counter() - began
                done = run(backfill("focus", _iso(focus.start), _iso(focus.end)), paths["focus"][0])
                figures["focus"].add(done, elapsed)
                last_output["focus"] = done.stdout.strip()
                again = run([*cmd, "check", "-c", str(rules["focus"])])
                figures["poll"].add(again, elapsed)
                last_output["poll"] = again.stdout.strip()
                line.append(f"focus {done.seconds:.3f}/{elapsed:.3f} s, poll {again.seconds:.3f} s")
            if "fixed" in figures:
                done = run(backfill("fixed", today.isoformat(), until), paths["fixed"][0])
                figures["fixed"].add(done)
                line.append(f"fixed {done.seconds:.3f} s")
            print(f"round {round_no}: " + "; ".join(line), flush=True)
        oa_requests, an_requests = oa.requests(), an.requests()

    # --- the checks, on the databases of the last round -----------------------------------------------
    if "openai" in figures:
        want = openai_dollars(oa_days)
        got = report_total(cmd, rules["openai"], since, until)
        base_pages, base_buckets, base_total = base_results["openai"]
        f = figures["openai"]
        f.ok = got == want and base_total == want and base_buckets == args.days
        f.check = f"total {got} = fake's {want}"
        notes.append(f"openai: alertd pages per run {pages['openai']}, baseline {base_pages}; {last_output['openai']}")
    if "anthropic" in figures:
        exact = anthropic_dollars(an_days)
        results = [Decimal(str(r["amount"])) for day in an_days.values() for r in day]
        rounded = sum(int((c * 10**4).to_integral_value(ROUND_HALF_EVEN)) for c in results)  # cents → µ$
        got = report_total(cmd, rules["anthropic"], since, until)
        base_pages, base_buckets, base_total = base_results["anthropic"]
        within = abs(got - exact) * 10**6 <= Decimal(len(results)) / 2
        f = figures["anthropic"]
        f.ok = got * 10**6 == rounded and within and base_total == exact and base_buckets == args.days
        f.check = f"total {got} = rounded rows, exact {exact} within {len(results)}/2 µ$"
        notes.append(
            f"anthropic: alertd pages per run {pages['anthropic']}, baseline {base_pages}; {last_output['anthropic']}"
        )
    if focus is not None:
        got = report_total(cmd, rules["focus"], _iso(focus.start), _iso(focus.end))
        base_rows, base_keys, base_total = base_results["focus"]
        within = abs(got - focus.exact_total) * 10**6 <= Decimal(focus.buckets) / 2
        f = figures["focus"]
        f.ok = got == focus.stored_total and within and (base_rows, base_keys) == (focus.rows, focus.buckets)
        f.ok = f.ok and base_total == focus.exact_total and f"{focus.buckets} new or revised" in last_output["focus"]
        f.check = f"total {got} = generated, exact {focus.exact_total} within {focus.buckets:,}/2 µ$"
        p = figures["poll"]
        p.ok = "0 rows, 0 new or revised" in last_output["poll"]
        p.check = "0 rows re-read, same total" if p.ok else last_output["poll"]
        notes.append(f"focus backfill: {last_output['focus']}; poll: {last_output['poll'].splitlines()[0]}")
    notes.append(f"requests seen by the fakes: openai {oa_requests}, anthropic {an_requests} (no retries asked)")

    load_after = os.getloadavg()
    shown = list(figures.values())
    print(f"\nResults ({args.repeat} interleaved rounds; medians)")
    print(
        table(
            [
                ("date", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")),
                ("python", f"{platform.python_version()} ({platform.python_implementation()})"),
                ("os.cpu_count()", str(os.cpu_count())),
                ("load average", f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"),
                (
                    "peak RSS",
                    "GNU time %M of each alertd command" if GNU_TIME.exists() else "unknown (no /usr/bin/time)",
                ),
                ("API data", f"{since} .. {until} (seed {args.seed})"),
            ]
            + (
                [("FOCUS data", f"{_iso(focus.start)} .. {_iso(focus.end)}, BilledCost 2-{PLACES} decimals")]
                if focus
                else []
            )
        )
    )
    print()
    print(markdown(shown))
    print()
    for f in shown:
        if f.baseline:
            print(f"  {f.label}: ratio per round {', '.join(f'{r:.2f}' for r in f.ratios())}")
    for note in notes:
        print(f"  {note}")
    if args.clean:
        shutil.rmtree(workdir)
    return 0 if all(f.ok for f in shown) else 1


if __name__ == "__main__":
    sys.exit(main())
