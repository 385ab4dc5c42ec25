"""Fetch → store: one window of one source at a time, each in its own transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from alertd import lifecycle
from alertd.config import FRIENDLI_MIN_EVERY, Config, CsvSource, FocusSource, FriendliSource, SourceConfig
from alertd.model import FetchResult, Window, utc
from alertd.redact import redact
from alertd.rules.completeness import reporting_of
from alertd.rules.periods import history_start
from alertd.sources import Source, SourceError, build
from alertd.sources.csvfile import CsvFeed
from alertd.sources.focus import FocusFeed
from alertd.sources.values import iso_utc
from alertd.store import Store

if TYPE_CHECKING:
    from alertd.sources.http import RetryPolicy  # httpx: only for the HTTP sources

log = logging.getLogger("alertd.ingest")


@dataclass(frozen=True)
class Outcome:
    source: str
    rows: int = 0
    changed: int = 0
    fetches: int = 0
    error: str | None = None
    skipped: str | None = None  # why no fetch was made
    seconds: float = 0.0  # spent fetching


def poll(
    config: Config, store: Store, names: list[str], now: datetime, retry: RetryPolicy | None = None
) -> list[Outcome]:
    """One poll of each named source: its lookback window, or more after downtime."""
    since = history_start(config, now)
    outcomes = []
    for name in names:
        source = config.source(name)
        last = store.last_fetch(name)
        ago = now.timestamp() - last.started if last else None
        if isinstance(source, FriendliSource) and ago is not None and ago < FRIENDLI_MIN_EVERY.total_seconds():
            outcomes.append(Outcome(name, skipped=f"polled {ago:.0f}s ago; Friendli asks for 5 minutes between calls"))
            continue
        last_ok = store.last_fetch(name, status="ok")
        last_ok_end = utc(last_ok.window_end) if last_ok and last_ok.window_end is not None else None
        window = poll_window(source, last_ok_end, since, now)
        outcomes += backfill(config, store, window, [name], kind="poll", retry=retry)
    return outcomes


def backfill(
    config: Config,
    store: Store,
    window: Window,
    names: list[str],
    *,
    kind: str = "backfill",
    advance: Callable[[str, int], None] | None = None,
    retry: RetryPolicy | None = None,
) -> list[Outcome]:
    """Fetch `window` for each named source, oldest chunk first.

    A source stops at its first failed chunk (later ones would fail the same way); what
    was stored stays, and running the backfill again resumes without duplicating anything.
    `advance(source, seconds)` reports progress in seconds of the window covered.
    """
    outcomes = []
    for name in names:
        rows = changed = fetches = 0
        clock = time.monotonic()
        # A file poll reads the whole file (see `poll_window`): it is logged and recorded with no window.
        whole_file = kind == "poll" and isinstance(config.source(name), CsvSource | FocusSource)
        try:
            source = build(config, name, retry)
        except Exception as exc:  # a config the checks let through (say, a URL httpx refuses)
            error = _unexpected(name, exc)
            _failed(store, name, kind, None if whole_file else window, time.time(), error, exc)
            outcomes.append(Outcome(name, error=error))
            continue
        error = None
        reporting = reporting_of(config.source(name).provider)
        try:
            for chunk in window.split(int(source.backfill_chunk.total_seconds())):
                started = time.time()
                bug: Exception | None = None
                try:
                    result = _fetch(source, store, chunk)
                except SourceError as exc:
                    error = redact(str(exc))
                except Exception as exc:  # a poll is sealed: whatever a provider sends fails this source only
                    error, bug = _unexpected(name, exc), exc
                asked = None if whole_file else chunk
                if error is not None:
                    _failed(store, name, kind, asked, started, error, bug)
                    break
                if result.error is not None:  # a FOCUS poll's failed files: the others are stored with it
                    error = redact(result.error)
                    result = replace(result, error=error)
                    log.error("%s %s failed: %s (whole files)", kind, name, error)
                written = store.record_fetch(name, kind, asked, started, result, reporting)
                del result  # a CSV file's rows: not held while the next source is read
                rows, changed, fetches = rows + written.rows, changed + written.changed, fetches + 1
                if error is not None:
                    break
                if advance:
                    advance(name, chunk.end_ts - chunk.start_ts)
        finally:
            source.close()
        outcomes.append(Outcome(name, rows, changed, fetches, error, seconds=time.monotonic() - clock))
    return outcomes


def _failed(
    store: Store, name: str, kind: str, window: Window | None, started: float, error: str, bug: Exception | None
) -> None:
    """A failed fetch's one log line (with an unexpected error's traceback) and its fetch-log row,
    both with the window it asked for: none when it read a whole CSV file."""
    asked = "whole file" if window is None else f"{iso_utc(window.start_ts)}..{iso_utc(window.end_ts)}"
    log.error("%s %s failed: %s (%s)", kind, name, error, asked, exc_info=bug)
    store.record_failure(name, kind, window, started, error)


def _unexpected(name: str, exc: Exception) -> str:
    """A bug met while fetching, in one line (its traceback goes with the failure's log line)."""
    return redact(f"{name}: unexpected error ({type(exc).__name__}: {str(exc)[:200]})")


def _fetch(source: Source, store: Store, window: Window) -> FetchResult:
    """One fetch; a CSV feed reads on from the file state stored with its last successful read, a
    FOCUS feed from the states of the files it read."""
    if isinstance(source, CsvFeed):
        previous = store.files.get(source.name)
        with lifecycle.cuttable():  # a fetch writes nothing: a stop may cut it
            return source.fetch(window, previous)
    if isinstance(source, FocusFeed):
        known = store.focus_files.of(source.name)
        with lifecycle.cuttable():
            return source.fetch(window, known)
    with lifecycle.cuttable():
        return source.fetch(window)


def poll_window(source: SourceConfig, last_ok_end: datetime | None, since: datetime, now: datetime) -> Window:
    """What one poll re-reads: the lookback, reaching back to the end of the last successful
    fetch so that downtime leaves no gap, and on a source never fetched back to `since`
    (as far as the rules need)."""
    if isinstance(source, CsvSource | FocusSource):
        return Window(utc(0), now + timedelta(days=366))  # the files are the truth: all of them
    start = now - source.lookback
    start = since if last_ok_end is None else max(since, min(start, last_ok_end))
    hour = 3600
    end = (int(now.timestamp()) // hour + 1) * hour  # through the current, still-growing hour
    return Window(utc(int(start.timestamp()) // hour * hour), utc(end))
