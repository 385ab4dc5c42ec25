"""Stored buckets → the dense series of an anomaly rule, one per group (pure).

A group with day-long buckets (Friendli) is a daily series; hourly buckets are summed to days
when they share a group with daily ones. A bucket for which the group's sources reported other
line items but not these is a zero; one they reported nothing for is a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase

from alertd.config import Anomaly, Config

HOUR = 3600
DAY = 86400


def selects_item(rule: Anomaly, line_item: str) -> bool:
    return rule.line_items is None or any(fnmatchcase(line_item, p) for p in rule.line_items)


def group_of(rule: Anomaly, source: str, line_item: str | None) -> tuple[str | None, str | None]:
    """(source, line item) of the series a bucket of `source` / `line_item` counts in."""
    return (source if rule.by in ("line_item", "source") else None, line_item if rule.by == "line_item" else None)


def watched(config: Config, rule: Anomaly) -> list[str]:
    """The sources `rule` looks at: its own list, or every configured one."""
    return list(rule.sources) if rule.sources is not None else [s.name for s in config.sources]


def sources_of(key: str, sources: Sequence[str]) -> list[str]:
    """The sources a series (by its key) sums: its own, or all of the rule's (`*`)."""
    source = key.split("/", 1)[0]
    return list(sources) if source == "*" else [source]


def step_of(bucket_seconds: Iterable[int | None]) -> int | None:
    """The series' step from the bucket lengths of its sources (None: none reported)."""
    known = [s for s in bucket_seconds if s is not None]
    return None if not known else DAY if max(known) >= DAY else HOUR


def dense(
    first: int,
    count: int,
    step: int,
    until: int,
    reported: Iterable[tuple[int, int]],
    rows: Iterable[tuple[int, int, int]],
    missing: int | None = None,
) -> list[int | None]:
    """`count` buckets of `step` from `first`: the sum of `rows` (start, seconds, amount) that ended
    by `until`, 0 where the sources `reported` (start, seconds) something else, else `missing`."""
    values: list[int | None] = [missing] * count
    for start, _ in reported:
        i = (start - first) // step
        if 0 <= i < count:
            values[i] = 0
    for start, seconds, amount in rows:
        i = (start - first) // step
        if 0 <= i < count and start + seconds <= until:
            values[i] = (values[i] or 0) + amount
    return values
