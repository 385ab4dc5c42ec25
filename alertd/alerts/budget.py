"""Which budget alerts to send now: each threshold once per period, the highest first.

Modelled on Alertmanager's `needsUpdate`: given where the budget stands and what the alert
log says was already decided this period, return the alerts that are new information.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from alertd.config import Budget, route
from alertd.model import Alert, BudgetStatus, Sent

HUNDRED = Decimal(100)
SETTLED_HISTORY = 168  # hours: a week, the projection's hour-of-week shape
FIRST_HOUR = timedelta(hours=1)


def decide(budget: Budget, status: BudgetStatus, sent: Sequence[Sent], now: datetime) -> list[Alert]:
    """New alerts for `budget` given `sent` (this rule's alerts in this period, oldest first)."""
    alerts: list[Alert] = []
    percent = status.percent
    crossed = [t for t in budget.thresholds if percent >= t]
    actual_sent = [s for s in sent if s.kind == "budget"]
    highest_sent = max((s.threshold for s in actual_sent), default=Decimal(0))
    if crossed:
        top = max(crossed)
        if top > highest_sent:
            # One alert for the highest: crossing 50 and 80 in one cycle says 80 once.
            alerts.append(_alert(budget, status, "budget", top, 0))
        elif budget.repeat is not None and top == highest_sent:
            last = max(s.created for s in actual_sent if s.threshold == top)
            if now - last >= budget.repeat:
                reminders = sum(1 for s in actual_sent if s.threshold == top and s.repeat > 0)
                alerts.append(_alert(budget, status, "budget", top, reminders + 1))

    if status.forecast is not None and forecast_may_fire(budget, status, sent):
        projected = Decimal(status.forecast.projected * 100) / Decimal(status.amount)
        # Only thresholds actual spend has not reached: those already have (or will get) their own alert.
        ahead = [f for f in budget.forecast if projected >= f > percent]
        highest_forecast = max((s.threshold for s in sent if s.kind == "forecast"), default=Decimal(0))
        if ahead and max(ahead) > highest_forecast:
            alerts.append(_alert(budget, status, "forecast", max(ahead), 0))
    return alerts


def forecast_may_fire(budget: Budget, status: BudgetStatus, sent: Sequence[Sent]) -> bool:
    """Whether a projection could still bring a forecast alert (so whether it is worth making):
    the projection can be trusted (`forecast_settled`), and a forecast threshold lies above both
    the actual spend and what was already forecast this period."""
    if not budget.forecast or not forecast_settled(status):
        return False
    highest_forecast = max((s.threshold for s in sent if s.kind == "forecast"), default=Decimal(0))
    return any(f > status.percent and f > highest_forecast for f in budget.forecast)


def forecast_settled(status: BudgetStatus) -> bool:
    """A projection from a week of history or more (its hour-of-week shape) may alert from the
    period's first complete hour of data; one from less history only after a tenth of the period,
    when the period's own spend says more than a day or two did. Without a projection yet: whether
    one made now could be settled."""
    elapsed = status.now - status.period_start
    if elapsed >= (status.period_end - status.period_start) / 10:
        return True
    forecast = status.forecast
    if forecast is None:
        return elapsed >= FIRST_HOUR
    return (
        forecast.history_hours >= SETTLED_HISTORY
        and forecast.horizon is not None
        and forecast.horizon - status.period_start >= FIRST_HOUR
    )


def severity(kind: str, threshold: Decimal) -> str:
    if kind == "forecast":
        return "warning" if threshold >= HUNDRED else "info"
    if threshold >= HUNDRED:
        return "critical"
    return "warning" if threshold >= 80 else "info"


def alert_key(rule: str, period_start: datetime, kind: str, threshold: Decimal, repeat: int) -> str:
    """Unique per thing worth saying once; the outbox refuses a second alert with the same key."""
    key = f"{rule}/{period_start.strftime('%Y-%m-%dT%H:%MZ')}/{kind}/{threshold.normalize():f}"
    return f"{key}/repeat-{repeat}" if repeat else key


def _alert(budget: Budget, status: BudgetStatus, kind: str, threshold: Decimal, repeat: int) -> Alert:
    return Alert(
        key=alert_key(budget.name, status.period_start, kind, threshold, repeat),
        rule=budget.name,
        kind=kind,
        threshold=threshold,
        severity=severity(kind, threshold),
        repeat=repeat,
        notify=route(budget.notify, severity(kind, threshold)),
        status=status,
    )
