"""What one anomaly evaluation works on: the series it scans (`Job`), what their scans and
lifecycles said (`Judged`, `Said`), and the store lookups its rules share (`Lookups`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alertd.alerts.anomaly import Action
from alertd.config import Anomaly
from alertd.model import SeriesState
from alertd.rules.anomaly import ScanState
from alertd.rules.series import selects_item
from alertd.rules.verdicts import Point
from alertd.store import Store


@dataclass(frozen=True, slots=True)
class Job:
    """One series to scan in this evaluation, from `state.start` to the last complete bucket."""

    rule: Anomaly
    key: str
    source: str | None
    line_item: str | None
    sources: list[str]
    origin: int
    state: ScanState
    first_sight: bool
    lifecycle: SeriesState  # the series' alert lifecycle before this evaluation


@dataclass(frozen=True, slots=True)
class Judged:
    """What a job's scan and lifecycle said: the points of its actions and of its last anomalous
    bucket (by index from `job.state.start`), the new lifecycle state and the checkpoint."""

    job: Job
    state: SeriesState
    actions: list[tuple[int, Action, Point]]
    last_anomalous: tuple[int, Point] | None
    checkpoint: ScanState


Said = tuple[Judged, int, Point, Action]  # (series, bucket index, its point, what the lifecycle said)


@dataclass
class Lookups:
    """What rules of one evaluation ask the store alike: bucket lengths and line items per source."""

    steps: dict[str, int | None] = field(default_factory=dict)
    items: dict[tuple[str, int, int], list[str]] = field(default_factory=dict)

    def line_items(self, store: Store, source: str, since: int, until: int) -> list[str]:
        if (source, since, until) not in self.items:
            self.items[source, since, until] = store.sums.line_items(source, since, until)
        return self.items[source, since, until]


def wanted(store: Store, job: Job, since: int, until: int, lookups: Lookups) -> list[tuple[str, list[str] | None]]:
    """(source, line items or None for all) the series of `job` counts from `since`."""
    rule = job.rule
    if job.line_item is not None:
        return [(source, [job.line_item]) for source in job.sources]
    if rule.line_items is None:
        return [(source, None) for source in job.sources]
    return [(s, [i for i in lookups.line_items(store, s, since, until) if selects_item(rule, i)]) for s in job.sources]
