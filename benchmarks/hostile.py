"""A hostile tester's run (issue 10), by hand: every case as a real command against real fakes.

    /work/venv/bin/python benchmarks/hostile.py [--workdir DIR] [--fuzz 248]

Per area it counts the cases tried and what must stay zero: tracebacks (in any output), hangs
(a command past its time limit), garbage stored (an amount past the bound, a bucket off its
grid or outside 2000-2100, rows from a poisoned answer), canary hits (a secret in any output
or in the database file). Areas: provider answers (Northflank, Friendli), CSV import, `validate`
on fuzzed rules files, reload by SIGHUP, `import` beside `run`, secrets in channel URLs.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alertd.simulate._server import Fault
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.poison import duplicate, put, shift
from alertd.simulate.spend import friendli_days, northflank_hours

ROOT = Path(__file__).resolve().parent.parent
H, DAY = 3600, 86400
NF_TOKEN, FR_TOKEN = "nf-canary-hostile-5501", "flp_canary_hostile_6602"
HOOK_SECRET, HEADER_SECRET, PASSWORD = "hookcanary7713", "hdrcanary8824", "pwcanary9935"
CANARIES = (NF_TOKEN, FR_TOKEN, HOOK_SECRET, HEADER_SECRET, PASSWORD)


@dataclass
class Tally:
    cases: Counter[str] = field(default_factory=Counter)
    bad: dict[str, list[str]] = field(default_factory=dict)  # "area: what" -> case names

    def case(self, area: str) -> None:
        self.cases[area] += 1

    def fail(self, area: str, what: str, name: str) -> None:
        self.bad.setdefault(f"{area}: {what}", []).append(name)


def alertd(*args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int | None, str]:
    """Exit status (None: a hang) and everything the command printed."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "alertd", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
        return None, out.decode(errors="replace") if isinstance(out, bytes) else str(out)
    return done.returncode, done.stdout + done.stderr


def judge(tally: Tally, area: str, name: str, code: int | None, out: str, db: Path | None = None) -> None:
    tally.case(area)
    if code is None:
        tally.fail(area, "hang", name)
    if "Traceback" in out:
        tally.fail(area, "traceback", name)
    if any(c in out for c in CANARIES):
        tally.fail(area, "canary in output", name)
    if db is not None:
        for suffix in ("", "-wal"):
            part = Path(f"{db}{suffix}")
            if part.exists() and any(c.encode() in part.read_bytes() for c in CANARIES):
                tally.fail(area, "canary in database", name)


