"""The long-running loop: due sources → fetch → store → evaluate → enqueue → deliver → sleep.

Each source keeps its own schedule (restored from the fetch log, so a restart neither
hammers a provider nor forgets one); the loop sleeps until the next poll or delivery retry
is due, and a stop request wakes it at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType

from alertd import cycle, ingest
from alertd.config import Config
from alertd.model import utc
from alertd.redact import redact
from alertd.store import Store

log = logging.getLogger("alertd.daemon")


@dataclass
class CycleReport:
    polled: list[ingest.Outcome] = field(default_factory=list)
    evaluation: cycle.Evaluation | None = None
    deliveries: cycle.Deliveries = field(default_factory=cycle.Deliveries)

    @property
    def ok(self) -> bool:
        failed = any(o.error for o in self.polled)
        return not failed and self.deliveries.failed == 0 and self.deliveries.gave_up == 0


def run_cycle(config: Config, store: Store, names: list[str], now: datetime) -> CycleReport:
    """Poll the named sources, evaluate when anything was polled, deliver what is due."""
    report = CycleReport(polled=ingest.poll(config, store, names, now))
    for outcome in report.polled:
        if outcome.error:
            log.error("poll %s failed: %s", outcome.source, outcome.error)
        elif outcome.skipped:
            log.info("poll %s skipped: %s", outcome.source, outcome.skipped)
        else:
            log.info("poll %s: %d rows, %d new or revised", outcome.source, outcome.rows, outcome.changed)
    if any(not o.skipped for o in report.polled) or not names:
        report.evaluation = cycle.evaluate(config, store, now)
    report.deliveries = cycle.deliver(config, store, now)
    if report.ok and config.monitoring.heartbeat_url is not None:
        _heartbeat(config.monitoring.heartbeat_url.get_secret_value())
    return report


def _heartbeat(url: str) -> None:
    """Tell a dead man's switch (healthchecks.io and the like) that this cycle was healthy."""
    import httpx

    try:
        httpx.get(url, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("heartbeat failed: %s", redact(str(exc)))


class Daemon:
    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.stopping = threading.Event()
        self.next_poll: dict[str, datetime] = {}
        now = datetime.now(UTC)
        for source in config.sources:
            last = store.last_fetch(source.name)
            self.next_poll[source.name] = utc(last.started) + source.every if last else now

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s: stopping after the current step", signal.Signals(signum).name)
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        log.info("alertd running: %s", self.config.summary())
        while not self.stopping.is_set():
            now = datetime.now(UTC)
            due = [name for name, at in self.next_poll.items() if at <= now]
            for name in due:
                self.next_poll[name] = now + self.config.source(name).every
            run_cycle(self.config, self.store, due, now)
            self.stopping.wait(self._seconds_to_next(datetime.now(UTC)))
        log.info("alertd stopped")

    def _seconds_to_next(self, now: datetime) -> float:
        wakes = list(self.next_poll.values())
        retry = self.store.outbox.next_due()
        if retry is not None:
            wakes.append(retry)
        if not wakes:
            wakes.append(now + timedelta(hours=1))  # no sources: still deliver and re-evaluate hourly
        return max(0.0, (min(wakes) - now).total_seconds())
