"""The blind-spot pass: a source failing for longer than its `stale_after`, and its recovery."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from alertd.alerts.sources import watch
from alertd.config import Config
from alertd.model import Alert, utc
from alertd.store import Store


def watch_sources(config: Config, store: Store, now: datetime, enqueue: Callable[[Alert], None]) -> None:
    notify = config.monitoring.notify if config.monitoring.notify is not None else tuple(config.channels)
    for source in config.sources:
        last = store.last_fetch(source.name)
        if last is None:
            continue
        ok = store.last_fetch(source.name, status="ok")
        started = store.first_fetch_started(source.name)
        blind_since = utc(ok.finished) if ok else (utc(started) if started is not None else None)
        open_spot = store.outbox.open_blind_spot(f"source:{source.name}")
        alert = watch(source, blind_since, last.status == "error", last.error, open_spot, notify, now)
        if alert is not None:
            enqueue(alert)
