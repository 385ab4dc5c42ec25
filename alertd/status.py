"""`alertd status`: sources, budgets and the alerts of the current periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alertd.config import Config
from alertd.evaluate.budgets import statuses
from alertd.model import utc
from alertd.money import decimal_string, format_money, to_micros
from alertd.store import Store


def collect(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    tz = config.tz

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else None

    sources = []
    for source in config.sources:
        last = store.last_fetch(source.name)
        ok = store.last_fetch(source.name, status="ok")
        sources.append(
            {
                "name": source.name,
                "provider": source.provider,
                "last_success": local(utc(ok.finished)) if ok else None,
                "last_error": last.error if last and last.status == "error" else None,
                "next_poll": local(utc(last.started) + source.every if last else now),
            }
        )
    budgets = []
    for _, status in statuses(config, store, now):
        forecast = status.forecast
        budgets.append(
            {
                "name": status.rule,
                "period": status.period,
                "period_start": local(status.period_start),
                "period_end": local(status.period_end),
                "spent": decimal_string(status.spent),
                "amount": decimal_string(status.amount),
                "percent": f"{status.percent:.1f}",
                "projected": decimal_string(forecast.projected) if forecast else None,
                "run_out": local(forecast.run_out) if forecast else None,
            }
        )
    since = min((datetime.fromisoformat(b["period_start"]) for b in budgets), default=now)
    alerts = [{**a, "created": local(utc(a["created"]))} for a in store.outbox.alerts_since(since)]
    failing = [
        {**a, "at": local(utc(float(a["at"])))}
        for a in store.outbox.log(failed_only=True, limit=10)
        if a["state"] != "sent"
    ]
    return {
        "currency": config.currency,
        "now": local(now),
        "sources": sources,
        "budgets": budgets,
        "alerts": alerts,
        "failing_deliveries": failing,
    }


def render_text(status: dict[str, Any]) -> str:
    currency = status["currency"]

    def money(text: str | None) -> str:
        return format_money(to_micros(text), currency) if text else "-"

    lines = [f"alertd status at {status['now']}", "", "Sources:"]
    for s in status["sources"]:
        error = f"  last error: {s['last_error']}" if s["last_error"] else ""
        success = s["last_success"] or "never"
        lines.append(f"  {s['name']} ({s['provider']}): last success {success}, next poll {s['next_poll']}{error}")
    lines += ["", "Budgets:"]
    for b in status["budgets"]:
        run_out = f", runs out {b['run_out']}" if b["run_out"] else ""
        lines.append(
            f"  {b['name']} ({b['period']} from {b['period_start']}): {money(b['spent'])} of {money(b['amount'])}"
            f" ({b['percent']}%), forecast {money(b['projected'])}{run_out}"
        )
    if status["failing_deliveries"]:
        lines += ["", "Deliveries failing (newest attempts):"]
        for f in status["failing_deliveries"]:
            lines.append(f"  {f['at']} {f['channel']} {f['url']} ({f['state']}, attempt {f['attempt']}): {f['error']}")
    lines += ["", "Alerts this period:"]
    for a in status["alerts"] or [{"title": "none"}]:
        state = f" [sent {a['sent']}, pending {a['pending']}, failed {a['failed']}]" if "sent" in a else ""
        lines.append(f"  {a.get('created', '')} {a['title']}{state}".rstrip())
    return "\n".join(lines)
