"""Writers wait their turn: `alertd import` and the user's other commands beside a running daemon,
all real processes on one real database file."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.receivers import NotifySocket

T0 = datetime(2026, 1, 1, tzinfo=UTC)

# Two CSV feeds the daemon polls every second; imports go into `bulk`. The budget gives each
# cycle its evaluation's writes too; it never fires.
RULES = """
database: costs.db
timezone: UTC
sources:
  - {name: feed, provider: csv, path: feed.csv, every: 1s}
  - {name: bulk, provider: csv, path: bulk.csv, every: 1s}
channels:
  out: console://
budgets:
  - {name: total, amount: 1000000000, period: month, notify: [out]}
"""


def write_csv(path: Path, hours: int, items: int, seed: int) -> Decimal:
    """`hours` x `items` rows from T0, amounts drawn from `seed`; returns their sum."""
    rng = random.Random(seed)
    total = Decimal(0)
    with open(path, "w", encoding="utf-8") as out:
        out.write("timestamp,line_item,amount\n")
        for h in range(hours):
            stamp = (T0 + timedelta(hours=h)).isoformat()
            for i in range(items):
                amount = Decimal(rng.randint(0, 9_999_999)).scaleb(-6)
                total += amount
                out.write(f"{stamp},item-{i},{amount}\n")
    return total


def env(busy_timeout: float | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_", "WATCHDOG_"))}
    return clean | ({"ALERTD_BUSY_TIMEOUT": str(busy_timeout)} if busy_timeout is not None else {})


def alertd(cwd: Path, *args: str, busy_timeout: float | None = None) -> subprocess.Popen[str]:
    """`alertd ARGS -c rules.yaml`, run in `cwd` (so that PYTHONPATH can point the test at another tree)."""
    return subprocess.Popen(
        [sys.executable, "-m", "alertd", *args, "-c", "rules.yaml"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(busy_timeout),
    )


def run(cwd: Path, *args: str, busy_timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    process = alertd(cwd, *args, busy_timeout=busy_timeout)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


class Daemon:
    """`alertd run` with its log in a file (read while it runs), optionally under a watchdog."""

    def __init__(self, cwd: Path, busy_timeout: float | None = None, notify: NotifySocket | None = None) -> None:
        self.log_path = cwd / "daemon.log"
        extra = {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"} if notify else {}
        with open(self.log_path, "w") as log:
            # systemd names the main process in WATCHDOG_PID: the shell's pid, which exec hands on.
            self.process = subprocess.Popen(
                ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" -m alertd run -c rules.yaml', sys.executable],
                cwd=cwd,
                stderr=log,
                stdout=log,
                env=env(busy_timeout) | extra,
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> float:
        """SIGTERM; how long it took to exit."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=20)
        return time.monotonic() - began


