"""`alertd run` as a real subprocess: polls on its schedule, delivers, stops on SIGTERM, never repeats."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import run_cli, terminate, wait_for
from tests.receivers import NotifySocket, Webhook
from tests.test_check_e2e import NF_TOKEN, month_to_date, one_budget_rules, recent_usage


def start(rules: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    return subprocess.Popen(
        [sys.executable, "-m", "alertd", "run", "-c", str(rules)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def polls(db: Path, source: str = "%") -> int:
    if not db.exists():
        return 0
    sql = "SELECT count(*) FROM fetches WHERE kind = 'poll' AND source LIKE ?"
    try:
        return sqlite3.connect(db).execute(sql, (source,)).fetchone()[0]
    except sqlite3.OperationalError:  # the daemon has created the file but not its tables yet
        return 0


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_daemon_alerts_once_across_restarts_and_stops_cleanly(write, tmp_path: Path, stop_signal: int) -> None:
    usage = recent_usage(seed=8)
    spent = month_to_date(usage)
    db = tmp_path / "costs.db"
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, spent / Decimal("0.85"), ", every: 1s"))
        daemon = start(rules)
        try:
            wait_for(lambda: len(hook.posts) == 1)
            wait_for(lambda: polls(db) >= 3)  # it goes on polling on its schedule...
            assert len(hook.posts) == 1  # ...and says it once
        finally:
            daemon.send_signal(stop_signal)
            out, err = daemon.communicate(timeout=10)
        assert daemon.returncode == 0, err
        assert "stopped" in err and "Traceback" not in err
        assert NF_TOKEN not in out + err

        before = polls(db)
        again = start(rules)
        try:
            wait_for(lambda: polls(db) >= before + 2)
        finally:
            again.send_signal(signal.SIGTERM)
            again.communicate(timeout=10)
        assert again.returncode == 0
    assert len(hook.posts) == 1, [p["title"] for p in hook.posts]
    assert "crossed 80%" in hook.posts[0]["title"]


def test_a_failing_source_does_not_stop_the_others(write, tmp_path: Path) -> None:
    usage = recent_usage(seed=9)
    db = tmp_path / "costs.db"
    with FakeNorthflank(usage, token=NF_TOKEN) as api:
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: bad, provider: northflank, token: wrong-token-77, base_url: "{api.url}", every: 1s}}
              - {{name: good, provider: northflank, token: {NF_TOKEN}, base_url: "{api.url}", every: 1s, byoc: false}}
            """,
        )
        daemon = start(rules)
        try:
            wait_for(lambda: polls(db, "good") >= 2 and polls(db, "bad") >= 1, 60)
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=10)
    rows = dict(sqlite3.connect(db).execute("SELECT source, count(*) FROM fetches GROUP BY source").fetchall())
    assert rows.get("good", 0) >= 2 and rows.get("bad", 0) >= 1
    assert "poll bad failed: bad: HTTP 401" in err and "wrong-token-77" not in err


# --- SIGHUP: a reload refuses what `validate` refuses, and never kills or hangs the daemon -------------


