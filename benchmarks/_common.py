"""What the hand-run benchmarks share: how to run alertd, and a clean slate for each run."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def alertd_command(explicit: str | None) -> list[str]:
    """The alertd beside the running Python (or -m alertd), unless one is named."""
    if explicit:
        return [explicit]
    script = Path(sys.executable).parent / "alertd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "alertd"]


def clean_env() -> dict[str, str]:
    """Without ALERTD_* (ALERTD_DATABASE would override the rules file) and PYTHON* start-up
    knobs that would change what is measured."""
    drop = ("ALERTD_", "PYTHONPROFILEIMPORTTIME", "PYTHONSTARTUP", "PYTHONTRACEMALLOC")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def fresh(db: Path) -> None:
    """Remove a database and its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
