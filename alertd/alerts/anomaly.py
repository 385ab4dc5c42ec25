"""The anomaly lifecycle of one series: one alert per event, a cooldown, and a resolved notice.

An event opens at the first anomalous bucket and stays open while the series is anomalous;
it closes after `QUIET` calm buckets in a row (less than half the threshold away). An event is
alerted on once, as soon as the cooldown since the series' last alert allows; a lasting level
shift is therefore one alert, after which the detector's baseline adapts and the event closes.

A series seen for the first time (a new rule, a changed one, a backfill) has its history judged
silently; what is still open then is said once, in one digest per rule (`digest`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from alertd.alerts.feedback import Expects
from alertd.config import Anomaly, route
from alertd.model import Alert, AnomalyDigest, AnomalyStatus, Contributor, SeriesState
from alertd.money import MICROS
from alertd.rules.anomaly import scan, seasonal_expected
from alertd.rules.periods import period_bounds
from alertd.rules.series import DAY
from alertd.rules.verdicts import DEFAULT_SENSITIVITY, AnomalyParams, Point, Verdicts

QUIET = {"hourly": 6, "daily": 2}  # normal buckets in a row that close an event
DEFAULT_COOLDOWN = {"hourly": timedelta(hours=6), "daily": timedelta(days=2)}
# An excess must be worth this much per day (deviation x buckets per day) to alert: less is a
# wobble nobody acts on ($0.10/h over $0 is $2.40 a day). Currency units; `min_impact` overrides.
DEFAULT_MIN_IMPACT = Decimal(10)
# ... and at least this share (percent) of the series' typical spend: a line item of $2,000 a day
# moving by $10 is noise. `min_share` overrides.
DEFAULT_MIN_SHARE = Decimal(10)


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "fire" or "resolve"
    event_start: int  # unix time of the event's first bucket
    excess: int  # the event's deviations summed so far (resolve: its whole cost)


def advance(
    state: SeriesState, point: Point, bucket_start: int, at: int, step: int, cooldown: timedelta | None
) -> tuple[SeriesState, Action | None]:
    """Feed one bucket's verdict, seen at unix time `at`: the new state, and what to send."""
    granularity = "hourly" if step < 86400 else "daily"
    wait = int((cooldown if cooldown is not None else DEFAULT_COOLDOWN[granularity]).total_seconds())
    action: Action | None = None
    if point.anomalous:
        # An hour of spend missing is a blip (and saves money); spend that stays down is news.
        blip = step < 86400 and state.open_since is None and (point.value or 0) < (point.expected or 0)
        if state.open_since is None:
            state = replace(state, open_since=bucket_start, alerted=False, excess=0, incident=None)
        state = replace(state, quiet=0, excess=state.excess + _deviation(point))
        cooled = state.last_alert is None or at - state.last_alert >= wait
        if not state.alerted and cooled and not blip:
            state = replace(state, alerted=True, last_alert=at)
            action = Action("fire", state.open_since or bucket_start, state.excess)
    elif state.open_since is not None:
        state = replace(state, excess=state.excess + _deviation(point))
        if point.reason == "":
            # Only calm buckets close an event: one that is merely under the threshold (or looks
            # like last month's) may be the same event wavering.
            state = replace(state, quiet=state.quiet + 1)
            if state.quiet >= QUIET[granularity]:
                if state.alerted:
                    action = Action("resolve", state.open_since, state.excess)
                state = SeriesState(last_alert=state.last_alert)
    return state, action


def _deviation(point: Point) -> int:
    """What a bucket of an open event adds to its cost (nothing for a gap or no expectation)."""
    return 0 if point.value is None or point.expected is None else point.value - point.expected


def replay_series(
    values: Sequence[int | None],
    start: int,
    step: int,
    tz: ZoneInfo,
    params: AnomalyParams,
    cooldown: timedelta | None = None,
) -> list[int]:
    """Indices of the buckets at which an alert would be sent, each bucket seen at its end."""
    _, actions, _ = judge(scan(values, start, step, tz, params), start, step, SeriesState(), cooldown)
    return [i for i, action in actions if action.kind == "fire"]


