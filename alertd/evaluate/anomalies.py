"""The anomaly pass of a cycle: only series with new or revised buckets are scanned, each from
its stored checkpoint, so a cycle costs what changed, not what is stored.

Per rule and series (see `alertd.store.scan_state`): a checkpoint of the scan `REWIND` buckets
behind the last judged bucket, and the alert lifecycle. A series is due when a bucket after the
last judged one has completed, or when its sources changed at or before it. A change at or after
the checkpoint resumes from there; an older one rescans from the series' origin (the first bucket
read when it was first seen: a deep revision is rare and costs one cold read). A rule whose
definition or zone changed starts fresh. A series seen for the first time is judged silently:
its events still open are said in one message per rule (one alert, or a digest of many).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import chain

from alertd import lifecycle
from alertd.alerts.anomaly import alert_of, digest, drivers, fingerprint, judge, params_of, status_of
from alertd.config import Anomaly, Config
from alertd.model import Alert, AnomalyStatus, Contributor, SeriesState, series_key
from alertd.rules.anomaly import ScanState, fresh, history_needed, resume, shape_for
from alertd.rules.series import DAY, HOUR, dense, group_of, selects_item, sources_of, step_of
from alertd.rules.verdicts import Verdicts
from alertd.store import Store

REWIND = {HOUR: 6, DAY: 3}  # buckets a checkpoint trails the last judged one: late revisions land after it
_Reported = dict[tuple[str, int, int], list[tuple[int, int]]]  # (source, since, until) → its reported buckets
STEP_PROBE = int(history_needed(None, DAY).total_seconds())  # how far back a new source's bucket length is read


@dataclass(frozen=True, slots=True)
class _Job:
    """One series to scan in this evaluation, from `state.start` to the last complete bucket."""

    key: str
    source: str | None
    line_item: str | None
    sources: list[str]
    origin: int
    state: ScanState
    first_sight: bool


@dataclass(frozen=True, slots=True)
class _Scanned:
    job: _Job
    points: Verdicts  # from job.state.start
    checkpoint: ScanState


def evaluate_anomalies(
    config: Config,
    store: Store,
    changed: Mapping[str, tuple[int, int]],
    now: datetime,
    enqueue: Callable[[Alert], None],
) -> None:
    """Evaluate every anomaly rule on what `changed` (per source: first bucket start, last bucket
    end of rows new or revised since the last evaluation) and the clock make due."""
    until = int(now.timestamp())
    steps: dict[str, int | None] = {}
    reported: _Reported = {}
    for rule in config.anomalies:
        lifecycle.beat()
        _evaluate_rule(config, store, rule, changed, now, until, enqueue, steps, reported)


def _evaluate_rule(
    config: Config,
    store: Store,
    rule: Anomaly,
    changed: Mapping[str, tuple[int, int]],
    now: datetime,
    until: int,
    enqueue: Callable[[Alert], None],
    steps: dict[str, int | None],
    reported: _Reported,
) -> None:
    scans = store.scan_states
    mark = fingerprint(rule, config.tz)
    heads = scans.heads(rule.name)
    if heads and any(h.fingerprint != mark for h in heads.values()):
        scans.forget(rule.name)
        heads = {}
    states = scans.lifecycle(rule.name) if heads else {}
    names = _sources(config, rule)
    due = []
    for key, head in heads.items():
        state = states.get(key, SeriesState())
        following = head.start if state.last_bucket is None else state.last_bucket + head.step
        touched = [changed[s][0] for s in sources_of(key, names) if s in changed and changed[s][1] > head.origin]
        revised = min(touched, default=None)
        if following + head.step <= until or (revised is not None and revised < following):
            due.append((key, head, revised))
    loaded = scans.load(rule.name, [key for key, _, _ in due]) if due else {}
    jobs = [
        _Job(
            key,
            *_named(key),
            sources_of(key, names),
            head.origin,
            loaded[key] if revised is None or revised >= head.start else fresh(head.origin, head.step),
            first_sight=False,
        )
        for key, head, revised in due
    ]
    # New series: anywhere in the history on a first look, else where rows changed.
    looking = {s: until - STEP_PROBE for s in names} if not heads else {s: changed[s][0] for s in names if s in changed}
    for key, head in heads.items():
        steps.setdefault(key.split("/", 1)[0], head.step)
    jobs += _new_jobs(store, rule, looking, names, set(heads), until, steps, lambda step: until - _history(rule, step))
    if not jobs:
        return
    alerts: list[Alert] = []
    ongoing: list[tuple[_Scanned, int, int]] = []  # (series, its last anomalous bucket, event start)
    judged: dict[str, SeriesState] = {}
    checkpoints: dict[str, tuple[int, ScanState]] = {}
    for done in _scan(store, rule, jobs, until, config, reported):
        job, step = done.job, done.checkpoint.step
        state, actions, last_anomalous = judge(
            done.points, job.state.start, step, states.get(job.key, SeriesState()), rule.cooldown
        )
        if job.first_sight and state.open_since is not None and last_anomalous is not None:
            ongoing.append((done, last_anomalous, state.open_since))
            state = replace(state, alerted=True, last_alert=until)  # told now, in one message
        elif not job.first_sight:
            for i, action in actions:
                if action.kind == "fire" or rule.send_resolved:
                    alerts.append(_alert(store, rule, done, i, action.event_start, action.kind == "resolve", config))
        judged[job.key] = state
        checkpoints[job.key] = (job.origin, done.checkpoint)
    if len(ongoing) == 1:
        done, i, since = ongoing[0]
        alerts.append(_alert(store, rule, done, i, since, False, config))
    elif ongoing:
        events = [_status(rule, done, i, since, False, config) for done, i, since in ongoing]
        alerts.append(digest(rule, events, now, config.currency))
    for alert in alerts:  # before the states: a crash in between repeats nothing (the outbox dedupes by key)
        enqueue(alert)
    scans.save(rule.name, mark, checkpoints, judged)


def _history(rule: Anomaly, step: int) -> int:
    return int(history_needed(rule.baseline, step).total_seconds())


def _sources(config: Config, rule: Anomaly) -> list[str]:
    return list(rule.sources) if rule.sources is not None else [s.name for s in config.sources]


def _named(key: str) -> tuple[str | None, str | None]:
    source, item = key.split("/", 1)
    return (None if source == "*" else source), (None if item == "*" else item)


def _new_jobs(
    store: Store,
    rule: Anomaly,
    looking: Mapping[str, int],
    names: list[str],
    known: set[str],
    until: int,
    steps: dict[str, int | None],
    since_of: Callable[[int], int],
) -> list[_Job]:
    """Series of `rule` not among `known` with data in a source of `looking` after the time it
    maps to; each to be scanned from `since_of(step)`. `steps`: bucket lengths known so far."""
    scans = store.scan_states
    found: dict[str, list[str]] = {}  # key → its sources
    stepped: dict[str, int] = {}
    for source, after in looking.items():
        if steps.get(source) is None:
            steps[source] = step_of([scans.step(source, after, until)])
        step = steps[source]
        if step is None:
            continue
        items = [i for i in store.sums.line_items(source, max(after, since_of(step)), until) if selects_item(rule, i)]
        for item in items if rule.by == "line_item" else items[:1]:
            key = series_key(*group_of(rule, source, item))
            if key not in known:
                found.setdefault(key, []).append(source)
                stepped[key] = max(stepped.get(key, step), step)
    jobs = []
    for key, sources in found.items():
        step = stepped[key]
        origin = since_of(step) // step * step
        source, item = _named(key)
        jobs.append(_Job(key, source, item, names if source is None else sources, origin, fresh(origin, step), True))
    return jobs


def _scan(
    store: Store, rule: Anomaly, jobs: list[_Job], until: int, config: Config, known: _Reported
) -> Iterator[_Scanned]:
    """Each job's series read (one query per source, summed in SQL unless per line item) and
    scanned up to its last complete bucket, with a checkpoint `REWIND` buckets before the end."""
    scans = store.scan_states
    per_item = rule.by == "line_item"
    reported: dict[str, list[tuple[int, int]]] = {}
    rows: dict[str, list[tuple[int, int, int]]] = {}
    for source in sorted({s for job in jobs for s in job.sources}):
        since = min(job.state.start for job in jobs if source in job.sources)
        if (source, since, until) not in known:  # the same for every rule reading that range
            known[source, since, until] = scans.reported(source, since, until)
        reported[source] = known[source, since, until]
        items = None
        if rule.line_items is not None:
            items = [i for i in store.sums.line_items(source, since, until) if selects_item(rule, i)]
        series: dict[str | None, list[tuple[int, int, int]]] = {}  # line item → its series' rows
        for item, start, seconds, amount in scans.buckets(source, since, until, items, per_item):
            found = series.get(item)
            if found is None:
                found = series[item] = rows.setdefault(series_key(*group_of(rule, source, item)), [])
            found.append((start, seconds, amount))
    for job in jobs:
        state = job.state
        step = state.step
        count = (until - state.start) // step
        if count <= 0:
            continue
        seen = chain.from_iterable(reported.get(s, ()) for s in job.sources)
        values = dense(state.start, count, step, until, seen, rows.get(job.key, ()))
        params = params_of(rule, step)
        cut = max(0, count - REWIND[step])
        points, checkpoint = resume(state, values[:cut], config.tz, params)
        later, _ = resume(checkpoint, values[cut:], config.tz, params)
        yield _Scanned(job, points + later, checkpoint)


def _status(rule: Anomaly, done: _Scanned, i: int, event_start: int, resolved: bool, config: Config) -> AnomalyStatus:
    job, step = done.job, done.checkpoint.step
    start = job.state.start + i * step
    point = done.points[i]
    return status_of(
        rule, job.source, job.line_item, start, step, point, event_start, resolved, config.tz, config.currency
    )


def _alert(
    store: Store, rule: Anomaly, done: _Scanned, i: int, event_start: int, resolved: bool, config: Config
) -> Alert:
    status = _status(rule, done, i, event_start, resolved, config)
    if not resolved:
        status = replace(status, drivers=_drivers(store, rule, done, i, config))
    return alert_of(rule, status)


def _drivers(store: Store, rule: Anomaly, done: _Scanned, i: int, config: Config) -> tuple[Contributor, ...]:
    """The line items behind a deviation: each line item's own seasonal expectation, from the
    weeks before the bucket (read only for an alert)."""
    job, step = done.job, done.checkpoint.step
    shape = shape_for(step)
    bucket = job.state.start + i * step
    first = bucket - (shape.weeks * shape.week + 2) * step
    count = (bucket - first) // step + 1
    parts: dict[str, list[tuple[int, int, int]]] = {}
    items = None if job.line_item is None else [job.line_item]
    for source in job.sources:
        for item, start, seconds, amount in store.scan_states.buckets(source, first, bucket + step, items, True):
            if selects_item(rule, item) and (job.line_item is None or item == job.line_item):
                parts.setdefault(item, []).append((start, seconds, amount))
    dense_parts = {
        item: [v or 0 for v in dense(first, count, step, bucket + step, (), found)] for item, found in parts.items()
    }
    return drivers(dense_parts, first, count - 1, step, config.tz, job.source)


def replay_anomalies(config: Config, store: Store, rule: Anomaly, since: datetime, until: datetime) -> list[Alert]:
    """The alerts `rule` would have sent between `since` and `until`, each bucket seen at its end
    (as the daemon sees data that arrives complete); reads only."""
    begin, end = int(since.timestamp()), int(until.timestamp())
    names = _sources(config, rule)
    looking = {s: begin - STEP_PROBE for s in names}
    jobs = _new_jobs(store, rule, looking, names, set(), end, {}, lambda step: begin - _history(rule, step))
    alerts = []
    for done in _scan(store, rule, jobs, end, config, {}):
        step = done.checkpoint.step
        _, actions, _ = judge(done.points, done.job.state.start, step, SeriesState(), rule.cooldown)
        for i, action in actions:
            loud = done.job.state.start + (i + 1) * step >= begin
            if loud and (action.kind == "fire" or rule.send_resolved):
                alerts.append(_alert(store, rule, done, i, action.event_start, action.kind == "resolve", config))
    return alerts
