"""What one anomaly evaluation tells: its events gathered into one message per incident (see
`alerts.incidents`), each firing one naming the line items that drove it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import chain

from alertd.alerts.anomaly import Action, alert_of, drivers, status_of
from alertd.alerts.incidents import Event, Message, gather
from alertd.config import Anomaly, Config
from alertd.evaluate.anomaly_jobs import Job, Judged, Lookups, Said, wanted
from alertd.evaluate.anomaly_reads import Reads
from alertd.model import Alert, AnomalyStatus, Contributor, SeriesState, series_named
from alertd.rules.anomaly import shape_for
from alertd.rules.series import selects_item
from alertd.rules.verdicts import Point
from alertd.store import Store


def incidents(
    rule: Anomaly, said: list[Said], before: Mapping[str, SeriesState], after: Mapping[str, SeriesState]
) -> tuple[list[Message[Said]], dict[str, SeriesState]]:
    """What `said` makes as messages, one per incident, and the states to keep."""
    by_item = rule.by == "line_item"

    def group(key: str) -> str:
        source, _ = series_named(key)
        return source if by_item and source is not None else key

    events = [
        Event(
            done.job.key,
            action.event_start,
            done.job.state.start + i * done.job.state.step,
            done.job.state.step,
            action.kind == "resolve",
            action.excess,
        )
        for done, i, _, action in said
    ]
    messages, kept = gather(events, before, after, group, rule.send_resolved)
    told = [replace(m, events=[said[n] for n in m.events]) for m in messages]
    return told, kept


def status_at(done: Judged, i: int, point: Point, action: Action, config: Config) -> AnomalyStatus:
    job, step = done.job, done.checkpoint.step
    start = job.state.start + i * step
    resolved = action.kind == "resolve"
    return status_of(
        job.rule,
        job.source,
        job.line_item,
        start,
        step,
        point,
        action.event_start,
        resolved,
        config.tz,
        config.currency,
        excess=action.excess,
    )


def to_alerts(
    config: Config, store: Store, said: Sequence[list[Message[Said]]], until: int, reads: Reads, lookups: Lookups
) -> list[list[Alert]]:
    """The alerts of each list of messages; a firing one names its drivers, from the weeks before
    its bucket: from `reads` where they hold those weeks, else read for all such alerts at once.
    An incident's message leads with its largest deviation (a resolved one: its last event) and
    lists the others."""
    more = Reads(store, until)
    for message in chain.from_iterable(said):
        for done, i, _, _ in message.events if not message.resolved else ():
            first, _ = _window(done, i)
            if not _holds(reads, done.job, first):
                for source, items in wanted(store, done.job, first, until, lookups):
                    more.want(source, done.job.state.step, first, items)
    more.load()
    alerts = []
    for group in said:
        alerts.append([])
        for message in group:
            statuses = []
            for done, i, point, action in message.events:
                status = status_at(done, i, point, action, config)
                if not message.resolved:
                    first, bucket = _window(done, i)
                    held = reads if _holds(reads, done.job, first) else more
                    status = replace(status, drivers=_drivers(done.job, first, bucket, held, config))
                statuses.append(status)
            if message.resolved:
                lead, *others = reversed(statuses)
                lead = replace(lead, excess=message.total)
            else:
                lead, *others = sorted(statuses, key=lambda st: -abs(st.deviation))
            rule = message.events[0][0].job.rule
            items = max(message.items, len(statuses))
            alerts[-1].append(alert_of(rule, replace(lead, also=tuple(others), items=items), message.incident))
    return alerts


def _window(done: Judged, i: int) -> tuple[int, int]:
    """The first and last bucket a deviation's drivers are judged on."""
    step = done.job.state.step
    bucket = done.job.state.start + i * step
    return bucket - (shape_for(step).weeks * shape_for(step).week + 2) * step, bucket


def _holds(reads: Reads, job: Job, first: int) -> bool:
    return all(reads.grid(s, job.state.step).covers(first, job.state.step) for s in job.sources)


def _drivers(job: Job, first: int, bucket: int, reads: Reads, config: Config) -> tuple[Contributor, ...]:
    """The line items behind a deviation at `bucket`: each line item's own seasonal expectation,
    from the buckets [first, bucket]."""
    rule, item, step = job.rule, job.line_item, job.state.step
    count = (bucket - first) // step + 1
    wanted = (lambda i: i == item) if item is not None else (lambda i: selects_item(rule, i))
    parts = reads.parts(job.sources, wanted, item, first, count, step)
    return drivers(parts, first, count - 1, step, config.tz, job.source)
