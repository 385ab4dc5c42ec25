"""Decisions → the outbox: each new alert rendered once per format, one delivery per channel URL,
written before anything is sent. A silenced alert is recorded with its deliveries held."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from alertd.config import Config
from alertd.model import Alert, AnomalyDigest, AnomalyStatus, BudgetStatus, Picture, SourceStatus, series_key
from alertd.money import decimal_string
from alertd.percent import rounded_percent
from alertd.store import Store
from alertd.store.outbox import Target
from alertd.store.silences import held_until

log = logging.getLogger("alertd.cycle")


class Enqueuer:
    """One evaluation's writer to the outbox; `new` lists the alerts it added (not already there), `held`
    those of them a silence holds (alert key → when the silence ends)."""

    def __init__(self, config: Config, store: Store, now: datetime) -> None:
        self.config = config
        self.store = store
        self.now = now
        self.new: list[Alert] = []
        self.held: dict[str, datetime] = {}
        self._silences = store.silences.active(now)
        self._targets: dict[tuple[str, int], tuple[str, bool]] = {}  # masked URL, whether it shows pictures

    def __call__(self, alert: Alert) -> None:
        from alertd.notify.deliver import inspect  # Apprise, which masks, is heavy: imported on the first alert
        from alertd.notify.layout import append_link
        from alertd.notify.render import render

        public = self.config.web.public_url if self.config.web else None
        message, told = render(alert, self.config.tz), facts(alert, public)
        if public:  # in the message, and among the facts for a channel's own template
            message = append_link(message, "On the dashboard", str(told["dashboard_url"]))
        targets, pictured = [], False
        for channel in alert.notify:
            for i, url in enumerate(self.config.channels[channel]):
                if (channel, i) not in self._targets:  # Apprise parses each URL once per evaluation
                    self._targets[channel, i] = inspect(url.get_secret_value())
                masked, shows = self._targets[channel, i]
                targets.append(Target(channel, i, masked))
                pictured |= shows
        status = alert.status
        series = series_key(status.source, status.line_item) if isinstance(status, AnomalyStatus) else None
        until = held_until(self._silences, alert.rule, series, self.now)
        picture = self._picture(status) if pictured and isinstance(status, BudgetStatus) else None
        if self.store.outbox.enqueue(
            alert, message, told, targets, self.now, silenced=until is not None, picture=picture
        ):
            log.info("alert %s%s: %s", alert.key, " (silenced)" if until else "", message.title)
            self.new.append(alert)
            if until is not None:
                self.held[alert.key] = until

    def _picture(self, status: BudgetStatus) -> Picture | None:
        """The budget's burn-up chart, for the targets that show one (e-mail)."""
        from alertd.charts.burnup import burnup, words
        from alertd.charts.png import png

        budget = next((b for b in self.config.budgets if b.name == status.rule), None)
        if budget is None:
            return None
        return Picture(png(burnup(status, budget.thresholds, self.config.tz)), words(status))


def dashboard_link(public_url: str, alert: Alert) -> str:
    """The page of the alert's budget, anomaly series or rule (a digest of several series); the
    overview for a source's."""
    status, rule = alert.status, quote(alert.rule, safe="")
    if isinstance(status, BudgetStatus):
        page = f"budget/{rule}"
    elif isinstance(status, AnomalyStatus):
        page = f"anomaly/{rule}?series={quote(series_key(status.source, status.line_item), safe='')}"
    elif isinstance(status, AnomalyDigest):
        page = f"anomaly/{rule}"
    else:
        page = ""
    return f"{public_url.rstrip('/')}/{page}"


def members(status: AnomalyStatus) -> list[dict[str, object]]:
    """An incident's other line items, each as it stood (as facts and replay's JSON say them)."""
    return [
        {
            "series": {"source": m.source, "line_item": m.line_item},
            "bucket": m.bucket_start.isoformat(),  # its own: it may have started an hour or two apart
            "value": decimal_string(m.value),
            "expected": decimal_string(m.expected),
        }
        for m in status.also
    ]


def facts(alert: Alert, public_url: str | None = None) -> dict[str, object]:
    """The figures behind an alert, as stored beside its message (decimal strings, ISO times);
    with the dashboard's `public_url`, the alert's page there."""
    status = alert.status
    common: dict[str, object] = {"rule": alert.rule, "kind": alert.kind, "severity": alert.severity}
    if public_url:
        common["dashboard_url"] = dashboard_link(public_url, alert)
    if isinstance(status, SourceStatus):
        return {
            **common,
            "source": status.source,
            "blind_since": status.blind_since.isoformat(),
            "last_error": status.last_error,
        }
    if isinstance(status, AnomalyDigest):
        series = [{"source": e.source, "line_item": e.line_item} for e in status.events]
        return {**common, "currency": status.currency, "series": series, "event_start": status.event_start.isoformat()}
    if isinstance(status, AnomalyStatus):
        return {
            **common,
            "currency": status.currency,
            "series": {"source": status.source, "line_item": status.line_item},
            "bucket": status.bucket_start.isoformat(),
            "value": decimal_string(status.value),
            "expected": decimal_string(status.expected),
            "low": decimal_string(status.low),
            "high": decimal_string(status.high),
            "reason": status.reason,
            "event_start": status.event_start.isoformat(),
            "step": status.step,
            "excess": decimal_string(status.excess),
            "also": members(status),
        }
    forecast = status.forecast
    return {
        **common,
        "threshold": None if alert.threshold is None else str(alert.threshold),  # None: a summary or its revision
        "currency": status.currency,
        "spent": decimal_string(status.spent),
        "amount": decimal_string(status.amount),
        "percent": str(rounded_percent(status.spent, status.amount)),
        "period_start": status.period_start.isoformat(),
        "period_end": status.period_end.isoformat(),
        "projected": decimal_string(forecast.projected) if forecast else None,
        "run_out": forecast.run_out.isoformat() if forecast and forecast.run_out else None,
        # What a summary states, per source, so that data arriving later can be told as a correction.
        "by_source": {source: decimal_string(spent) for source, spent in status.by_source},
        "incomplete": [
            {"source": g.source, "through": g.through.isoformat() if g.through else None, "blind": g.blind}
            for g in status.lagging
        ],
        "revised_from": decimal_string(status.revised.stated) if status.revised else None,
    }