def garbage(db: Path, step: int) -> int:
    """Rows no validated answer could have given."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT count(*) FROM costs WHERE abs(amount) > 1000000000000000 OR bucket_start % ? != 0"
            " OR bucket_start < 946684800 OR bucket_start >= 4102444800",
            (step,),
        ).fetchone()[0]


def providers(tally: Tally, work: Path) -> None:
    now = int(time.time()) // H * H
    p = "data.usage.0."
    nf_cases: dict[str, Fault] = {
        "timestamp NaN": Fault("edit", edit=put(p + "timestamp", "NaN")),
        "timestamp 2^70": Fault("edit", edit=put(p + "timestamp", 2**70)),
        "price 1e308": Fault("edit", edit=put(p + "paasUsage.price.cpu", Decimal("1e308"))),
        "price 1e17 cents": Fault("edit", edit=put(p + "paasUsage.price.cpu", Decimal("1e17"))),
        "paasUsage oops": Fault("edit", edit=put(p + "paasUsage", "oops")),
        "price a list": Fault("edit", edit=put(p + "paasUsage.price", [1])),
        "price negative": Fault("edit", edit=put(p + "paasUsage.price.memory", "-3")),
        "price full-width": Fault("edit", edit=put(p + "paasUsage.price.cpu", "１２")),
        "price a dict": Fault("edit", edit=put(p + "paasUsage.price.gpu", {"a": 1})),
        "hour + 1800 s": Fault("edit", edit=shift(p + "timestamp", 1800)),
        "hour in 2100": Fault("edit", edit=put(p + "timestamp", 4102444800 + H)),
        "hour twice, other prices": Fault("edit", edit=duplicate("data.usage.0", {"paasUsage.price.cpu": "9"})),
        "JSON NaN": Fault("body", body=b'{"data": {"usage": [{"timestamp": NaN}]}, "pagination": {}}'),
        "nested 100k deep": Fault("body", body=b"[" * 100_000),
        "not UTF-8": Fault("body", body=b"\xff\xfe{}"),
        "trickle": Fault("trickle", seconds=0.5),
        "endless trickle": Fault("trickle", seconds=0.2, body=b" "),
    }
    for n, (name, fault) in enumerate(nf_cases.items()):
        case = work / f"nf-{n}"
        case.mkdir()
        with FakeNorthflank(northflank_hours(now - 47 * H, 48, seed=1), token=NF_TOKEN) as nf:
            nf.faults.extend([fault] * 5)  # every attempt
            (case / "rules.yaml").write_text(
                f"sources:\n  - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: '{nf.url}',"
                f" timeout: 2s}}\n"
            )
            started = time.monotonic()
            code, out = alertd("check", "-c", "rules.yaml", cwd=case, timeout=60)
            seconds = time.monotonic() - started
        judge(tally, "providers", name, code, out, case / "alertd.db")
        if garbage(case / "alertd.db", H):
            tally.fail("providers", "garbage stored", name)
        if name != "hour in 2100" and code != 1:
            tally.fail("providers", "not a clean source failure", name)
        if "trickle" in name and seconds > 5 * 2 + 5 * 2.5:  # attempts x timeout, plus backoff
            tally.fail("providers", "past the deadline", name)
    today = datetime.now(UTC).date()
    days = friendli_days(today.replace(day=1), today.day, seed=4)
    for n, (name, fault) in enumerate(
        {
            "line item twice": Fault("edit", edit=duplicate("data.-1.results.0")),
            "line_item a dict": Fault("edit", edit=put("data.-1.results.0.line_item", {"x": 1})),
            "total Infinity": Fault("body", body=b'{"data": [{"results": [{"total": Infinity}]}]}'),
            "bucket half a day": Fault("edit", edit=put("data.0.end_time", "2026-01-01T12:00:00Z")),
        }.items()
    ):
        case = work / f"fr-{n}"
        case.mkdir()
        with FakeFriendli(days, token=FR_TOKEN) as fr:
            fr.faults.extend([fault] * 5)
            (case / "rules.yaml").write_text(
                f"sources:\n  - {{name: fr, provider: friendli, token: {FR_TOKEN}, base_url: '{fr.url}'}}\n"
            )
            code, out = alertd("check", "-c", "rules.yaml", cwd=case)
        judge(tally, "providers", f"friendli {name}", code, out, case / "alertd.db")
        if garbage(case / "alertd.db", DAY) or (code == 1 and _rows(case / "alertd.db")):
            tally.fail("providers", "garbage stored", f"friendli {name}")


def _rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM costs").fetchone()[0]


def csv_import(tally: Tally, work: Path) -> None:
    rows = {
        "timestamp 2^63": "9223372036854775808,x,1",
        "amount 9.3e12": "2026-11-01T00:00:00Z,x,9300000000000",
        "amount 1e308": "2026-11-01T00:00:00Z,x,1e308",
        "full-width digits": "2026-11-01T00:00:00Z,x,１２",
        "1_000": "2026-11-01T00:00:00Z,x,1_000",
        "year 0001": "0001-01-01T00:00:00Z,x,1",
        "year 9999": "9999-12-31T00:00:00Z,x,1",
        "negative without kind": "2026-11-01T00:00:00Z,x,-5",
        "NaN": "2026-11-01T00:00:00Z,x,NaN",
        "empty timestamp": ",x,1",
    }
    case = work / "csv"
    case.mkdir()
    (case / "rules.yaml").write_text("sources:\n  - {name: feed, provider: csv, path: feed.csv}\n")
    for name, row in rows.items():
        path = case / "feed.csv"
        path.write_text(f"timestamp,line_item,amount\n2026-11-01T00:00:00Z,ok,1\n{row}\n")
        code, out = alertd("import", "-c", "rules.yaml", "--source", "feed", str(path), cwd=case)
        judge(tally, "csv import", name, code, out, case / "alertd.db")
        if code != 2 or _rows(case / "alertd.db"):
            tally.fail("csv import", "not refused whole", name)
    (case / "feed.csv").write_bytes(b"timestamp,line_item,amount\n2026-11-01T00:00:00Z,\xff\xfe,1\n")
    code, out = alertd("import", "-c", "rules.yaml", "--source", "feed", "feed.csv", cwd=case)
    judge(tally, "csv import", "not UTF-8", code, out, case / "alertd.db")


def _mutations(text: str, count: int, seed: int) -> list[tuple[str, str]]:
    """Fuzzed variants of a rules file: values swapped for lists, maps, huge numbers, deep
    nesting, aliases, odd bytes."""
    rng = random.Random(seed)
    lines = text.splitlines()
    values = ["[feed]", "{a: 1}", "99999999999999999999s", "-1", "1e400", "''", "null", "\x00", "[" * 900, "&a [1]"]
    out = []
    for n in range(count):
        copy = list(lines)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(copy))
            key, sep, _ = copy[i].partition(": ")
            if sep and not key.strip().startswith("#"):
                copy[i] = f"{key}: {rng.choice(values)}"
            else:
                copy.insert(i, rng.choice(["  - ]", "x: *nowhere", "\t", "budgets: 5", "---"]))
        out.append((f"mutation {n}", "\n".join(copy) + "\n"))
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    out += [
        ("alias bomb", bomb),
        ("nested 900", "sources: " + "[" * 900 + "]" * 900 + "\n"),
        ("name a list", text.replace("name: northflank", "name: [feed]", 1)),
        ("every huge", text.replace("every: 15m", "every: 99999999999999999999s", 1)),
        ("heartbeat bad port", text + "monitoring:\n  heartbeat_url: http://127.0.0.1:80:80/x\n"),
        ("database NUL", text.replace("timezone: Europe/Berlin", 'timezone: Europe/Berlin\ndatabase: "a\\0b"', 1)),
        ("jinja deep", text + "templates:\n  budget_title: '" + "{% if 1 %}" * 400 + "x" + "{% endif %}" * 400 + "'\n"),
    ]
    return out


def validate(tally: Tally, work: Path, count: int) -> None:
    case = work / "validate"
    case.mkdir()
    example = (ROOT / "rules.example.yaml").read_text()
    for name, text in [*_mutations(example, count, seed=10), ("not UTF-8", "\udcff")]:
        path = case / "rules.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
        started = time.monotonic()
        code, out = alertd("validate", "-c", "rules.yaml", "--allow-missing-env", cwd=case, timeout=10)
        judge(tally, "validate", name, code, out)
        if code not in (0, 2, None):
            tally.fail("validate", "exit neither 0 nor 2", name)
        if time.monotonic() - started > 2.0 + 0.5:  # the interpreter's start is not the answer's
            tally.fail("validate", "slower than 2 s", name)


def _daemon(case: Path, rules: str) -> subprocess.Popen[str]:
    """`alertd run` in `case` on `rules`, a CSV feed beside it, given time to start."""
    case.mkdir()
    (case / "feed.csv").write_text("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\n")
    (case / "rules.yaml").write_text(rules)
    daemon = subprocess.Popen(
        [sys.executable, "-m", "alertd", "run", "-c", "rules.yaml"],
        cwd=case,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    return daemon


def _stop(tally: Tally, area: str, daemon: subprocess.Popen[str]) -> None:
    """SIGTERM, which must be honoured within 10 s; the daemon's log must hold no traceback."""
    daemon.send_signal(signal.SIGTERM)
    try:
        _, log = daemon.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        _, log = daemon.communicate()
        tally.fail(area, "SIGTERM not honoured in 10 s", "daemon")
    if "Traceback" in log or "database is locked" in log:
        tally.fail(area, "daemon log: traceback or locked", "daemon")


