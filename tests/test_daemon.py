"""`alertd run` as a real subprocess: polls on its schedule, delivers, stops on SIGTERM, never repeats."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import wait_for
from tests.receivers import Webhook
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
