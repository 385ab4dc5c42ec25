"""`alertd status`: sources, budgets and the alerts of the current periods."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alertd.alerts.summary import SummaryState
from alertd.config import Budget, Config
from alertd.evaluate.budgets import coverage_of, statuses, summaries
from alertd.model import BudgetStatus, utc
from alertd.money import decimal_string, format_money, to_micros
from alertd.percent import rounded_percent
from alertd.store import Store
from alertd.store.silences import held_until

FEEDBACK_SHOWN = 20
ANOMALIES_SHOWN = timedelta(days=7)


def collect(
    config: Config, store: Store, now: datetime, known: Sequence[tuple[Budget, BudgetStatus]] | None = None
) -> dict[str, Any]:
    """What `status --json` says; `known`: the budgets' statuses, already computed by the caller."""
    tz = config.tz

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None

    coverage = coverage_of(config, store)
    sources = []
    for source in config.sources:
        last = store.last_fetch(source.name)
        ok = store.last_fetch(source.name, status="ok")
        through = coverage.through.get(source.name)
        sources.append(
            {
                "name": source.name,
                "provider": source.provider,
                "complete_through": local(utc(through)) if through is not None else None,
                "last_success": local(utc(ok.finished)) if ok else None,
                "last_error": last.error if last and last.status == "error" else None,
                "next_poll": local(utc(last.started) + source.every if last else now),
            }
        )
    closing = summaries(config, store, now, coverage)
    budgets = []
    for _, status in known if known is not None else statuses(config, store, now, coverage=coverage):
        summary = closing.get(status.rule)
        budgets.append(budget_json(status, tz) | {"summary": None if summary is None else _summary(summary, local)})
    since = min((datetime.fromisoformat(b["period_start"]) for b in budgets), default=now)
    if config.anomalies:  # an anomaly has no period: the last week's, to give feedback on
        since = min(since, now - ANOMALIES_SHOWN)
    silences = store.silences.active(now)
    alerts = [
        {
            **a,
            "created": local(utc(a["created"])),
            "silenced_until": local(held_until(silences, a["rule"], a["series"], now)) if a["silenced"] else None,
        }
        for a in store.outbox.alerts_since(since)
    ]
    failing = [d.as_json(tz) for d in store.outbox.failing(limit=10)]
    feedback = [
        {
            "alert": n.alert_id,
            "rule": n.rule,
            "series": n.series,
            "verdict": n.verdict,
            "bucket": local(utc(n.bucket)),
            "until": local(utc(n.until)) if n.until is not None else None,
            "note": n.note,
            "given": local(utc(n.created)),
        }
        for n in store.feedback.recent(FEEDBACK_SHOWN)
    ]
    return {
        "currency": config.currency,
        "now": local(now),
        "sources": sources,
        "budgets": budgets,
        "alerts_since": local(since),
        "alerts": alerts,
        "failing_deliveries": failing,
        "feedback": feedback,
    }


def budget_json(status: BudgetStatus, tz: ZoneInfo) -> dict[str, Any]:
    """Where one budget stands, as `status --json` says it (but for its summary)."""

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None

    forecast = status.forecast
    return {
        "name": status.rule,
        "period": status.period,
        "period_start": local(status.period_start),
        "period_end": local(status.period_end),
        "spent": decimal_string(status.spent),
        "amount": decimal_string(status.amount),
        "percent": str(rounded_percent(status.spent, status.amount)),
        "projected": decimal_string(forecast.projected) if forecast else None,
        "projected_low": decimal_string(forecast.low) if forecast and forecast.low is not None else None,
        "projected_high": decimal_string(forecast.high) if forecast and forecast.high is not None else None,
        "run_out": local(forecast.run_out) if forecast else None,
    }


