from __future__ import annotations

import sqlite3
import subprocess
import sys
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
