"""Silences: alerts are recorded, not sent; when the silence ends, what still fires is sent."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

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
