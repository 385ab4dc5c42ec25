"""What each page shows, read from a read-only store and rendered with Jinja2 (autoescaped).

The numbers are `alertd status`'s own (`alertd.status.collect`), so a page and `status --json`
never disagree; the charts come from the same budget statuses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from alertd.alerts.feedback import Feedback
from alertd.charts.anomaly import series_chart
from alertd.charts.burnup import burnup, daily_bars, period_bars
from alertd.charts.svg import svg
from alertd.config import Config
from alertd.evaluate.anomaly_view import series_view
from alertd.evaluate.budget_history import past_periods
from alertd.evaluate.budgets import statuses
from alertd.model import utc
from alertd.money import decimal_string, format_money, to_micros
from alertd.percent import rounded_percent
from alertd.status import budget_json, collect
from alertd.store import Store

TEMPLATES = Path(__file__).with_name("templates")
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
)


class NotFound(Exception):
    """No such page (an unknown budget)."""


def severity(percent: str) -> str:
    """The colour class of a budget's percent: under 80 calm, to 100 close, past it over."""
    value = Decimal(percent)
    return "over" if value > 100 else "close" if value >= 80 else "calm"


def overview(config: Config, store: Store, now: datetime) -> str:
    computed = statuses(config, store, now)
    status = collect(config, store, now, computed)
    charts = {b.name: svg(burnup(s, b.thresholds, config.tz, small=True)) for b, s in computed}
    silences = [
        {
            "id": s.id,
            "rule": s.rule,
            "series": s.series,
            "starts": _local(s.starts, config),
            "ends": _local(s.ends, config),
            "reason": s.reason,
        }
        for s in store.silences.active(now)
    ]
    anomalies = []
    for rule in config.anomalies:
        states = store.scan_states.lifecycle(rule.name)
        opened = sorted(k for k, s in states.items() if s.open_since is not None)
        anomalies.append({"name": rule.name, "series": len(states), "open": opened})
    return _render("overview.html", status=status, charts=charts, silences=silences, anomalies=anomalies)


def budget(config: Config, store: Store, now: datetime, name: str) -> str:
    chosen = [b for b in config.budgets if b.name == name]
    if not chosen:
        raise NotFound(f"budget named {name!r}")
    [(rule, state)] = statuses(config, store, now, chosen)
    row = budget_json(state, config.tz)
    alerts = [a for a in store.outbox.alerts_since(state.period_start) if a["rule"] == name]
    money = state.currency

    def lines(items: Any) -> list[dict[str, str]]:
        return [
            {
                "series": f"{c.source} / {c.line_item}",
                "amount": format_money(c.amount, money),
                "change": format_money(c.change, money),
            }
            for c in items
        ]

    past = past_periods(store, rule, [s.name for s in config.sources], now, config.tz)
    return _render(
        "budget.html",
        budget=row,
        periods=svg(period_bars(state, past, config.tz)),
        past=[
            {
                "start": start.astimezone(config.tz).date().isoformat(),
                "total": decimal_string(total),
                "percent": str(rounded_percent(total, state.amount)),
            }
            for start, total in reversed(past)
        ],
        previous=decimal_string(state.previous_spent) if state.previous_known else None,
        chart=svg(burnup(state, rule.thresholds, config.tz)),
        bars=svg(daily_bars(state, config.tz)),
        top=lines(state.contributors[:10]),
        grew=lines([c for c in state.drivers if c.change > 0][:10]),
        alerts=[{**a, "created": _local(datetime.fromtimestamp(float(a["created"]), UTC), config)} for a in alerts],
        currency=money,
    )


def _feedback(note: Feedback | None, config: Config) -> str | None:
    if note is None:
        return None
    until = f" until {_local(utc(note.until), config)}" if note.until is not None else ""
    return f"{note.verdict}{until}{f': {note.note}' if note.note else ''}"


def anomaly(config: Config, store: Store, now: datetime, name: str, series: str | None, form: str | None) -> str:
    """A rule's series (the open events first), or with `series` that series' chart and alerts;
    `form`: the token of the feedback forms, None where the dashboard takes none."""
    chosen = [a for a in config.anomalies if a.name == name]
    if not chosen:
        raise NotFound(f"anomaly rule named {name!r}")
    rule = chosen[0]
    states = store.scan_states.lifecycle(name)
    listed = sorted(states.items(), key=lambda kv: (kv[1].open_since is None, -(kv[1].last_alert or 0), kv[0]))
    rows = [
        {
            "key": key,
            "open_since": _local(utc(s.open_since), config) if s.open_since is not None else None,
            "last_alert": _local(utc(s.last_alert), config) if s.last_alert is not None else None,
            "last_bucket": _local(utc(s.last_bucket), config) if s.last_bucket is not None else None,
        }
        for key, s in listed
    ]
    chart, alerts = None, []
    if series is not None:
        if series not in states:
            raise NotFound(f"series {series!r} of {name!r}")
        view = series_view(config, store, rule, series, now)
        since = utc(view.first) if view else now
        said = {n.alert_id: n for n in store.feedback.of_rule(name).get(series, ())}
        alerts = [
            {
                **a,
                "feedback": _feedback(said.get(int(a["id"])), config),
                "created": _local(datetime.fromtimestamp(float(a["created"]), UTC), config),
                "bucket": _local(datetime.fromisoformat(str(bucket)), config) if bucket else None,
            }
            for a in store.outbox.alerts_since(since)
            if a["rule"] == name and (a["series"] == series or series in a["also"])
            # an incident's alert, on a member's page: the bucket that member was told at
            for bucket in [a["bucket"] if a["series"] == series else a["also"][series]]
        ]
        if view is not None:
            sent = {int(datetime.fromisoformat(a["bucket"]).timestamp()) for a in alerts if a["bucket"]}
            chart = svg(
                series_chart(f"{name} {series}", view.first, view.step, view.points, config.currency, config.tz, sent)
            )
    return _render("anomaly.html", rule=rule, series=series, rows=rows, chart=chart, alerts=alerts, form=form)


def deliveries(config: Config, store: Store, channel: str | None, failed: bool) -> str:
    logged = [d.as_json(config.tz) for d in store.outbox.history(limit=200, failed=failed, channel=channel)]
    return _render(
        "deliveries.html", deliveries=logged, channel=channel or "", failed=failed, channels=sorted(config.channels)
    )


def not_found(what: str) -> str:
    return _render("message.html", heading="Not found", text=f"There is no {what}.", back=None)


def refused(why: str, back: str | None) -> str:
    """A post not taken: why, and the way back to the page it came from."""
    return _render("message.html", heading="Not recorded", text=f"{why[0].upper()}{why[1:]}.", back=back)


def _local(moment: datetime, config: Config) -> str:
    return moment.astimezone(config.tz).isoformat(timespec="seconds")


def _render(template: str, **values: Any) -> str:
    return _ENV.get_template(template).render(severity=severity, **values)


def _money(text: str | None, currency: str) -> str:
    """A `status --json` amount (an exact decimal string) as the messages write it."""
    return "—" if text is None else format_money(to_micros(Decimal(text)), currency)


def _moment(text: str | None) -> str:
    """A local ISO 8601 time to the minute, as people read it."""
    return "—" if text is None else text[:16].replace("T", " ")


_ENV.filters.update(money=_money, moment=_moment)