def reload(tally: Tally, work: Path) -> None:
    good = "sources:\n  - {name: feed, provider: csv, path: feed.csv, every: 30s}\n"
    daemon = _daemon(work / "reload", good)
    refused = ("alias bomb", "nested 900", "heartbeat bad port", "jinja deep")
    bad = [(name, text) for name, text in _mutations(good, 0, seed=0) if name in refused]
    for name, text in [*bad, ("name a list", good.replace("name: feed", "name: [feed]"))]:
        (work / "reload" / "rules.yaml").write_text(text)
        daemon.send_signal(signal.SIGHUP)
        time.sleep(2)
        tally.case("reload")
        if daemon.poll() is not None:
            tally.fail("reload", "daemon died", name)
            break
    _stop(tally, "reload", daemon)


def import_beside_run(tally: Tally, work: Path, imports: int = 25) -> None:
    case = work / "beside"
    daemon = _daemon(
        case,
        "sources:\n  - {name: feed, provider: csv, path: feed.csv, every: 30s}\n"
        "  - {name: other, provider: csv, path: other.csv, every: 30s}\n",
    )
    hours = [f"2026-10-{1 + h // 24:02d}T{h % 24:02d}:00:00Z" for h in range(720)]
    for n in range(imports):  # each import revises every row: a write each time
        rows = "".join(f"{hour},item-{i},{n}.5\n" for hour in hours for i in range(20))
        (case / "big.csv").write_text("timestamp,line_item,amount\n" + rows)
        code, out = alertd("import", "-c", "rules.yaml", "--source", "other", "big.csv", cwd=case, timeout=120)
        judge(tally, "import beside run", f"import {n}", code, out)
        if code != 0:
            tally.fail("import beside run", "import failed", f"import {n}")
    if daemon.poll() is not None:
        tally.fail("import beside run", "daemon died", "after the imports")
    _stop(tally, "import beside run", daemon)
    with sqlite3.connect(case / "alertd.db") as conn:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            tally.fail("import beside run", "integrity_check", "database")


