from __future__ import annotations

import json
import os
import pwd
import re
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from alertd.settings import Settings
from tests.conftest import run_cli


def test_alertd_database_overrides_the_rules_file(write, tmp_path: Path) -> None:
    rules = write("rules.yaml", "database: from-rules.db\nsources:\n  - {name: aws, provider: csv, path: none.csv}\n")
    feed = write("feed.csv", "timestamp,line_item,amount\n2026-11-01T00:00:00Z,ec2,1\n")
    result = run_cli(
        "import", "-c", str(rules), "--source", "aws", str(feed), env={"ALERTD_DATABASE": str(tmp_path / "env.db")}
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "from-rules.db").exists()
    assert sqlite3.connect(tmp_path / "env.db").execute("SELECT count(*) FROM costs").fetchone() == (1,)


def test_bad_alertd_setting_is_a_clear_error(write) -> None:
    rules = write("rules.yaml", "{}\n")
    result = run_cli("report", "-c", str(rules), env={"ALERTD_LOG_LEVEL": "loud"})
    assert result.returncode == 2 and "bad ALERTD_* environment setting" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (None, None, "info", "text")),
        ({"ALERTD_LOG_LEVEL": "debug", "ALERTD_LOG_FORMAT": "json"}, (None, None, "debug", "json")),
        ({"alertd_log_level": "error"}, (None, None, "error", "text")),  # names in any case
        (
            {"ALERTD_DATABASE": "/var/x.db", "ALERTD_CONFIG": "r.yaml"},
            (Path("r.yaml"), Path("/var/x.db"), "info", "text"),
        ),
        ({"ALERTD_UNKNOWN": "1", "LOG_LEVEL": "debug", "XALERTD_LOG_LEVEL": "debug"}, (None, None, "info", "text")),
    ],
)
def test_settings_from_the_environment(env: dict[str, str], expected: tuple[object, ...]) -> None:
    s = Settings.from_env(env)
    assert (s.config, s.database, s.log_level, s.log_format) == expected


def test_a_bad_setting_names_the_variable() -> None:
    with pytest.raises(ValueError, match="log_level"):
        Settings.from_env({"ALERTD_LOG_LEVEL": "loud"})


def test_config_from_alertd_config_variable(write) -> None:
    rules = write("elsewhere.yaml", "timezone: Asia/Kolkata\n")
    result = run_cli("validate", env={"ALERTD_CONFIG": str(rules)}, cwd=rules.parent)
    assert result.returncode == 0 and "timezone Asia/Kolkata" in result.stdout


def test_no_config_anywhere(tmp_path: Path) -> None:
    result = run_cli("validate", cwd=tmp_path)
    # /etc/alertd/rules.yaml does not exist on a test machine
    assert result.returncode == 2 and "no config file: tried rules.yaml, /etc/alertd/rules.yaml" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run_cli().returncode == 2
    assert run_cli("frobnicate").returncode == 2
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("alertd ")


def test_every_command_is_documented_in_the_readme() -> None:
    import argparse

    from alertd.cli import _parser
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    verbs = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert len(verbs.choices) >= 9
    for name in verbs.choices:
        assert f"`alertd {name}" in readme, name


def test_output_into_a_closed_pipe_ends_quietly(write, tmp_path: Path) -> None:
    """`alertd report | head -1`: the reader stops early; no BrokenPipeError traceback."""
    rows = "".join(f"2026-11-01T00:00:00Z,item-{i:05d},1\n" for i in range(4000))  # more than a pipe holds
    feed = write("feed.csv", "timestamp,line_item,amount\n" + rows)
    rules = write(
        "rules.yaml", f"database: {tmp_path / 'a.db'}\nsources:\n  - {{name: aws, provider: csv, path: {feed}}}\n"
    )
    assert run_cli("import", "-c", str(rules), "--source", "aws", str(feed)).returncode == 0
    command = f"{sys.executable} -m alertd report -c {rules} --by source,line_item --since 2026-11-01 | head -1"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.count("\n") == 1
    assert result.stderr == ""


def test_validate_accepts_alertds_own_console_scheme_and_refuses_a_mistyped_one(write) -> None:
    rules = write("rules.yaml", "sources:\n  - {name: f, provider: csv, path: f.csv}\nchannels:\n  t: console://\n")
    assert run_cli("validate", "-c", str(rules)).returncode == 0
    rules.write_text(rules.read_text().replace("console://", "slak://T1secret/B1/xyz"))
    result = run_cli("validate", "-c", str(rules))
    assert result.returncode == 2 and "channels.t: Apprise cannot use this URL" in result.stderr
    assert "T1secret" not in result.stderr


