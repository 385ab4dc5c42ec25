"""The anomaly pass of a cycle: only series with new or revised buckets are scanned, each from
its stored checkpoint, so a cycle costs what changed, not what is stored.

Per rule and series (see `alertd.store.scan_state`): a checkpoint of the scan `REWIND` buckets
behind the last judged bucket, and the alert lifecycle. A series is due when a bucket after the
last judged one has completed, or when its sources changed at or before it. A change at or after
the checkpoint resumes from there; an older one rescans from the series' origin (the first bucket
read when it was first seen: a deep revision is rare and costs one cold read). A rule whose
definition or zone changed starts fresh. A series seen for the first time is judged silently:
its events still open are said in one message per rule (one alert, or a digest of many).

One evaluation plans every rule's series first, then reads each source once for all of them
(`alertd.evaluate.anomaly_reads`), and scans a series once for every rule that would scan the
same buckets from the same start with the same parameters (a source's total, say, in several
`by: source` rules).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from alertd import lifecycle
from alertd.alerts.anomaly import Action, digest, fingerprint, judge, params_of
from alertd.alerts.feedback import expects
from alertd.alerts.incidents import Message
from alertd.config import Anomaly, Config
from alertd.evaluate.anomaly_jobs import Job, Judged, Lookups, Said, wanted
from alertd.evaluate.anomaly_messages import incidents, status_at, to_alerts
from alertd.evaluate.anomaly_reads import Reads
from alertd.evaluate.scan_pool import Scan, Scanned, scan_all
from alertd.model import Alert, SeriesState, series_key, series_named
from alertd.rules.anomaly import ScanState, fresh, history_needed
from alertd.rules.series import DAY, HOUR, group_of, selects_item, sources_of, step_of, watched
from alertd.store import Store

REWIND = {HOUR: 6, DAY: 3}  # buckets a checkpoint trails the last judged one: late revisions land after it
STEP_PROBE = int(history_needed(None, DAY).total_seconds())  # how far back a new source's bucket length is read


@dataclass
class _Plan:
    rule: Anomaly
    mark: str  # its fingerprint
    jobs: list[Job] = field(default_factory=list)
    states: dict[str, SeriesState] = field(default_factory=dict)  # every series' lifecycle before


@dataclass
class _Told:
    said: list[Message[Said]] = field(default_factory=list)
    ongoing: list[Said] = field(default_factory=list)  # first sight: events still open
    states: dict[str, SeriesState] = field(default_factory=dict)
    checkpoints: dict[str, tuple[int, ScanState]] = field(default_factory=dict)


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
    lookups = Lookups()
    plans = []
    for rule in config.anomalies:
        lifecycle.beat()
        plan = _plan(config, store, rule, changed, until, lookups)
        if plan.jobs:
            plans.append(plan)
    reads = Reads(store, until)
    jobs = [job for plan in plans for job in plan.jobs]
    judged = _judge(config, store, jobs, until, store.completeness.all(), reads, lookups)
    told = [_told(plan, judged, until) for plan in plans]
    alerts = to_alerts(config, store, [t.said for t in told], until, reads, lookups)
    for plan, outcome, rule_alerts in zip(plans, told, alerts, strict=True):
        if len(outcome.ongoing) > 1:
            events = [status_at(*said, config) for said in outcome.ongoing]
            rule_alerts.append(digest(plan.rule, events, now, config.currency))
        for alert in rule_alerts:  # before the states: a crash in between repeats nothing (the outbox dedupes by key)
            enqueue(alert)
        if outcome.checkpoints:
            store.scan_states.save(plan.rule.name, plan.mark, outcome.checkpoints, outcome.states)


def _plan(
    config: Config, store: Store, rule: Anomaly, changed: Mapping[str, tuple[int, int]], until: int, lookups: Lookups
) -> _Plan:
    """The series of `rule` due in this evaluation, each with the state to scan it from."""
    scans = store.scan_states
    plan = _Plan(rule, fingerprint(rule, config.tz))
    heads = scans.heads(rule.name)
    if heads and any(h.fingerprint != plan.mark for h in heads.values()):
        scans.forget(rule.name)
        heads = {}
    states = plan.states = scans.lifecycle(rule.name) if heads else {}
    names = watched(config, rule)
    due = []
    for key, head in heads.items():
        state = states.get(key, SeriesState())
        following = head.start if state.last_bucket is None else state.last_bucket + head.step
        touched = [changed[s][0] for s in sources_of(key, names) if s in changed and changed[s][1] > head.origin]
        revised = min(touched, default=None)
        if following + head.step <= until or (revised is not None and revised < following):
            due.append((key, head, revised))
    loaded = scans.load(rule.name, [key for key, _, _ in due]) if due else {}
    plan.jobs = [
        Job(
            rule,
            key,
            *series_named(key),
            sources_of(key, names),
            head.origin,
            loaded[key] if revised is None or revised >= head.start else fresh(head.origin, head.step),
            False,
            states.get(key, SeriesState()),
        )
        for key, head, revised in due
    ]
    # New series: anywhere in the history on a first look, else where rows changed.
    looking = {s: until - STEP_PROBE for s in names} if not heads else {s: changed[s][0] for s in names if s in changed}
    for key, head in heads.items():
        lookups.steps.setdefault(key.split("/", 1)[0], head.step)
    plan.jobs += _new_jobs(store, rule, looking, names, set(heads), until, until, lookups)
    return plan


def _told(plan: _Plan, judged: Mapping[int, Judged], until: int) -> _Told:
    """What a rule says (on a first sight: what is still open, in one message) and keeps."""
    told = _Told()
    said: list[Said] = []
    for job in plan.jobs:
        done = judged.get(id(job))
        if done is None:  # no complete bucket to scan yet
            continue
        state = done.state
        if job.first_sight and state.open_since is not None and done.last_anomalous is not None:
            told.ongoing.append((done, *done.last_anomalous, Action("fire", state.open_since, state.excess)))
            state = replace(state, alerted=True, last_alert=until)  # told now, in one message
        elif not job.first_sight:
            said += [(done, i, point, action) for i, action, point in done.actions]
        told.states[job.key] = state
        told.checkpoints[job.key] = (job.origin, done.checkpoint)
    told.said, told.states = incidents(plan.rule, said, plan.states, told.states)
    if len(told.ongoing) == 1:
        said = told.ongoing[0]
        told.said.append(Message([said], said[3].event_start, False))
    return told


def _history(rule: Anomaly, step: int) -> int:
    return int(history_needed(rule.baseline, step).total_seconds())


def _new_jobs(
    store: Store,
    rule: Anomaly,
    looking: Mapping[str, int],
    names: list[str],
    known: set[str],
    begin: int,
    until: int,
    lookups: Lookups,
) -> list[Job]:
    """Series of `rule` not among `known` with data in a source of `looking` after the time it
    maps to; each to be scanned from the history it needs before `begin`."""
    steps = lookups.steps
    found: dict[str, list[str]] = {}  # key → its sources
    stepped: dict[str, int] = {}
    for source, after in looking.items():
        if steps.get(source) is None:
            steps[source] = step_of([store.scan_states.step(source, after, until)])
        step = steps[source]
        if step is None:
            continue
        listed = lookups.line_items(store, source, max(after, begin - _history(rule, step)), until)
        items = [i for i in listed if selects_item(rule, i)]
        for item in items if rule.by == "line_item" else items[:1]:
            key = series_key(*group_of(rule, source, item))
            if key not in known:
                found.setdefault(key, []).append(source)
                stepped[key] = max(stepped.get(key, step), step)
    jobs = []
    for key, sources in found.items():
        step = stepped[key]
        origin = (begin - _history(rule, step)) // step * step
        source, item = series_named(key)
        state = fresh(origin, step)
        jobs.append(
            Job(rule, key, source, item, names if source is None else sources, origin, state, True, SeriesState())
        )
    return jobs


def _judge(
    config: Config,
    store: Store,
    jobs: Sequence[Job],
    until: int,
    through: Mapping[str, int],
    reads: Reads,
    lookups: Lookups,
) -> dict[int, Judged]:
    """Every job scanned up to its last complete bucket (with a checkpoint `REWIND` buckets before
    the end; complete: ended by `until` and by where each of its sources' data is complete,
    `through`) and judged, by `id` of the job. Jobs from the same fresh state over the same buckets
    with the same parameters share one scan; a big pass scans on every core (`scan_pool`)."""
    for job in jobs:
        for source, items in wanted(store, job, job.state.start, until, lookups):
            reads.want(source, job.state.step, job.state.start, items)
    reads.load()
    shared: dict[object, list[Job]] = {}
    for job in jobs:
        step = job.state.step
        if (_end(job, until, through) - job.state.start) // step <= 0:
            continue
        params = params_of(job.rule, step)
        if job.state.values:  # resumed from a checkpoint: its own scan
            shared[id(job)] = [job]
        else:
            pairs = frozenset((source, item) for source, names in _selected(job, reads) for item in names)
            shared.setdefault((params, job.state.start, step, frozenset(job.sources), pairs), []).append(job)
    groups = list(shared.values())
    scans = []
    for group in groups:
        lifecycle.beat()
        scans.append(_scan(config, group[0], _end(group[0], until, through), reads))
    judged = {}

    notes = {rule.name: store.feedback.of_rule(rule.name) for rule in {id(j.rule): j.rule for j in jobs}.values()}

    def take(n: int, scanned: Scanned) -> None:
        points, checkpoint = scanned
        for job in groups[n]:
            expected = expects(notes[job.rule.name].get(job.key, ()), config.tz)
            state, actions, last = judge(
                points, job.state.start, job.state.step, job.lifecycle, job.rule.cooldown, expected
            )
            judged[id(job)] = Judged(
                job,
                state,
                [(i, action, points[i]) for i, action in actions],
                None if last is None else (last, points[last]),
                checkpoint,
            )

    scan_all(scans, take)
    return judged


def _end(job: Job, until: int, through: Mapping[str, int]) -> int:
    """Where `job`'s buckets may be judged to: `until`, and no further than the least complete of
    its sources. A bucket a lagging (or blind) source has not reported yet is not silence: judged
    as a gap now, the spend arriving later would never be judged (the lifecycle moves on)."""
    return min([until, *(through[s] for s in job.sources if s in through)])


def _selected(job: Job, reads: Reads) -> list[tuple[str, list[str]]]:
    """(source, its line items) that the series of `job` sums, of those read."""
    rule, step = job.rule, job.state.step
    found = []
    for source in job.sources:
        items = reads.grid(source, step).items
        if job.line_item is not None:
            found.append((source, [job.line_item] if job.line_item in items else []))
        else:
            found.append((source, [i for i in items if selects_item(rule, i)]))
    return found


def _scan(config: Config, job: Job, until: int, reads: Reads) -> Scan:
    """The scan of `job` from `job.state.start` to the last bucket ended by `until`, with the
    checkpoint `REWIND` buckets before the end."""
    state = job.state
    step = state.step
    count = (until - state.start) // step
    values = reads.series(_selected(job, reads), state.start, count, step, job.line_item is not None)
    return Scan(state, values, max(0, count - REWIND[step]), config.tz, params_of(job.rule, step))


def replay_anomalies(config: Config, store: Store, rule: Anomaly, since: datetime, until: datetime) -> list[Alert]:
    """The alerts `rule` would have sent between `since` and `until`, each bucket seen at its end
    (as the daemon sees data that arrives complete); reads only."""
    return replay_rules(config, store, [rule], since, until)


def replay_rules(
    config: Config, store: Store, rules: Sequence[Anomaly], since: datetime, until: datetime
) -> list[Alert]:
    """`replay_anomalies` of each rule in turn, reading each source and scanning each series once
    for all of them."""
    begin, end = int(since.timestamp()), int(until.timestamp())
    lookups = Lookups()
    jobs = []
    for rule in rules:
        names = watched(config, rule)
        looking = {s: begin - STEP_PROBE for s in names}
        jobs += _new_jobs(store, rule, looking, names, set(), begin, end, lookups)
    reads = Reads(store, end)
    judged = _judge(config, store, jobs, end, store.completeness.all(), reads, lookups)
    said: dict[str, list[Said]] = {rule.name: [] for rule in rules}
    for done in (judged[id(job)] for job in jobs if id(job) in judged):
        said[done.job.rule.name] += [(done, i, point, action) for i, action, point in done.actions]
    messages = []
    for rule in rules:
        told, _ = incidents(rule, said[rule.name], {}, {})
        messages += [m for m in told if _ended(m.events[-1]) >= begin]
    return to_alerts(config, store, [messages], end, reads, lookups)[0]


def _ended(said: Said) -> int:
    """When what the lifecycle said was decided: the end of its bucket."""
    done, i, _, _ = said
    return done.job.state.start + (i + 1) * done.job.state.step
