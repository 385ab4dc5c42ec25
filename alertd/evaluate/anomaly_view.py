"""One anomaly series as a page shows it: its buckets over the rule's baseline window, each with
the expected value and usual range a scan of the stored data gives, and which were anomalous.

The scan is made afresh from the history the first shown bucket needs (the rule's baseline and
two months), with the rule's own parameters: the same pure scan the daemon resumes cycle by cycle,
so the band is the one its alerts were judged against, up to the CUSUM's memory of older buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alertd.alerts.anomaly import params_of
from alertd.config import Anomaly, Config
from alertd.evaluate.anomalies import STEP_PROBE
from alertd.evaluate.anomaly_reads import Reads
from alertd.model import series_named
from alertd.rules.anomaly import history_needed, scan, shape_for
from alertd.rules.series import selects_item, sources_of, step_of, watched
from alertd.rules.verdicts import Point
from alertd.store import Store


@dataclass(frozen=True, slots=True)
class SeriesView:
    first: int  # unix time of the first bucket shown
    step: int  # seconds per bucket
    points: list[Point]  # one per bucket, oldest first


def series_view(config: Config, store: Store, rule: Anomaly, key: str, now: datetime) -> SeriesView | None:
    """The series `key` (`SOURCE/LINE_ITEM`, `*` where grouped) of `rule` up to the last complete
    bucket before `now`; None when none of its sources has data."""
    until = int(now.timestamp())
    _, item = series_named(key)
    sources = sources_of(key, watched(config, rule))
    step = step_of([store.scan_states.step(s, until - STEP_PROBE, until) for s in sources])
    if step is None:
        return None
    shown = int((rule.baseline or shape_for(step).baseline).total_seconds()) // step
    end = until // step * step
    first = end - shown * step
    origin = (first - int(history_needed(rule.baseline, step).total_seconds())) // step * step
    reads = Reads(store, until)
    for s in sources:
        reads.want(s, step, origin, None if item is None else [item])
    reads.load()
    selected = [
        (s, [i for i in reads.grid(s, step).items if (i == item if item is not None else selects_item(rule, i))])
        for s in sources
    ]
    values = reads.series(selected, origin, (end - origin) // step, step, item is not None)
    verdicts = scan(values, origin, step, config.tz, params_of(rule, step))
    return SeriesView(first, step, verdicts[(first - origin) // step :])
