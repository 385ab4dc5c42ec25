"""The anomaly lifecycle of one series: one alert per event, a cooldown, and a resolved notice.

An event opens at the first anomalous bucket and stays open while the series is anomalous;
it closes after `QUIET` calm buckets in a row (less than half the threshold away). An event is
alerted on once, as soon as the cooldown since the series' last alert allows; a lasting level
shift is therefore one alert, after which the detector's baseline adapts and the event closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alertd.config import Anomaly, route
from alertd.model import Alert, AnomalyStatus, Contributor, SeriesState
from alertd.rules.anomaly import DEFAULT_SENSITIVITY, AnomalyParams, Point, scan, seasonal_expected
from alertd.rules.periods import period_bounds
from alertd.rules.series import DAY, Series

QUIET = {"hourly": 6, "daily": 2}  # normal buckets in a row that close an event
DEFAULT_COOLDOWN = {"hourly": timedelta(hours=6), "daily": timedelta(days=2)}


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "fire" or "resolve"
    event_start: int  # unix time of the event's first bucket


def advance(
    state: SeriesState, point: Point, bucket_start: int, at: int, step: int, cooldown: timedelta | None
) -> tuple[SeriesState, Action | None]:
    """Feed one bucket's verdict, seen at unix time `at`: the new state, and what to send."""
    granularity = "hourly" if step < 86400 else "daily"
    wait = int((cooldown if cooldown is not None else DEFAULT_COOLDOWN[granularity]).total_seconds())
    action: Action | None = None
    if point.anomalous:
        if state.open_since is None:
            state = replace(state, open_since=bucket_start, alerted=False)
        state = replace(state, quiet=0)
        cooled = state.last_alert is None or at - state.last_alert >= wait
        if not state.alerted and cooled:
            state = replace(state, alerted=True, last_alert=at)
            action = Action("fire", state.open_since or bucket_start)
    elif state.open_since is not None and point.reason == "":
        # Only calm buckets close an event: one that is merely under the threshold (or looks
        # like last month's) may be the same event wavering.
        state = replace(state, quiet=state.quiet + 1)
        if state.quiet >= QUIET[granularity]:
            if state.alerted:
                action = Action("resolve", state.open_since)
            state = SeriesState(last_alert=state.last_alert)
    return state, action


def replay_series(
    values: Sequence[int | None],
    start: int,
    step: int,
    tz: ZoneInfo,
    params: AnomalyParams,
    cooldown: timedelta | None = None,
) -> list[int]:
    """Indices of the buckets at which an alert would be sent, each bucket seen at its end."""
    fired = []
    state = SeriesState()
    for index, point in enumerate(scan(values, start, step, tz, params)):
        bucket_start = start + index * step
        state, action = advance(state, point, bucket_start, bucket_start + step, step, cooldown)
        if action is not None and action.kind == "fire":
            fired.append(index)
    return fired


RECENT = {"hourly": timedelta(hours=24), "daily": timedelta(days=2)}  # alerted on at first sight


def params_of(rule: Anomaly, currency_micros: int = 1_000_000) -> AnomalyParams:
    return AnomalyParams(
        sensitivity=rule.sensitivity or DEFAULT_SENSITIVITY,
        min_impact=int(rule.min_impact * currency_micros),
        min_percent=rule.min_percent,
        direction=rule.direction,
        baseline=rule.baseline,
    )


def first_sight(series: Series, now: int) -> int:
    """Where alerts start on a series never judged before: its history is judged silently (so
    the lifecycle knows whether an event is open) and only what ended within `RECENT` speaks."""
    return now - int(RECENT["hourly" if series.step < DAY else "daily"].total_seconds())


def judge(
    rule: Anomaly, series: Series, state: SeriesState, tz: ZoneInfo, currency: str, loud_from: int
) -> tuple[SeriesState, list[Alert]]:
    """Run the lifecycle over the buckets of `series` not judged yet, each seen at its end;
    alert on those that end at or after `loud_from`."""
    points = scan(series.values, series.start, series.step, tz, params_of(rule))
    first = 0 if state.last_bucket is None else (state.last_bucket - series.start) // series.step + 1
    alerts = []
    for i in range(max(0, first), len(points)):
        bucket_start = series.start + i * series.step
        state, action = advance(state, points[i], bucket_start, bucket_start + series.step, series.step, rule.cooldown)
        state = replace(state, last_bucket=bucket_start)
        if action is None or bucket_start + series.step < loud_from:
            continue
        if action.kind == "fire" or rule.send_resolved:
            alerts.append(_alert(rule, series, i, points[i], action, tz, currency))
    return state, alerts


def _alert(rule: Anomaly, series: Series, i: int, point: Point, action: Action, tz: ZoneInfo, currency: str) -> Alert:
    expected = point.expected or 0
    bucket_start = series.start + i * series.step
    resolved = action.kind == "resolve"
    event_start = datetime.fromtimestamp(action.event_start, UTC)
    drivers = []
    for item, values in series.parts.items():
        usual = seasonal_expected(values, i, series.start, series.step, tz)
        if usual is not None and values[i] != usual:
            drivers.append(Contributor(series.source or "*", item, values[i], values[i] - usual))
    drivers.sort(key=lambda c: -abs(c.change))
    _, month_end = period_bounds("month", datetime.fromtimestamp(bucket_start, UTC), tz)
    remaining = max(0, int(month_end.timestamp()) - (bucket_start + series.step)) // series.step
    status = AnomalyStatus(
        rule=rule.name,
        currency=currency,
        source=series.source,
        line_item=series.line_item,
        step=series.step,
        bucket_start=datetime.fromtimestamp(bucket_start, UTC),
        value=point.value or 0,
        expected=expected,
        low=point.low,
        high=point.high,
        reason=point.reason,
        event_start=event_start,
        drivers=tuple(drivers[:5]),
        month_cost=(0 if resolved else max(0, (point.value or 0) - expected) * remaining),
        resolved=resolved,
    )
    kind = "resolved" if resolved else "anomaly"
    return Alert(
        key=f"{rule.name}/{series.key}/{event_start.strftime('%Y-%m-%dT%H:%MZ')}/{kind}",
        rule=rule.name,
        kind=kind,
        threshold=None,
        severity="info" if resolved else "warning",
        repeat=0,
        notify=route(rule.notify, "info" if resolved else "warning"),
        status=status,
    )
