"""Prometheus metrics for the daemon (`metrics: {listen: host:port}`): sources, budgets, deliveries.

Money leaves as floats here only because the exposition format has no other number; the
store and the rules keep it exact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, start_http_server

from alertd.config import Config
from alertd.ingest import Outcome
from alertd.model import BudgetStatus
from alertd.money import MICROS

_FETCH_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)  # memory, CPU, open files: the usual health panels
        self.last_success = Gauge(
            "alertd_source_last_success_timestamp_seconds", "Last successful fetch", ["source"], registry=r
        )
        self.fetch_errors = Counter("alertd_source_fetch_errors", "Polls that failed", ["source"], registry=r)
        self.fetch_seconds = Histogram(
            "alertd_source_fetch_duration_seconds", "Time one poll took", ["source"], buckets=_FETCH_BUCKETS, registry=r
        )
        money = ["budget", "currency"]
        self.spent = Gauge("alertd_budget_spent", "Spent so far this period", money, registry=r)
        self.amount = Gauge("alertd_budget_amount", "The budget for the period", money, registry=r)
        self.forecast = Gauge("alertd_budget_forecast", "Projected spend at the period's end", money, registry=r)
        self.sent = Counter("alertd_alerts_sent", "Alert messages delivered", ["channel"], registry=r)
        self.failed = Counter("alertd_alerts_failed", "Failed attempts (retried)", ["channel"], registry=r)
        self.gave_up = Counter("alertd_alerts_given_up", "Deliveries given up on", ["channel"], registry=r)
        self._budgets: set[tuple[str, str]] = set()

    def serve(self, host: str, port: int) -> None:
        """Serve /metrics from a background thread; raises OSError when the address is taken."""
        start_http_server(port, addr=host, registry=self.registry)

    def configure(self, config: Config) -> None:
        """Every source and channel shows up at zero from the start, not at its first event."""
        for source in config.sources:
            self.fetch_errors.labels(source.name)
        for channel in config.channels:
            for counter in (self.sent, self.failed, self.gave_up):
                counter.labels(channel)

    def source_ok(self, source: str, finished: float) -> None:
        self.last_success.labels(source).set(finished)

    def polled(self, outcomes: Iterable[Outcome], finished: float) -> None:
        for o in outcomes:
            if o.skipped:
                continue
            self.fetch_seconds.labels(o.source).observe(o.seconds)
            if o.error:
                self.fetch_errors.labels(o.source).inc()
            else:
                self.source_ok(o.source, finished)

    def budgets(self, statuses: Iterable[BudgetStatus]) -> None:
        seen = set()
        for s in statuses:
            labels = (s.rule, s.currency)
            seen.add(labels)
            self.spent.labels(*labels).set(s.spent / MICROS)
            self.amount.labels(*labels).set(s.amount / MICROS)
            if s.forecast is not None:
                self.forecast.labels(*labels).set(s.forecast.projected / MICROS)
            else:
                _remove(self.forecast, labels)
        for gone in self._budgets - seen:  # removed by a reload
            for gauge in (self.spent, self.amount, self.forecast):
                _remove(gauge, gone)
        self._budgets = seen

    def deliveries(self, outcomes: dict[tuple[str, str], int]) -> None:
        counters = {"sent": self.sent, "failed": self.failed, "gave_up": self.gave_up}
        for (channel, outcome), n in outcomes.items():
            counters[outcome].labels(channel).inc(n)


def _remove(gauge: Gauge, labels: tuple[str, str]) -> None:
    with contextlib.suppress(KeyError):  # older prometheus-client raises for a label set it never had
        gauge.remove(*labels)
