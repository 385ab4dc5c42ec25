from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write(tmp_path: Path):
    """write("name.yaml", text) → path, with the text dedented."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120):
    """The real command line, as a user runs it, in a subprocess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "alertd", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def wait_for(condition: Callable[[], object], timeout: float = 20, context: Callable[[], object] = str) -> None:
    """Poll `condition` until it holds; on timeout fail, saying `context()` (what was seen so far)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting {context()}".rstrip())
        time.sleep(0.05)


def terminate(process: subprocess.Popen[str], reader: threading.Thread) -> float:
    """SIGTERM a daemon under test; the seconds it took to exit (its output reader drained)."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    reader.join(timeout=5)
    return time.monotonic() - started