def polls(db: Path) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT count(*) FROM fetches WHERE kind = 'poll'").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@contextmanager
def holding_the_write_lock(db: Path) -> Iterator[None]:
    """Another writer in the middle of a long transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def bulk_sums(db: Path) -> tuple[int, int, int]:
    """(rows, sum of amounts, sum of the rollup) of source `bulk`."""
    conn = sqlite3.connect(db)
    rows, total = conn.execute("SELECT count(*), coalesce(sum(amount), 0) FROM costs WHERE source = 'bulk'").fetchone()
    rolled = conn.execute("SELECT coalesce(sum(amount), 0) FROM daily WHERE source = 'bulk'").fetchone()[0]
    return rows, total, rolled


def integrity(db: Path) -> str:
    return sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    write_csv(tmp_path / "feed.csv", 48, 3, seed=0)
    (tmp_path / "bulk.csv").write_text("timestamp,line_item,amount\n")
    return tmp_path


@pytest.mark.slow
def test_imports_beside_a_running_daemon_all_succeed(home: Path) -> None:
    # Five versions of one range (every key, other amounts): each import revises the last one's rows.
    totals = [write_csv(home / f"v{n}.csv", 500, 20, seed=n) for n in range(5)]
    db = home / "costs.db"
    daemon = Daemon(home)
    try:
        wait_for(lambda: polls(db) >= 2)
        results = []
        for wave in range(5):  # five at a time: they wait for each other as well as for the daemon
            started = [alertd(home, "import", "--source", "bulk", f"v{(wave + n) % 5}.csv") for n in range(5)]
            results += [(p.communicate(timeout=60), p.returncode) for p in started]
        before = polls(db)
        wait_for(lambda: polls(db) > before)  # still polling
        assert daemon.process.poll() is None, daemon.log()
    finally:
        took = daemon.stop()
    failed = [err for (_, err), code in results if code != 0]
    assert failed == [] and len(results) == 25
    assert all("imported 10000 rows into bulk" in out for (out, _), _ in results)
    assert daemon.process.returncode == 0 and took < 10, daemon.log()
    assert "Traceback" not in daemon.log() and "locked" not in daemon.log()
    assert integrity(db) == "ok"
    rows, total, rolled = bulk_sums(db)
    # Each import is whole: what is stored is exactly one version, the last one applied.
    assert rows == 10_000 and Decimal(total).scaleb(-6) in totals and rolled == total


def test_a_large_import_does_not_starve_the_daemon(home: Path) -> None:
    total = write_csv(home / "big.csv", 10_000, 30, seed=7)  # 300k rows: seconds of reading
    db = home / "costs.db"
    # The daemon gives a write up after 6 x 0.2 s: less than the import takes, more than its write.
    daemon = Daemon(home, busy_timeout=0.2)
    try:
        wait_for(lambda: polls(db) >= 2)
        began = time.time()
        imported = run(home, "import", "--source", "bulk", "big.csv")
        ended = time.time()
        polled_meanwhile = (
            sqlite3.connect(db)
            .execute("SELECT count(*) FROM fetches WHERE kind = 'poll' AND started BETWEEN ? AND ?", (began, ended))
            .fetchone()[0]
        )
        before = polls(db)
        wait_for(lambda: polls(db) > before)
        assert daemon.process.poll() is None, daemon.log()
    finally:
        daemon.stop()
    assert imported.returncode == 0, imported.stderr
    assert "imported 300000 rows" in imported.stdout
    assert polled_meanwhile >= 1  # it went on polling while the file was read
    assert daemon.process.returncode == 0, daemon.log()
    assert "cut short" not in daemon.log() and "Traceback" not in daemon.log()
    assert integrity(db) == "ok"
    rows, stored, rolled = bulk_sums(db)
    assert rows == 300_000 and Decimal(stored).scaleb(-6) == total and rolled == stored


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # gone, or an fd closed meanwhile
        return False


def test_an_import_killed_midway_leaves_nothing_and_the_next_one_works(home: Path) -> None:
    write_csv(home / "big.csv", 10_000, 30, seed=3)
    small = write_csv(home / "small.csv", 24, 2, seed=4)
    db = home / "costs.db"
    assert run(home, "check").returncode == 0  # the database exists, with the feeds' first polls
    for delay in (0.1, 0.3, 0.5):  # reading the file takes about a second here
        process = alertd(home, "import", "--source", "bulk", "big.csv")
        wait_for(lambda process=process: _has_open(process.pid, db) or process.poll() is not None)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL, "the import ended before it was killed: make it larger"
        assert bulk_sums(db) == (0, 0, 0)
        assert sqlite3.connect(db).execute("SELECT count(*) FROM fetches WHERE kind = 'import'").fetchone()[0] == 0
    assert integrity(db) == "ok"
    again = run(home, "import", "--source", "bulk", "small.csv")
    assert again.returncode == 0, again.stderr
    rows, stored, rolled = bulk_sums(db)
    assert rows == 48 and Decimal(stored).scaleb(-6) == small and rolled == stored
    checked = run(home, "check")
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("import", "--source", "bulk", "feed.csv"),
        ("silence", "total", "--for", "1h"),
        ("check",),
    ],
)
def test_a_command_that_meets_a_held_lock_says_so_in_one_line(home: Path, args: tuple[str, ...]) -> None:
    db = home / "costs.db"
    assert run(home, "check").returncode == 0
    with holding_the_write_lock(db):
        result = run(home, *args, busy_timeout=0.3)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"database {db} is locked: another alertd holds it" in result.stderr


@pytest.mark.slow
def test_the_daemon_waits_out_a_held_lock_with_the_watchdog_fed_and_carries_on(home: Path) -> None:
    db = home / "costs.db"
    with NotifySocket() as notify:
        daemon = Daemon(home, busy_timeout=0.3, notify=notify)  # gives a write up after 1.8 s
        try:
            wait_for(lambda: polls(db) >= 2)
            with holding_the_write_lock(db):
                time.sleep(0.6)  # shorter than it waits: its write just comes later
            assert "cut short" not in daemon.log()
            with holding_the_write_lock(db):
                time.sleep(4)  # longer
                now = time.monotonic()
                pings = [t for t, f in notify.messages if now - 2 <= t and f.get("WATCHDOG") == "1"]
                wait_for(lambda: "cut short" in daemon.log())
            before = polls(db)
            wait_for(lambda: polls(db) > before + 1)  # the next cycles write again
            assert daemon.process.poll() is None, daemon.log()
        finally:
            took = daemon.stop()
    log = daemon.log()
    assert len(pings) >= 2  # at half the 1 s watchdog interval, throughout
    assert f"cycle cut short: database {db} is locked: another alertd holds it" in log
    assert daemon.process.returncode == 0 and took < 10 and "Traceback" not in log, log


def test_sigterm_while_the_daemon_waits_for_the_lock_stops_it_within_ten_seconds(home: Path) -> None:
    db = home / "costs.db"
    daemon = Daemon(home)  # the default wait: 10 s a try, a minute in all
    try:
        wait_for(lambda: polls(db) >= 1)
        with holding_the_write_lock(db):
            time.sleep(2.5)  # a poll is due every second: it is waiting now
            took = daemon.stop()
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
    assert daemon.process.returncode == 0 and took < 5, daemon.log()  # not a 10 s busy wait
    assert "cutting the current step short" in daemon.log() and "Traceback" not in daemon.log()