def test_deliveries_one_state_per_attempt(write) -> None:
    """A delivery that failed once and then went out: one current state per delivery, one result per
    attempt, each at its own time in the configured zone, without microseconds."""
    from tests.receivers import Webhook
    from tests.test_silences import one_csv_budget

    stamp = r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30)"  # Asia/Kolkata, whole seconds
    with Webhook() as hook:
        hook.fail_next = 1
        rules = one_csv_budget(write, hook.url, tz="Asia/Kolkata")
        assert run_cli("check", "-c", str(rules)).returncode == 1
        retrying = run_cli("deliveries", "-c", str(rules)).stdout.splitlines()
        assert re.fullmatch(rf"delivery 1  ops \S+  retrying at {stamp}  \[alertd\] cloud: .+", retrying[0])
        assert re.fullmatch(rf"  attempt 1 at {stamp} failed: .+", retrying[1]) and len(retrying) == 2
        status = run_cli("status", "-c", str(rules)).stdout
        assert "Deliveries failing:" in status and "retrying at" in status and "after 1 attempt(s)" in status

        time.sleep(6)  # the first retry is due within 5 s
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert len(hook.posts) == 1
        for args in ((), ("--failed",)):  # --failed: a delivery with a failed attempt, even one sent since
            out = run_cli("deliveries", "-c", str(rules), *args).stdout
            head, first, second = out.splitlines()
            assert re.fullmatch(r"delivery 1  ops \S+  sent  \[alertd\] cloud: .+", head), out
            failed_at = re.fullmatch(rf"  attempt 1 at {stamp} failed: (.+)", first)
            sent_at = re.fullmatch(rf"  attempt 2 at {stamp} sent", second)
            assert failed_at and sent_at, out
            assert datetime.fromisoformat(failed_at[1]) < datetime.fromisoformat(sent_at[1])
            assert "FAILED" not in out and "/hook" not in out  # the URL's path is masked
        (logged,) = map(json.loads, run_cli("deliveries", "-c", str(rules), "--json").stdout.splitlines())
        assert logged["state"] == "sent" and [a["result"] for a in logged["attempts"]] == ["failed", "sent"]
        assert "Deliveries failing" not in run_cli("status", "-c", str(rules)).stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_database_in_a_readonly_directory_says_permission(write, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o555)
    rules = write("rules.yaml", "database: state/alertd.db\n")
    try:
        result = run_cli("check", "-c", str(rules))
    finally:
        state.chmod(0o755)
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert result.returncode == 1 and "Traceback" not in result.stderr  # the database failed, as a lock would
    assert result.stderr.strip() == (
        f"alertd: cannot open database {state}/alertd.db: permission denied"
        f" (the directory {state} is not writable by user {user})"
    )


def test_report_text_has_no_microseconds(write) -> None:
    rules = write(
        "rules.yaml",
        """
        timezone: Europe/Berlin
        database: costs.db
        sources:
          - {name: aws, provider: csv, path: feed.csv}
        channels:
          ops: console://
        budgets:
          - {name: cloud, amount: 100, period: month, sources: [aws], notify: [ops]}
        """,
    )
    write("feed.csv", "timestamp,line_item,amount\n2026-11-01T00:00:00Z,ec2,1\n")
    assert run_cli("check", "-c", str(rules)).returncode == 0
    outputs = [run_cli(*command, "-c", str(rules)) for command in (["report"], ["status"])]
    as_json = [run_cli(*command, "-c", str(rules), "--json") for command in (["report"], ["status"])]
    for result in outputs + as_json:
        assert result.returncode == 0, result.stderr
        assert not re.search(r"\d\d:\d\d:\d\d\.\d", result.stdout), result.stdout  # seconds at most
    title = outputs[0].stdout.splitlines()[0]  # the range, to the second, in the configured zone
    assert re.fullmatch(r"Spend \S+:\d\d[+-]0[12]:00 \.\. \S+:\d\d[+-]0[12]:00 \(USD\)", title), title
    until = datetime.fromisoformat(json.loads(as_json[0].stdout)["until"])
    assert until.microsecond == 0 and until.utcoffset() is not None