def _summary(state: SummaryState, local: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    """Where the summary of the budget's previous period stands, and what it waits for."""
    if state.sent:
        word = "sent"
    elif state.due:
        word = "due"  # at the next cycle
    else:
        word = "waiting"
    return {
        "period_start": local(state.period_start),
        "state": word,
        "waiting_for": [
            {"source": g.source, "complete_through": local(g.through)} for g in state.lagging if word == "waiting"
        ],
        "settles": local(state.settles),
        "incomplete_after": local(state.give_up),
    }


def render_text(status: dict[str, Any]) -> str:
    currency = status["currency"]

    def money(text: str | None) -> str:
        return format_money(to_micros(text), currency) if text else "-"

    lines = [f"alertd status at {status['now']}", "", "Sources:"]
    for s in status["sources"]:
        error = f"  last error: {s['last_error']}" if s["last_error"] else ""
        success = s["last_success"] or "never"
        through = s["complete_through"] or "nothing yet"
        lines.append(
            f"  {s['name']} ({s['provider']}): complete through {through}, last success {success},"
            f" next poll {s['next_poll']}{error}"
        )
    lines += ["", "Budgets:"]
    for b in status["budgets"]:
        run_out = f", runs out {b['run_out']}" if b["run_out"] else ""
        lines.append(
            f"  {b['name']} ({b['period']} from {b['period_start']}): {money(b['spent'])} of {money(b['amount'])}"
            f" ({b['percent']}%), forecast {money(b['projected'])}{run_out}"
        )
        if b["summary"] is not None and b["summary"]["state"] != "sent":
            lines.append(f"    summary of the period from {b['summary']['period_start']}: {_waiting(b['summary'])}")
    if status["failing_deliveries"]:
        lines += ["", "Deliveries failing:"]
        for f in status["failing_deliveries"]:
            state = f"retrying at {f['next_attempt']}" if f["state"] == "retrying" else "given up"
            last = f["attempts"][-1]
            lines.append(
                f"  {f['channel']} {f['url']}: {state} after {len(f['attempts'])} attempt(s), the last at"
                f" {last['at']} failed: {last['error']}  ({f['alert']})"
            )
    lines += ["", f"Alerts since {status['alerts_since']} (#: the number `alertd feedback` takes):"]
    for a in status["alerts"] or [{"title": "none"}]:
        state = f" [{_delivery_counts(a)}]" if "sent" in a else ""
        number = f"#{a['id']} " if "id" in a else ""
        lines.append(f"  {number}{a.get('created', '')} {a['title']}{state}".rstrip())
    if status["feedback"]:
        lines += ["", "Feedback on anomaly alerts (newest first):"]
        for f in status["feedback"]:
            until = f" until {f['until']}" if f["until"] else ""
            note = f" ({f['note']})" if f["note"] else ""
            lines.append(f"  #{f['alert']} {f['rule']} {f['series']} at {f['bucket']}: {f['verdict']}{until}{note}")
    return "\n".join(lines)


def _waiting(summary: dict[str, Any]) -> str:
    if summary["state"] == "due":
        return "due at the next cycle"
    if not summary["waiting_for"]:
        return f"waits for late data until {summary['settles']}"
    sources = ", ".join(
        f"{w['source']} (complete through {w['complete_through'] or 'nothing'})" for w in summary["waiting_for"]
    )
    return f"waits for {sources}; sent marked incomplete from {summary['incomplete_after']}"


def _delivery_counts(alert: dict[str, Any]) -> str:
    counts = f"sent {alert['sent']}, pending {alert['pending']}, failed {alert['failed']}"
    if alert["silenced"]:
        counts += f", silenced {alert['silenced']} {held_text(alert['silenced_until'])}"
    if alert["dropped"]:
        counts += f", dropped {alert['dropped']} (silence over, no longer firing)"
    return counts


def held_text(until: str | None) -> str:
    """How long a silence still holds an alert; None: it is over, and the next cycle sends or drops the alert."""
    return f"until {until}" if until else "(silence over: sent or dropped at the next cycle)"