class Daemon:
    """`alertd run` as systemd runs it (notify socket, watchdog), its stderr read as it comes."""

    def __init__(self, rules: Path, notify: NotifySocket) -> None:
        self.notify = notify
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERTD_", "NOTIFY_", "WATCHDOG_"))}
        env |= {"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "2000000"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "alertd", "run", "-c", str(rules)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr or ()), daemon=True)
        self._reader.start()

    def log(self, since: int = 0) -> str:
        return "".join(self.lines[since:])

    def reload(self) -> tuple[str, str]:
        """SIGHUP; once it is READY again, the STATUS it sent with that and what it logged meanwhile."""
        seen, since = len(self.lines), time.monotonic()
        self.process.send_signal(signal.SIGHUP)
        self.notify.wait_for(lambda: self.notify.having("READY", "1", since=since), timeout=10)
        wait_for(lambda: "reload" in self.log(seen), 5)
        return self.notify.having("READY", "1", since=since)[0]["STATUS"], self.log(seen)

    def stop(self) -> float:
        """SIGTERM; the seconds it took to exit."""
        return terminate(self.process, self._reader)


SECRET = "tok-secret-0d3f9a"
CALM = """database: costs.db
sources:
  - {name: feed, provider: csv, path: costs.csv, every: 1s}
channels:
  ops: json://127.0.0.1:9/hook
budgets:
  - {name: cloud, amount: 1000000, period: month, notify: [ops]}
"""


def _hostile(good: str) -> dict[str, bytes]:
    """Rules files `validate` refuses, each once a crash or a hang of a reload."""
    laughs = "l0: &l0 [" + ", ".join(["lol"] * 9) + "]\n"
    laughs += "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    texts = {
        "name-list": good.replace("name: feed", "name: [feed]"),
        "alias-bomb": good + laughs,
        "alias-bomb-ruamel": good + laughs.replace("\n", "  # \t\n", 1),
        "deep-yaml": good + "x: " + "[" * 900 + "]" * 900 + "\n",
        "deep-jinja": good + "templates:\n  ops:\n    body: '" + "{% if x %}" * 300 + "{% endif %}" * 300 + "'\n",
        "huge-duration": good.replace("every: 1s", "every: 99999999999999999999s"),
        "heartbeat": good + "monitoring:\n  heartbeat_url: http://127.0.0.1:80:80/x\n",
        "nul-database": good.replace("database: costs.db", 'database: "costs\\0.db"'),
        "channel-url": good.replace("json://127.0.0.1:9/hook", f"nope://{SECRET}"),
        "duplicate-token": good + f"monitoring:\n  heartbeat_url: https://hc-ping.com/{SECRET}\n  heartbeat_url: x\n",
        "too-large": good + "# " + "x" * 300_000 + "\n",
    }
    files = {name: text.encode() for name, text in texts.items()}
    files["not-utf8"] = good.encode() + b"# caf\xe9\n"
    return files


@pytest.mark.slow
def test_a_reload_refuses_every_file_validate_refuses_and_the_daemon_goes_on(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(CALM)
    (tmp_path / "costs.csv").write_text("timestamp,line_item,amount\n")
    db = tmp_path / "costs.db"
    with NotifySocket() as notify:
        daemon = Daemon(rules, notify)
        try:
            notify.wait_for(lambda: notify.having("READY", "1"))
            first = time.monotonic()
            for name, data in _hostile(CALM).items():
                rules.write_bytes(data)
                validate = run_cli("validate", "-c", str(rules))
                assert validate.returncode == 2 and "Traceback" not in validate.stderr, (name, validate.stderr)
                status, log = daemon.reload()
                assert status.startswith("reload refused") and "reload refused" in log, (name, status, log)
                for line in validate.stderr.splitlines():  # the same messages, logged
                    assert line in log, (name, line, log)
                assert daemon.process.poll() is None, name
            before = polls(db)
            wait_for(lambda: polls(db) >= before + 2)  # on the old rules, still polling every second
            pings = [t for t, f in notify.messages if t >= first and f.get("WATCHDOG") == "1"]
            assert len(pings) >= 2 and max(b - a for a, b in zip([first, *pings], pings, strict=False)) < 2.0

            rules.write_text(CALM.replace("amount: 1000000", "amount: 2000000"))
            assert daemon.reload()[0].startswith("reloaded")
        finally:
            took = daemon.stop()
    assert daemon.process.returncode == 0 and took < 10, daemon.log()
    assert "Traceback" not in daemon.log() and SECRET not in daemon.log()


@pytest.mark.slow
@pytest.mark.parametrize("hostile", ["alias-bomb-ruamel", "too-large", "slowest"])
def test_sigterm_during_a_reload_stops_the_daemon_within_10_seconds(tmp_path: Path, hostile: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(CALM)
    (tmp_path / "costs.csv").write_text("timestamp,line_item,amount\n")
    # the slowest file to load there is: values near the limit, read by ruamel (a tab), and the most templates
    tag = "{{ x" + ".a" * 15 + " }}"
    slowest = CALM + "templates:\n  ops:\n    title: '" + tag * 150 + "'\n    body: '" + tag * 150 + "'\n"
    slowest += "x: [" + "1, " * 9_000 + "1]  # \t\n"
    files = _hostile(CALM) | {"slowest": slowest.encode()}
    with NotifySocket() as notify:
        daemon = Daemon(rules, notify)
        try:
            notify.wait_for(lambda: notify.having("READY", "1"))
            rules.write_bytes(files[hostile])
            hup = time.monotonic()
            daemon.process.send_signal(signal.SIGHUP)
            notify.wait_for(lambda: notify.having("RELOADING", "1", since=hup))
        finally:
            took = daemon.stop()
    assert daemon.process.returncode == 0 and took < 10, daemon.log()
    assert "Traceback" not in daemon.log()
