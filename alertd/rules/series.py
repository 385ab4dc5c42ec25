"""Cost rows → dense series, one per group of an anomaly rule (pure)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from alertd.config import Anomaly
from alertd.model import CostRecord, series_key

HOUR = 3600
DAY = 86400


@dataclass(frozen=True, slots=True)
class Series:
    source: str | None  # None where the rule groups sources together
    line_item: str | None  # None where the rule groups line items together
    start: int  # unix time of values[0]
    step: int  # 3600 or 86400
    values: list[int | None]  # micro-units; None where no data arrived for the bucket
    parts: dict[str, list[int]]  # per line item, for saying what drove a deviation

    @property
    def key(self) -> str:
        return series_key(self.source, self.line_item)


def selects(rule: Anomaly, record: CostRecord) -> bool:
    if rule.sources is not None and record.source not in rule.sources:
        return False
    return rule.line_items is None or any(fnmatchcase(record.line_item, p) for p in rule.line_items)


def build_series(rule: Anomaly, records: Sequence[CostRecord], since: int, until: int) -> list[Series]:
    """One series per group (`by`), from `since` to the last bucket ending by `until`.

    A group with day-long buckets (Friendli) is a daily series; hourly buckets are summed to
    days when they share a group with daily ones. A bucket for which the group's sources
    reported other line items but not these is a zero; one they reported nothing for is a gap.
    """
    groups: dict[tuple[str | None, str | None], list[CostRecord]] = defaultdict(list)
    reported: dict[str, set[int]] = defaultdict(set)  # source → bucket starts it reported
    for r in records:
        reported[r.source].add(r.bucket_start)
        if selects(rule, r):
            source = r.source if rule.by in ("line_item", "source") else None
            item = r.line_item if rule.by == "line_item" else None
            groups[source, item].append(r)
    result = []
    for (source, item), rows in sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
        step = DAY if any(r.bucket_seconds >= DAY for r in rows) else HOUR
        first = since // step * step
        count = (until - first) // step
        if count <= 0:
            continue
        values: list[int | None] = [None] * count
        for start in set().union(*(reported[r] for r in {row.source for row in rows})):
            i = (start - first) // step
            if 0 <= i < count:
                values[i] = 0
        parts: dict[str, list[int]] = {}
        for r in rows:
            i = (r.bucket_start - first) // step
            if 0 <= i < count and r.bucket_start + r.bucket_seconds <= until:
                values[i] = (values[i] or 0) + r.amount
                parts.setdefault(r.line_item, [0] * count)[i] += r.amount
        result.append(Series(source, item, first, step, values, parts))
    return result
