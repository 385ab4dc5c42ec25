"""Silences: alerts are recorded, not sent; when the silence ends, what still fires is sent."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import run_cli
from tests.receivers import Webhook
from tests.test_check_e2e import NF_TOKEN, month_to_date, one_budget_rules, recent_usage


def test_a_silenced_alert_is_held_then_sent_while_still_firing(write, tmp_path: Path) -> None:
    usage = recent_usage(seed=16)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, spent / Decimal("0.85")))
        muted = run_cli("silence", "-c", str(rules), "cloud", "--for", "1h", "--reason", "migration")
        assert muted.returncode == 0 and muted.stdout.startswith("silence 1: cloud until ")
        listed = run_cli("silences", "-c", str(rules))
        assert "1  cloud  until" in listed.stdout and "(migration)" in listed.stdout

        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert hook.posts == []  # recorded, not sent
        db = sqlite3.connect(tmp_path / "costs.db")
        assert db.execute("SELECT status FROM deliveries").fetchall() == [("silenced",)]

        assert run_cli("unsilence", "-c", str(rules), "1").returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert len(hook.posts) == 1 and "crossed 80%" in hook.posts[0]["title"]
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert len(hook.posts) == 1
        assert run_cli("unsilence", "-c", str(rules), "1").returncode == 2  # already over


def test_a_held_alert_that_stopped_firing_is_dropped(write, tmp_path: Path) -> None:
    usage = recent_usage(seed=17)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, spent / Decimal("0.85")))
        assert run_cli("silence", "-c", str(rules), "cloud").returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
        # The budget is raised meanwhile: 80 % is no longer crossed when the silence ends.
        rules.write_text(one_budget_rules(api.url, hook.url, spent / Decimal("0.5")))
        assert run_cli("unsilence", "-c", str(rules), "1").returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
    assert hook.posts == []
    statuses = sqlite3.connect(tmp_path / "costs.db").execute("SELECT status FROM deliveries").fetchall()
    assert statuses == [("suppressed",)]


def test_silence_usage_errors(write) -> None:
    rules = write("rules.yaml", "database: costs.db\n")
    assert "unknown rule 'nope'" in run_cli("silence", "-c", str(rules), "nope").stderr


def test_a_silence_that_runs_out_lets_the_held_alert_go(write, tmp_path: Path) -> None:
    import time

    usage = recent_usage(seed=20)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, spent / Decimal("0.85")))
        assert run_cli("silence", "-c", str(rules), "cloud", "--for", "2s").returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert hook.posts == []
        time.sleep(2.2)
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert len(hook.posts) == 1 and "crossed 80%" in hook.posts[0]["title"]


def one_csv_budget(write, channel: str, tz: str = "UTC") -> Path:
    """Rules: a CSV source whose last hour alone (5 USD) is over the yearly budget `cloud` of 1 USD, so
    that `check` alerts at any hour but the year's first; `ops` is `channel`. An anomaly rule `spend`
    is declared beside it."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    feed = write("feed.csv", f"timestamp,line_item,amount\n{hour:%Y-%m-%dT%H:%M:%SZ},gpu,5\n")
    return write(
        "rules.yaml",
        f"""
        database: costs.db
        timezone: {tz}
        sources:
          - {{name: aws, provider: csv, path: {feed}}}
        channels:
          ops: {channel}
        budgets:
          - {{name: cloud, amount: 1, period: year, thresholds: [100], notify: [ops]}}
        anomalies:
          - {{name: spend, notify: [ops]}}
        """,
    )


def test_silence_series_on_budget_is_refused(write, tmp_path: Path) -> None:
    rules = one_csv_budget(write, "console://")

    def silence(*args: str) -> tuple[int, str]:
        done = run_cli("silence", "-c", str(rules), *args)
        return done.returncode, done.stderr

    assert silence("cloud", "--series", "aws/gpu") == (
        2,
        "alertd: budget cloud has no series; --series is for anomaly rules\n",
    )
    assert silence("source:aws", "--series", "aws/gpu") == (
        2,
        "alertd: source rule source:aws has no series; --series is for anomaly rules\n",
    )
    assert silence("spend", "--series", "gpu") == (
        2,
        "alertd: --series is SOURCE/LINE_ITEM (* where grouped), not 'gpu'\n",
    )
    assert silence("nope") == (2, "alertd: unknown rule 'nope'; rules: cloud, spend, source:aws\n")
    db = sqlite3.connect(tmp_path / "costs.db")
    assert db.execute("SELECT count(*) FROM silences").fetchone() == (0,)  # nothing stored by a refusal
    assert "no active silences" in run_cli("silences", "-c", str(rules)).stdout

    assert silence("spend", "--series", "aws/gpu") == (0, "")  # an anomaly rule's series is what --series is for
    assert db.execute("SELECT rule, series FROM silences").fetchall() == [("spend", "aws/gpu")]


def test_status_and_check_show_silenced_until(write, tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    until = (datetime.now(berlin) + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    with Webhook() as hook:
        rules = one_csv_budget(write, hook.url, tz="Europe/Berlin")
        assert run_cli("silence", "-c", str(rules), "cloud", "--until", f"{until:%Y-%m-%dT%H:%M}").returncode == 0

        check = run_cli("check", "-c", str(rules))
        assert check.returncode == 0, check.stderr
        assert f"1 new alert(s), 1 silenced until {until.isoformat(timespec='minutes')}; 0 delivered" in check.stdout
        text = run_cli("status", "-c", str(rules)).stdout
        assert f"[sent 0, pending 0, failed 0, silenced 1 until {until.isoformat()}]" in text
        (alert,) = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)["alerts"]
        assert (alert["rule"], alert["silenced"], alert["silenced_until"]) == ("cloud", 1, until.isoformat())
        assert f"  silenced until {until.isoformat()}  [alertd] cloud" in run_cli("deliveries", "-c", str(rules)).stdout
        assert hook.posts == []

        assert run_cli("unsilence", "-c", str(rules), "1").returncode == 0
        assert "0 new alert(s); 1 delivered" in run_cli("check", "-c", str(rules)).stdout
        (alert,) = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)["alerts"]
        assert (alert["sent"], alert["silenced"], alert["silenced_until"]) == (1, 0, None)
        assert len(hook.posts) == 1