def params_of(rule: Anomaly, step: int) -> AnomalyParams:
    """The scan's parameters for a series of `step`: `min_impact` (currency per day) per bucket."""
    per_day = rule.min_impact if rule.min_impact is not None else DEFAULT_MIN_IMPACT
    buckets = max(1, DAY // step)
    return AnomalyParams(
        sensitivity=rule.sensitivity or DEFAULT_SENSITIVITY,
        min_impact=-(-math.ceil(per_day * MICROS) // buckets),  # deviation x buckets >= per day
        min_share=rule.min_share if rule.min_share is not None else DEFAULT_MIN_SHARE,
        min_percent=rule.min_percent,
        direction=rule.direction,
        baseline=rule.baseline,
    )


def fingerprint(rule: Anomaly, tz: ZoneInfo) -> str:
    """What the scan of a rule depends on: when it changes, the rule starts fresh (a new notify
    or cooldown does not: the lifecycle goes on)."""
    floors = (rule.min_impact, rule.min_share, rule.min_percent)
    text = repr(
        (rule.sources, rule.line_items, rule.by, rule.sensitivity, *floors, rule.direction, rule.baseline, tz.key)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def judge(
    points: Verdicts,
    first: int,
    step: int,
    state: SeriesState,
    cooldown: timedelta | None,
    expected: Expects | None = None,
) -> tuple[SeriesState, list[tuple[int, Action]], int | None]:
    """Run the lifecycle over the buckets (from unix time `first`) not judged yet, each seen at its
    end: the new state, the actions (by index into `points`), and the last anomalous index. An
    anomalous bucket that feedback says to expect (`expected`) counts as such: not calm, not news."""
    begin = 0 if state.last_bucket is None else max(0, (state.last_bucket - first) // step + 1)
    actions = []
    last_anomalous = None
    items = points.items
    for i in range(begin, len(items)):
        point = items[i]
        if isinstance(point, float):  # a calm bucket: it matters only to an open event
            if state.open_since is None:
                continue
            point = points[i]
        bucket_start = first + i * step
        if point.anomalous and expected is not None and expected(bucket_start, point):
            point = point._replace(anomalous=False, reason="expected")
        if point.anomalous:
            last_anomalous = i
        if point.anomalous or state.open_since is not None:
            state, action = advance(state, point, bucket_start, bucket_start + step, step, cooldown)
            if action is not None:
                actions.append((i, action))
    if begin < len(points):
        state = replace(state, last_bucket=first + (len(points) - 1) * step)
    return state, actions, last_anomalous


def drivers(
    parts: dict[str, list[int]], first: int, index: int, step: int, tz: ZoneInfo, source: str | None
) -> tuple[Contributor, ...]:
    """The line items behind a deviation at bucket `index` of `parts` (per line item, from `first`)."""
    found = []
    for item, values in parts.items():
        usual = seasonal_expected(values, index, first, step, tz)
        if usual is not None and values[index] != usual:
            found.append(Contributor(source or "*", item, values[index], values[index] - usual))
    found.sort(key=lambda c: -abs(c.change))
    return tuple(found[:5])


def status_of(
    rule: Anomaly,
    source: str | None,
    line_item: str | None,
    bucket_start: int,
    step: int,
    point: Point,
    event_start: int,
    resolved: bool,
    tz: ZoneInfo,
    currency: str,
    driven_by: tuple[Contributor, ...] = (),
    excess: int = 0,
) -> AnomalyStatus:
    expected = point.expected or 0
    _, month_end = period_bounds("month", datetime.fromtimestamp(bucket_start, UTC), tz)
    remaining = max(0, int(month_end.timestamp()) - (bucket_start + step)) // step
    return AnomalyStatus(
        rule=rule.name,
        currency=currency,
        source=source,
        line_item=line_item,
        step=step,
        bucket_start=datetime.fromtimestamp(bucket_start, UTC),
        value=point.value or 0,
        expected=expected,
        low=point.low,
        high=point.high,
        reason=point.reason,
        event_start=datetime.fromtimestamp(event_start, UTC),
        drivers=driven_by,
        month_cost=(0 if resolved else max(0, (point.value or 0) - expected) * remaining),
        resolved=resolved,
        excess=excess,
    )


def alert_of(rule: Anomaly, status: AnomalyStatus, incident: int | None = None) -> Alert:
    """The alert of an event, or of an incident's events (`status.also`; `incident`: its start)."""
    kind = "resolved" if status.resolved else "anomaly"
    severity = "info" if status.resolved else "warning"
    series = f"{status.source or '*'}/{status.line_item or '*'}"
    start = status.event_start
    if status.items > 1:
        series = f"{status.source or '*'}/incident"
        start = datetime.fromtimestamp(incident, UTC) if incident is not None else start
    return Alert(
        key=f"{rule.name}/{series}/{start.strftime('%Y-%m-%dT%H:%MZ')}/{kind}",
        rule=rule.name,
        kind=kind,
        threshold=None,
        severity=severity,
        repeat=0,
        notify=route(rule.notify, severity),
        status=status,
    )


def digest(rule: Anomaly, events: Sequence[AnomalyStatus], now: datetime, currency: str) -> Alert:
    """One alert for the events still open at a rule's first look, largest excess first. Its key
    names the events, so a retry after a crash says nothing new twice."""
    ordered = tuple(sorted(events, key=lambda e: (-(e.value - e.expected), e.source or "", e.line_item or "")))
    named = "|".join(f"{e.source}/{e.line_item}/{int(e.event_start.timestamp())}" for e in ordered)
    return Alert(
        key=f"{rule.name}/digest/{hashlib.sha256(named.encode()).hexdigest()[:16]}",
        rule=rule.name,
        kind="anomaly-digest",
        threshold=None,
        severity="warning",
        repeat=0,
        notify=route(rule.notify, "warning"),
        status=AnomalyDigest(rule.name, currency, now, ordered),
    )
