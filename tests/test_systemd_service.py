"""The daemon started the way `systemd/alertd.service` starts it: notify socket, watchdog, credentials,
state directory, journald stream. READY, STATUS, WATCHDOG, reload (bad and good), STOPPING, exit 0."""

from __future__ import annotations

import itertools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import terminate
from tests.receivers import NotifySocket, Silent, Webhook, closed_port, mailto_url
from tests.test_check_e2e import NF_TOKEN, month_to_date, recent_usage

ALERTD = Path(sys.executable).with_name("alertd")  # the installed console script, as ExecStart= runs it


class Unit:
    """`alertd run -c RULES` with the environment systemd gives a Type=notify service, its stderr a
    stream that JOURNAL_STREAM names (as journald's is)."""

    def __init__(self, rules: Path, root: Path, notify: NotifySocket, watchdog_usec: int) -> None:
        self.state, credentials = root / "state", root / "credentials"
        self.state.mkdir()
        credentials.mkdir()
        (credentials / "NF_TOKEN").write_text(NF_TOKEN)  # what LoadCredential= puts there
        read, write = os.pipe()
        stat = os.fstat(write)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_", "WATCHDOG_"))}
        env |= {
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": str(watchdog_usec),
            "STATE_DIRECTORY": str(self.state),
            "CREDENTIALS_DIRECTORY": str(credentials),
            "JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}",
        }
        assert ALERTD.exists(), "the package is installed (pip install '.[test]'), with its console script"
        # systemd sets WATCHDOG_PID to the main process: the shell's pid, which exec hands on.
        self.process = subprocess.Popen(
            ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" run -c "$1"', str(ALERTD), str(rules)],
            stdout=write,
            stderr=write,
            env=env,
        )
        os.close(write)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(read,), daemon=True)
        self._reader.start()

    def _read(self, fd: int) -> None:
        with os.fdopen(fd, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                self.lines.append(line.rstrip("\n"))

    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> float:
        """SIGTERM; the seconds it took to exit."""
        return terminate(self.process, self._reader)


def rules_text(api: str, hook: str, metrics_port: int, budgets: dict[str, Decimal]) -> str:
    lines = [
        "timezone: UTC",
        "sources:",
        f'  - {{name: nf, provider: northflank, token: "${{NF_TOKEN}}", base_url: "{api}", every: 1s}}',
        "channels:",
        f"  ops: {hook}",
        f'metrics: {{listen: "127.0.0.1:{metrics_port}"}}',
        "budgets:" if budgets else "",
        *(f"  - {{name: {n}, amount: {a.quantize(Decimal('0.01'))}, period: month, notify: [ops]}}" for n, a in budgets.items()),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def metric(text: str, name: str, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def pings_between(notify: NotifySocket, start: float, end: float) -> list[float]:
    return [t for t, f in notify.messages if start <= t <= end and f.get("WATCHDOG") == "1"]


@pytest.mark.slow
def test_the_unit_readies_pings_reloads_and_stops(tmp_path: Path) -> None:
    usage = recent_usage(seed=31)
    spent = month_to_date(usage)
    port = closed_port()
    budgets = {"cloud": spent / Decimal("0.85")}
    rules = tmp_path / "rules.yaml"
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook, NotifySocket() as notify:
        rules.write_text(rules_text(api.url, hook.url, port, budgets))
        unit = Unit(rules, tmp_path, notify, watchdog_usec=2_000_000)
        try:
            notify.wait_for(lambda: notify.having("READY", "1"))
            assert (unit.state / "alertd.db").exists()  # ready means the store is open, where StateDirectory= is
            notify.wait_for(lambda: len(hook.posts) == 1)
            # The first cycle's status line, not READY's "running: ... 1 budget ..." (which a loaded
            # machine can leave as the only STATUS for a while).
            notify.wait_for(lambda: any("next poll" in f["STATUS"] for f in notify.having("STATUS")))
            status = [f["STATUS"] for f in notify.having("STATUS") if "next poll" in f["STATUS"]][-1]
            assert re.fullmatch(r"1 source ok, 1 of 1 budget over 80%, next poll \d\d:\d\d", status), status

            # WATCHDOG=1 at half of WATCHDOG_USEC while the loop goes on, never a gap systemd would kill for.
            since = time.monotonic()
            notify.wait_for(lambda: len(pings_between(notify, since, time.monotonic())) >= 5)
            gaps = sorted(b - a for a, b in itertools.pairwise(pings_between(notify, since, time.monotonic())))
            assert 0.8 < gaps[len(gaps) // 2] < 1.3 and gaps[-1] < 2.0, gaps

            # What Prometheus scrapes.
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert abs(metric(text, "alertd_budget_spent", budget="cloud", currency="USD") - float(spent)) < 0.01
            assert metric(text, "alertd_alerts_sent_total", channel="ops") == 1.0
            assert metric(text, "alertd_alerts_failed_total", channel="ops") == 0.0
            assert metric(text, "alertd_source_last_success_timestamp_seconds", source="nf") > time.time() - 60
            assert metric(text, "alertd_source_fetch_errors_total", source="nf") == 0.0
            assert metric(text, "alertd_source_fetch_duration_seconds_count", source="nf") >= 1
            assert metric(text, "alertd_budget_forecast", budget="cloud", currency="USD") is not None

            # A broken rules file on reload: refused, reported at its line, the old rules kept, still pinging.
            good = rules.read_text()
            broken = good.replace("period: month", "period: fortnight", 1)
            line = broken.splitlines().index(next(x for x in broken.splitlines() if "fortnight" in x)) + 1
            rules.write_text(broken)
            hup = time.monotonic()
            unit.process.send_signal(signal.SIGHUP)
            notify.wait_for(lambda: notify.having("READY", "1", since=hup))
            reloading = notify.having("RELOADING", "1", since=hup)
            assert reloading and abs(int(reloading[0]["MONOTONIC_USEC"]) / 1e6 - hup) < 5
            ready_at = next(t for t, f in notify.messages if t >= hup and f.get("READY") == "1")
            assert any(t < ready_at for t, f in notify.messages if t >= hup and "RELOADING" in f)
            notify.wait_for(lambda: len(pings_between(notify, ready_at, time.monotonic())) >= 3)
            assert unit.process.poll() is None
            assert re.search(rf"^<3>{re.escape(str(rules))}:{line}:\d+: .*period", unit.log(), re.M), unit.log()
            assert "<3>reload refused: still running on the previous config" in unit.lines

            # A change that needs a restart is refused too.
            rules.write_text(good + "database: elsewhere.db\n")
            hup = time.monotonic()
            unit.process.send_signal(signal.SIGHUP)
            notify.wait_for(lambda: notify.having("READY", "1", since=hup))
            assert any("database changed, which takes a restart" in line for line in unit.lines)

            # A good reload: the new budget is evaluated; the old one's alert is not sent again.
            budgets["later"] = spent / Decimal("0.9")
            rules.write_text(rules_text(api.url, hook.url, port, budgets))
            hup = time.monotonic()
            unit.process.send_signal(signal.SIGHUP)
            notify.wait_for(lambda: notify.having("STATUS", since=hup) and notify.having("READY", "1", since=hup))
            notify.wait_for(lambda: len(hook.posts) == 2)
            assert "later: crossed 80%" in hook.posts[1]["title"]
            notify.wait_for(
                lambda: any("2 of 2 budgets over 80%" in f["STATUS"] for f in notify.having("STATUS", since=hup))
            )
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert metric(text, "alertd_budget_amount", budget="later", currency="USD") is not None
        finally:
            took = unit.stop()
        assert unit.process.returncode == 0, unit.log()
        assert took < 10
        assert notify.having("STOPPING", "1")
    assert len(hook.posts) == 2  # nothing repeated across the reloads
    journal = unit.log()
    assert all(re.match(r"<[0-7]>", line) for line in unit.lines), journal  # priorities, no timestamps
    assert not re.search(r"\d\d:\d\d:\d\d,\d{3}", journal)
    assert "Traceback" not in journal and NF_TOKEN not in journal


def hang(unit: Unit, notify: NotifySocket, started: Callable[[], object]) -> tuple[list[float], float]:
    """Once `started()`, 3 s of the daemon waiting: the watchdog pings of the last 1.8 s, then how long
    SIGTERM took to end it (exit 0 and STOPPING=1 checked)."""
    try:
        notify.wait_for(lambda: notify.having("READY", "1"))
        notify.wait_for(started)
        time.sleep(3)
        now = time.monotonic()
        pings = pings_between(notify, now - 1.8, now)
        assert unit.process.poll() is None
    finally:
        took = unit.stop()
    assert unit.process.returncode == 0, unit.log()
    assert notify.having("STOPPING", "1")
    assert "cutting the current step short" in unit.log()
    fetches = sqlite3.connect(unit.state / "alertd.db").execute("SELECT count(*) FROM fetches").fetchone()[0]
    assert fetches == 0  # the cut poll is not recorded as a failure of the source
    return pings, took


@pytest.mark.slow
def test_a_slow_provider_within_its_timeout_keeps_the_watchdog_fed_and_sigterm_cuts_it(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    with Silent() as provider, NotifySocket() as notify:
        source = f'name: nf, provider: northflank, token: "${{NF_TOKEN}}", base_url: "http://127.0.0.1:{provider.port}"'
        rules.write_text(f"sources:\n  - {{{source}, timeout: 5m}}\n")
        unit = Unit(rules, tmp_path, notify, watchdog_usec=1_000_000)
        pings, took = hang(unit, notify, lambda: provider.connections)  # a provider that never answers
    assert len(pings) >= 2  # waiting within the source's timeout is not a hang
    assert took < 10


@pytest.mark.slow
def test_a_loop_stuck_without_a_timeout_stops_the_watchdog_pings(tmp_path: Path) -> None:
    fifo = tmp_path / "costs.csv"
    os.mkfifo(fifo)  # opening it blocks until a writer comes: like a hung network mount, no timeout
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"sources:\n  - {{name: feed, provider: csv, path: {fifo}}}\n")
    with NotifySocket() as notify:
        unit = Unit(rules, tmp_path, notify, watchdog_usec=1_000_000)
        pings, took = hang(unit, notify, lambda: notify.having("WATCHDOG"))
    assert pings == []  # a hung loop does not ping the watchdog: systemd will restart it
    assert "not pinging the watchdog" in unit.log()
    assert took < 10


@pytest.mark.slow
def test_sigterm_during_a_hung_delivery_exits_within_ten_seconds_and_keeps_the_alert(tmp_path: Path) -> None:
    usage = recent_usage(seed=32)
    spent = month_to_date(usage)
    rules = tmp_path / "rules.yaml"
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Silent() as mail, NotifySocket() as notify:
        smtp = mailto_url(mail.port, "pw-canary-5521").replace("cto=2&rto=2", "cto=60&rto=60")
        budgets = {"cloud": spent / Decimal("0.85"), "gpu": spent / Decimal("0.9")}
        rules.write_text(rules_text(api.url, f'"{smtp}"', closed_port(), budgets))
        unit = Unit(rules, tmp_path, notify, watchdog_usec=10_000_000)
        try:
            notify.wait_for(lambda: mail.connections)  # the alert is on its way to a mail server that never answers
        finally:
            took = unit.stop()
        assert unit.process.returncode == 0, unit.log()
        assert took < 10
    db = sqlite3.connect(unit.state / "alertd.db")
    rows = db.execute("SELECT status, attempts, next_attempt > ? FROM deliveries ORDER BY 3", (time.time(),)).fetchall()
    # Both are sent at the next start: the one never tried at once, the cut one after its claim's lease.
    assert rows == [("pending", 0, 0), ("pending", 0, 1)]
    assert "pw-canary-5521" not in unit.log()


def test_a_metrics_address_in_use_fails_the_start_clearly(write) -> None:
    from tests.conftest import run_cli

    with Webhook() as hook:
        taken = hook.url.split(":")[2].split("/")[0]
        rules = write("rules.yaml", f'database: costs.db\nmetrics: {{listen: "127.0.0.1:{taken}"}}\n')
        result = run_cli("run", "-c", str(rules), timeout=30)
    assert result.returncode == 1
    assert f"metrics: cannot listen on 127.0.0.1:{taken}" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_broken_database_stops_the_daemon_with_a_logged_error_for_systemd_to_restart(tmp_path: Path) -> None:
    usage = recent_usage(seed=33)
    rules = tmp_path / "rules.yaml"
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook, NotifySocket() as notify:
        rules.write_text(rules_text(api.url, hook.url, closed_port(), {}))
        unit = Unit(rules, tmp_path, notify, watchdog_usec=10_000_000)
        try:
            notify.wait_for(
                lambda: notify.having("STATUS", since=0) and "1 source ok" in notify.having("STATUS")[-1]["STATUS"]
            )
            with sqlite3.connect(unit.state / "alertd.db") as db:  # the database broken under the daemon
                db.execute("DROP TABLE fetches")
            unit.process.wait(timeout=20)
        finally:
            if unit.process.poll() is None:
                unit.stop()
    assert unit.process.returncode == 1, unit.log()
    assert "<2>alertd stopped on an unexpected error" in unit.lines
    assert all(re.match(r"<[0-7]>", line) for line in unit.lines), unit.log()  # the traceback too, line by line


@pytest.mark.slow
def test_the_status_names_a_channel_that_is_down(tmp_path: Path) -> None:
    usage = recent_usage(seed=34)
    rules = tmp_path / "rules.yaml"
    down = f"json://127.0.0.1:{closed_port()}/hook?cto=1"
    with FakeNorthflank(usage, token=NF_TOKEN) as api, NotifySocket() as notify:
        rules.write_text(rules_text(api.url, down, closed_port(), {"cloud": month_to_date(usage) / Decimal("0.85")}))
        unit = Unit(rules, tmp_path, notify, watchdog_usec=10_000_000)
        try:
            notify.wait_for(lambda: any("delivery failing to ops" in f["STATUS"] for f in notify.having("STATUS")))
        finally:
            unit.stop()
    assert unit.process.returncode == 0, unit.log()
