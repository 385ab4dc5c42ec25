"""What the verbs share: their errors (exit 2 for bad input, 1 for a failure at run time), the
settings and logging, the rules file, the database, and the --since/--until range."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alertd import config as configuration
from alertd import logs
from alertd.redact import register

if TYPE_CHECKING:
    from alertd.model import Window
    from alertd.settings import Settings
    from alertd.store import Store


class UsageError(Exception):
    """Bad input on the command line or in a file given to it: exit 2."""


class Failed(Exception):
    """A step failed at run time (a source, the store): exit 1."""


def settings_of(args: argparse.Namespace) -> Settings:
    from alertd.settings import Settings

    try:
        settings = Settings.from_env(os.environ)
    except ValueError as exc:  # pydantic's ValidationError
        raise UsageError(f"bad ALERTD_* environment setting: {exc}") from None
    logs.configure(args.log_level or settings.log_level, args.log_format or settings.log_format)
    return settings


def load(args: argparse.Namespace, *, allow_missing_env: bool = False) -> configuration.Loaded:
    path = configuration.find_config(args.config, os.environ)
    loaded = configuration.load(path, allow_missing_env=allow_missing_env)
    register(*loaded.config.secrets())
    return loaded


def config_and_store(args: argparse.Namespace, *, must_exist: bool = False) -> tuple[configuration.Config, Store]:
    """Settings (and logging), the validated config, and the open database."""
    from alertd.store import Store, StoreError

    settings = settings_of(args)
    loaded = load(args)
    cfg = loaded.config
    path = settings.database or cfg.database
    assert path is not None
    configuration.check_database(loaded, Path(path), named_by="ALERTD_DATABASE" if settings.database else None)
    if must_exist and not Path(path).exists():
        raise Failed(f"no database at {path}: run `alertd backfill` first")
    try:
        return cfg, Store(Path(path), cfg.tz)
    except StoreError as exc:
        raise Failed(str(exc)) from None


def source_names(cfg: configuration.Config, only: list[str] | None) -> list[str]:
    declared = [s.name for s in cfg.sources]
    for name in only or ():
        if name not in declared:
            raise UsageError(f"unknown source {name!r}; declared: {', '.join(declared) or 'none'}")
    names = only or declared
    if not names:
        raise UsageError("no sources are declared in the config")
    return names


def when(text: str, tz: ZoneInfo) -> datetime:
    """`YYYY-MM-DD` is midnight in the configured zone; full ISO 8601 without an offset too."""
    from alertd.model import local_moment

    try:
        return local_moment(text, tz)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def date_range(args: argparse.Namespace, tz: ZoneInfo, default_since: datetime, now: datetime) -> Window:
    """--since/--until, defaulting to (`default_since`, now)."""
    from alertd.model import Window

    since = when(args.since, tz) if args.since else default_since
    until = when(args.until, tz) if args.until else now
    if until <= since:
        shown_until, shown_since = (t.astimezone(tz).isoformat(timespec="seconds") for t in (until, since))
        raise UsageError(f"--until ({shown_until}) must be after --since ({shown_since})")
    return Window(since, until)


class Progress:
    """A progress bar on a terminal, nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("backfill", total=self.total)
        return self

    def advance(self, source: str, seconds: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=seconds, description=f"backfill {source}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


# --- argument parsing ------------------------------------------------------------------------
