"""A new user's first hour: validate, backfill two flaky providers, report, backfill again."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import friendli_days, friendli_dollars, northflank_dollars, northflank_hours
from tests.conftest import run_cli

NF_TOKEN = "nf-canary-e2e-93b1"
FR_TOKEN = "flp_canary_e2e_77c2"


@pytest.mark.slow
def test_backfill_two_flaky_providers_then_report_matches_to_the_cent(write, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    hour = int(now.timestamp()) // 3600 * 3600
    nf_data = northflank_hours(hour - 40 * 24 * 3600, 40 * 24, seed=11)
    today = now.date()
    fr_data = friendli_days(today - timedelta(days=59), 60, seed=5)

    with (
        FakeNorthflank(nf_data, token=NF_TOKEN, fail_rate=0.15, seed=1) as nf,
        FakeFriendli(fr_data, token=FR_TOKEN, fail_rate=0.15, seed=2, strings_since=today - timedelta(days=30)) as fr,
    ):
        rules = write(
            "rules.yaml",
            f"""
            timezone: UTC
            database: costs.db
            sources:
              - {{name: northflank, provider: northflank, token: "${{NF_TOKEN}}", base_url: "{nf.url}"}}
              - {{name: friendli, provider: friendli, token: "${{FR_TOKEN}}", base_url: "{fr.url}"}}
            """,
        )
        env = {"NF_TOKEN": NF_TOKEN, "FR_TOKEN": FR_TOKEN}
        assert run_cli("validate", "-c", str(rules), env=env).returncode == 0

        since = (today - timedelta(days=59)).isoformat()
        first = run_cli("backfill", "-c", str(rules), "--since", since, env=env)
        assert first.returncode == 0, first.stderr
        assert "northflank: " in first.stdout and "friendli: " in first.stdout

        report = run_cli(
            "report", "-c", str(rules), "--by", "source,line_item", "--json", "--since", since,
            "--until", (today + timedelta(days=1)).isoformat(), env=env,
        )  # fmt: skip
        assert report.returncode == 0, report.stderr
        data = json.loads(report.stdout)
        assert set(data) == {"currency", "since", "until", "rows", "total"}
        by_source: dict[str, Decimal] = {}
        for row in data["rows"]:
            assert set(row) == {"source", "line_item", "amount"}
            by_source[row["source"]] = by_source.get(row["source"], Decimal(0)) + Decimal(row["amount"])
        fr_usd = friendli_dollars(fr_data)
        assert by_source["northflank"].quantize(Decimal("0.01")) == northflank_dollars(nf_data).quantize(
            Decimal("0.01")
        )
        assert by_source["friendli"].quantize(Decimal("0.01")) == fr_usd.quantize(Decimal("0.01"))
        assert Decimal(data["total"]) == by_source["northflank"] + by_source["friendli"]

        db = sqlite3.connect(tmp_path / "costs.db")
        snapshot = db.execute("SELECT source, bucket_start, line_item, amount FROM costs ORDER BY 1, 2, 3").fetchall()
        second = run_cli("backfill", "-c", str(rules), "--since", since, env=env)
        assert second.returncode == 0, second.stderr
        assert second.stdout.count("0 new or revised") == 2
        assert (
            db.execute("SELECT source, bucket_start, line_item, amount FROM costs ORDER BY 1, 2, 3").fetchall()
            == snapshot
        )
        assert db.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0

    # Secrets never reach the output or the database file.
    everything = first.stdout + first.stderr + second.stdout + second.stderr + report.stdout
    raw = (tmp_path / "costs.db").read_bytes() + (tmp_path / "costs.db-wal").read_bytes()
    for secret in (NF_TOKEN, FR_TOKEN):
        assert secret not in everything and secret.encode() not in raw


def test_backfill_of_a_failing_source_exits_1_and_keeps_the_other(write, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    hour = int(now.timestamp()) // 3600 * 3600
    with FakeNorthflank(northflank_hours(hour - 48 * 3600, 48), token=NF_TOKEN) as nf:
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: good, provider: northflank, token: {NF_TOKEN}, base_url: "{nf.url}"}}
              - {{name: bad, provider: northflank, token: wrong-token-xyz, base_url: "{nf.url}"}}
            """,
        )
        since = datetime.fromtimestamp(hour - 48 * 3600, UTC).isoformat()
        result = run_cli("backfill", "-c", str(rules), "--since", since)
    assert result.returncode == 1
    assert "bad: 0 rows" in result.stdout and "failed: bad: HTTP 401" in result.stdout
    assert "wrong-token-xyz" not in result.stdout + result.stderr
    db = sqlite3.connect(tmp_path / "costs.db")
    assert db.execute("SELECT count(DISTINCT bucket_start) FROM costs WHERE source = 'good'").fetchone()[0] == 48
    assert db.execute("SELECT status FROM fetches WHERE source = 'bad'").fetchall() == [("error",)]