def secrets(tally: Tally, work: Path) -> None:
    case = work / "secrets"
    case.mkdir()
    (case / "feed.csv").write_text(f"timestamp,line_item,amount\n{int(time.time()) // H * H - H},x,500\n")
    urls = [
        f"json://127.0.0.1:1/hooks/{HOOK_SECRET}",
        f"json://127.0.0.1:1/?-X-Api-Key={HEADER_SECRET}",
        f"json://user:{PASSWORD}@127.0.0.1:1/",
        f"slak://T1{HOOK_SECRET}/B1/{HEADER_SECRET}",
        f"mailto://user:{PASSWORD}@127.0.0.1:1?to=a@example.com",
    ]
    channels = "".join(f"  c{i}: '{url}'\n" for i, url in enumerate(urls))
    (case / "rules.yaml").write_text(
        "sources:\n  - {name: feed, provider: csv, path: feed.csv}\n"
        f"channels:\n{channels}"
        f"budgets:\n  - {{name: b, amount: 10, period: month, notify: [{', '.join(f'c{i}' for i in range(5))}]}}\n"
        f"monitoring:\n  heartbeat_url: 'http://127.0.0.1:1/ping/{HOOK_SECRET}'\n"
    )
    commands: list[tuple[str, ...]] = [
        ("validate", "-c", "rules.yaml"),
        ("check", "-c", "rules.yaml", "--log-level", "debug"),
        ("check", "-c", "rules.yaml", "--log-format", "json", "--log-level", "debug"),
        ("status", "-c", "rules.yaml"),
        ("status", "-c", "rules.yaml", "--json"),
        ("deliveries", "-c", "rules.yaml"),
        ("deliveries", "-c", "rules.yaml", "--json"),
        ("notify-test", "-c", "rules.yaml"),
    ]
    for command in commands:
        code, out = alertd(*command, cwd=case, timeout=120)
        judge(tally, "secrets", " ".join(command[:1] + command[3:]), code, out, case / "alertd.db")


AREAS: dict[str, Callable[..., None]] = {
    "providers": providers,
    "csv import": csv_import,
    "validate": validate,
    "reload": reload,
    "import beside run": import_beside_run,
    "secrets": secrets,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--fuzz", type=int, default=248, help="fuzzed rules files for validate")
    parser.add_argument("--only", choices=sorted(AREAS), action="append")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="alertd-hostile-"))
    work.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    for name, area in AREAS.items():
        if args.only and name not in args.only:
            continue
        started = time.monotonic()
        area(tally, work, args.fuzz) if name == "validate" else area(tally, work)
        print(f"{name}: {tally.cases[name]} cases in {time.monotonic() - started:.0f} s", flush=True)
    print(f"\nos.cpu_count() = {os.cpu_count()}; workdir {work}")
    print(f"cases: {sum(tally.cases.values())} ({', '.join(f'{k} {v}' for k, v in tally.cases.items())})")
    if not tally.bad:
        print("tracebacks 0, hangs 0, garbage stored 0, canary hits 0")
    for what, names in sorted(tally.bad.items()):
        print(f"  {what}: {len(names)} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")


if __name__ == "__main__":
    main()
