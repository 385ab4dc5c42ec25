"""Fetch → store: one window of one source at a time, each in its own transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from alertd.config import Config
from alertd.model import Window
from alertd.redact import redact
from alertd.sources import SourceError, build
from alertd.sources.http import RetryPolicy
from alertd.store import Store

log = logging.getLogger("alertd.ingest")


@dataclass(frozen=True)
class Outcome:
    source: str
    rows: int = 0
    changed: int = 0
    fetches: int = 0
    error: str | None = None


def backfill(
    config: Config,
    store: Store,
    window: Window,
    names: list[str],
    *,
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
        source = build(config, name, retry)
        rows = changed = fetches = 0
        error = None
        try:
            for chunk in window.split(int(source.backfill_chunk.total_seconds())):
                started = time.time()
                try:
                    result = source.fetch(chunk)
                except SourceError as exc:
                    error = redact(str(exc))
                    store.record_failure(name, "backfill", chunk, started, error)
                    log.error("backfill %s %s..%s failed: %s", name, chunk.start, chunk.end, error)
                    break
                written = store.record_fetch(name, "backfill", chunk, started, result)
                rows, changed, fetches = rows + written.rows, changed + written.changed, fetches + 1
                if advance:
                    advance(name, chunk.end_ts - chunk.start_ts)
        finally:
            source.close()
        outcomes.append(Outcome(name, rows, changed, fetches, error))
    return outcomes
