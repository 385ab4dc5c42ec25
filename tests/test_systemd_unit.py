"""`systemd/alertd.service` as systemd itself judges it: its hardening score, `verify`, and what it promises."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parent.parent / "systemd"
UNIT = UNITS / "alertd.service"
EXECUTABLE = "/opt/alertd/bin/alertd"  # installed by the README's steps, not on a test machine
MAX_EXPOSURE = 2.0


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze ARGS alertd.service` in `systemd/`, offline (no bus, no PID 1 needed), or a skip."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd); the unit is not checked")
    # Plain, uncoloured output at the default log level, whatever the caller's environment says.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSTEMD_")}
    env |= {"SYSTEMD_LOG_LEVEL": "info", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    result = subprocess.run(
        ["systemd-analyze", *args, UNIT.name],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=UNITS,
        env=env,
        timeout=60,
    )
    if "unrecognized option" in result.stderr:  # --offline= came with systemd 250
        pytest.skip(f"this systemd-analyze is too old for {' '.join(args)}: {result.stderr.strip()}")
    return result


def test_the_hardening_scores_at_most_2() -> None:
    result = analyze("security", "--offline=true", "--no-pager")
    output = result.stdout + result.stderr
    found = re.search(r"Overall exposure level for alertd\.service: (\d+\.\d+)", output)
    assert result.returncode == 0 and found, output
    assert float(found.group(1)) <= MAX_EXPOSURE, output
    assert "Unknown key" not in output, output  # a misspelt directive is silently ignored, its protection lost


def test_systemd_verify_finds_nothing_but_the_uninstalled_executable() -> None:
    result = analyze("verify", "--man=no")
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert all(EXECUTABLE in line for line in lines), f"systemd-analyze verify said:\n{output}"


def directives(text: str) -> dict[str, list[str]]:
    """Each `Key=value` of the unit, values in order (a key may repeat); comments and sections left out."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_runs_the_daemon_as_the_readme_and_the_daemon_expect() -> None:
    unit = directives(UNIT.read_text(encoding="utf-8"))
    assert unit["Type"] == ["notify"]
    assert unit["ExecStart"][0].startswith(f"{EXECUTABLE} run ")
    assert unit["ExecStart"][0].endswith("-c /etc/alertd/rules.yaml")
    assert re.fullmatch(r"\S*kill -(HUP|SIGHUP|s HUP) \$MAINPID", unit["ExecReload"][0]), unit["ExecReload"]
    assert unit["WatchdogSec"] and unit["WatchdogSec"][0] not in ("0", "infinity")
    assert unit["Restart"] == ["on-failure"]
    assert unit["DynamicUser"] == ["yes"]
    assert unit["StateDirectory"] == ["alertd"]
    assert unit["LoadCredential"], "secrets reach ${VAR} as $CREDENTIALS_DIRECTORY/VAR"
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*:/\S+", c) for c in unit["LoadCredential"]), unit["LoadCredential"]
