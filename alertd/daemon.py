"""The long-running loop: due sources → fetch → store → evaluate → enqueue → deliver → sleep.

Each source keeps its own schedule (restored from the fetch log, so a restart neither
hammers a provider nor forgets one); the loop sleeps until the next poll or delivery retry
is due. It speaks systemd's notify protocol: READY once running, STATUS after each cycle,
WATCHDOG while the loop makes progress, RELOADING/READY around a SIGHUP reload (a bad
config is refused and the old one kept), STOPPING on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from alertd import cycle, ingest, lifecycle
from alertd.config import Config, ConfigError, checking_channel_urls
from alertd.model import BudgetStatus, utc
from alertd.redact import register, scrub, split_url
from alertd.sdnotify import Notifier
from alertd.store import Store
from alertd.store.connection import Locked, is_locked

if TYPE_CHECKING:
    from alertd.metrics import Metrics  # prometheus-client is imported only when `metrics:` is set

log = logging.getLogger("alertd.daemon")

WATCH_PERCENT = 80  # the share of a budget that `systemctl status` counts as close
HEARTBEAT_TIMEOUT = 10.0  # seconds


@dataclass
class CycleReport:
    polled: list[ingest.Outcome] = field(default_factory=list)
    evaluation: cycle.Evaluation | None = None
    deliveries: cycle.Deliveries = field(default_factory=cycle.Deliveries)

    @property
    def ok(self) -> bool:
        failed = any(o.error for o in self.polled)
        return not failed and self.deliveries.failed == 0 and self.deliveries.gave_up == 0


def run_cycle(
    config: Config, store: Store, names: list[str], now: datetime, *, everything: bool = False
) -> CycleReport:
    """Poll the named sources, evaluate when anything was polled, deliver what is due.
    `everything`: evaluate every budget, not only those that may have news."""
    report = CycleReport(polled=ingest.poll(config, store, names, now))
    for outcome in report.polled:
        if outcome.skipped:
            log.info("poll %s skipped: %s", outcome.source, outcome.skipped)
        elif not outcome.error:  # a failure is logged where it happens, with its window and traceback
            log.info("poll %s: %d rows, %d new or revised", outcome.source, outcome.rows, outcome.changed)
    if any(not o.skipped for o in report.polled) or not names:
        report.evaluation = cycle.evaluate(config, store, now, everything=everything)
    report.deliveries = cycle.deliver(config, store, now)
    if report.ok and config.monitoring.heartbeat_url is not None:
        _heartbeat(config.monitoring.heartbeat_url.get_secret_value())
    return report


def _heartbeat(url: str) -> None:
    """Tell a dead man's switch (healthchecks.io and the like) that this cycle was healthy.

    Whoever has its URL can ping it: the token is registered as written, decoded and encoded (httpx prints
    URLs its own way: `%20` for a space, the host lower-cased), and every URL in an error (a redirect's
    Location) is masked."""
    import httpx

    parts = split_url(url)
    register(*(parts.secrets() if parts else ()))
    try:
        lifecycle.beat(allow=HEARTBEAT_TIMEOUT)
        with lifecycle.cuttable():
            httpx.get(url, timeout=HEARTBEAT_TIMEOUT).raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("heartbeat failed: %s", scrub(str(exc)))


class Daemon:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        reload: Callable[[], Config],
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.reload = reload  # loads and validates the rules file again; raises ConfigError
        self.notifier = Notifier()
        self.metrics = metrics
        self.reload_requested = False
        self.next_poll: dict[str, datetime] = {}
        self.statuses: dict[str, BudgetStatus] = {}  # per budget, as of its last evaluation
        self.channel_failing: dict[str, bool] = {}  # as of the channel's last cycle with attempts
        self._wake_read, self._wake_write = os.pipe()  # a signal makes it readable: the wait ends at once
        self._adopt(config)

    def _adopt(self, config: Config) -> None:
        """Take `config`: schedules from the fetch log, as a fresh start would make them."""
        self.config = config
        now = datetime.now(UTC)
        self.next_poll = {}
        for source in config.sources:
            last = self.store.last_fetch(source.name)
            self.next_poll[source.name] = utc(last.started) + source.every if last else now
            ok = self.store.last_fetch(source.name, status="ok")
            if self.metrics and ok and ok.finished:
                self.metrics.source_ok(source.name, ok.finished)
        if self.metrics:
            self.metrics.configure(config)

    def install_signal_handlers(self) -> None:
        os.set_blocking(self._wake_write, False)
        signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.notifier.stopping()
        lifecycle.request_stop()  # last: it raises Stopped where the current step may be cut

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self.reload_requested = True

    def run(self) -> bool:
        """Until a stop request; True when the stop had to cut a step short."""
        log.info("alertd running: %s", self.config.summary())
        self.notifier.ready(f"running: {self.config.summary()}")
        lifecycle.beat()
        if self.notifier.watchdog_interval:
            interval = self.notifier.watchdog_interval
            threading.Thread(target=self._ping_watchdog, args=(interval,), name="watchdog", daemon=True).start()
        self.store.patient()
        try:
            while not lifecycle.stop_requested():
                if self.reload_requested:
                    self._reload()
                try:
                    self._cycle()
                except (Locked, sqlite3.OperationalError) as exc:
                    if not is_locked(exc):
                        raise
                    # What the cycle wrote is whole, what it did not is done again: a poll's lookback
                    # re-reads what its write held, on the source's schedule.
                    log.error("cycle cut short: %s; carrying on with the next cycle", exc)
                self._wait(self._seconds_to_next(datetime.now(UTC)))
        except lifecycle.Stopped:
            log.info("alertd stopped, cutting the current step short; it is done again at the next start")
            return True
        log.info("alertd stopped")
        return False

    def _cycle(self) -> None:
        now = datetime.now(UTC)
        due = [name for name, at in self.next_poll.items() if at <= now]
        for name in due:
            self.next_poll[name] = now + self.config.source(name).every
        # The first cycle after a start or a reload evaluates every budget, so that STATUS and the
        # metrics know them all; later ones only those that may have news.
        known = {b.name for b in self.config.budgets}
        began = time.perf_counter()
        report = run_cycle(self.config, self.store, due, now, everything=not known <= set(self.statuses))
        log.info(
            "cycle took %.3f s: %d sources polled, %d new alerts, %d deliveries sent",
            time.perf_counter() - began,
            sum(1 for o in report.polled if not o.skipped),
            len(report.evaluation.new) if report.evaluation is not None else 0,
            report.deliveries.sent,
        )
        if report.evaluation:
            self.statuses = {
                name: s
                for name, s in (self.statuses | {s.rule: s for s in report.evaluation.statuses}).items()
                if name in known
            }
        attempted: dict[str, bool] = {}  # a channel with any failed attempt this cycle is failing
        for channel, outcome in report.deliveries.outcomes:
            attempted[channel] = attempted.get(channel, False) or outcome != "sent"
        self.channel_failing |= attempted
        if self.metrics:
            self.metrics.polled(report.polled, time.time())
            self.metrics.budgets(self.statuses.values())
            self.metrics.deliveries(report.deliveries.outcomes)
        upcoming = min(self.next_poll.values(), default=None)
        failing = sorted(c for c, bad in self.channel_failing.items() if bad and c in self.config.channels)
        errors = {s.name: self._last_error(s.name) for s in self.config.sources}
        statuses = list(self.statuses.values())
        self.notifier.status(status_line(errors, statuses, failing, upcoming, self.config.tz))

    def _last_error(self, source: str) -> str | None:
        last = self.store.last_fetch(source)
        return last.error if last and last.status == "error" else None

    def _reload(self) -> None:
        """Re-read the rules file, as `validate` checks it; on any error keep running on the current one.

        A load is bounded (`config.limits`: no file makes it hang) and writes nothing, so a stop
        request cuts it short at once; and whatever goes wrong in it, the daemon carries on.
        """
        self.reload_requested = False
        self.notifier.reloading()
        try:
            with lifecycle.cuttable(), checking_channel_urls():
                config = self.reload()
        except ConfigError as exc:
            for line in exc.lines:
                log.error("%s", line)
            log.error("reload refused: still running on the previous config")
            self.notifier.ready(f"reload refused ({len(exc.lines)} error(s), see the log); previous config kept")
            return
        except Exception:  # a bug in the loader: it must not take the running daemon with it
            log.exception("reload failed on an unexpected error: still running on the previous config")
            self.notifier.ready("reload failed (see the log); previous config kept")
            return
        finally:
            lifecycle.beat()  # the loop is alive: however long the load took, the watchdog goes on
        self._adopt(config)
        log.info("reloaded: %s", config.summary())
        self.notifier.ready(f"reloaded: {config.summary()}")

    def _wait(self, seconds: float) -> None:
        """Sleep until the next step is due, beating; a signal (stop, reload) ends it at once."""
        tick = min(lifecycle.TICK, (self.notifier.watchdog_interval or lifecycle.TICK) / 4)
        end = time.monotonic() + seconds
        while not lifecycle.stop_requested() and not self.reload_requested and (left := end - time.monotonic()) > 0:
            lifecycle.beat()
            readable, _, _ = select.select([self._wake_read], [], [], min(left, tick))
            if readable:
                os.read(self._wake_read, 512)

    def _ping_watchdog(self, interval: float) -> None:
        """WATCHDOG=1 at half the interval while the loop beats; a hung loop goes quiet and systemd
        restarts the service."""
        quiet = False
        while True:
            time.sleep(interval / 2)
            if lifecycle.healthy(interval):
                self.notifier.watchdog()
                quiet = False
            elif not quiet:
                log.error("the loop has made no progress for %.0fs: not pinging the watchdog", lifecycle.since_beat())
                quiet = True

    def _seconds_to_next(self, now: datetime) -> float:
        wakes = list(self.next_poll.values())
        retry = self.store.outbox.next_due()
        if retry is not None:
            wakes.append(retry)
        if not wakes:
            wakes.append(now + timedelta(hours=1))  # no sources: still deliver and re-evaluate hourly
        return max(0.0, (min(wakes) - now).total_seconds())


def status_line(
    source_errors: Mapping[str, str | None],
    statuses: Sequence[BudgetStatus],
    failing_channels: Sequence[str],
    next_poll: datetime | None,
    tz: ZoneInfo,
) -> str:
    """The one line `systemctl status` shows, e.g. "3 sources ok, 2 of 4 budgets over 80%, next poll 12:15"."""
    failing = sorted(name for name, error in source_errors.items() if error)
    ok = len(source_errors) - len(failing)
    parts = [f"{ok} source{'' if ok == 1 else 's'} ok"]
    if failing:
        parts.append(f"{len(failing)} failing ({', '.join(failing)})")
    if statuses:
        over = sum(1 for s in statuses if s.percent >= WATCH_PERCENT)
        parts.append(f"{over} of {len(statuses)} budget{'' if len(statuses) == 1 else 's'} over {WATCH_PERCENT}%")
    if failing_channels:
        parts.append(f"delivery failing to {', '.join(failing_channels)}")
    if next_poll is not None:
        parts.append(f"next poll {next_poll.astimezone(tz):%H:%M}")
    return ", ".join(parts)
