"""The local clock of a time zone as plain integers: UTC offsets per bucket, weekends (pure).

A scan asks for the offset of thousands of buckets; one `datetime.astimezone` each was most of
its time. A zone's offset changes a few times a year, so the changes are found once per zone and
stretch of time (cached: a pure function of its arguments) and every bucket is a lookup.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

HOUR = 3600
DAY = 86400
_CHUNK = 1 << 22  # seconds (~48.5 days) of offset changes found at once
_SAMPLE = 12 * HOUR  # no zone changes its offset twice within this


def offset_at(tz: ZoneInfo, ts: int) -> int:
    """UTC offset in seconds at unix time `ts` (exact at whole hours, which buckets start on)."""
    start, changes = _changes(tz, ts // _CHUNK)
    if not changes:
        return start
    i = bisect_right(changes, (ts, 1 << 62))
    return changes[i - 1][1] if i else start


def offsets(tz: ZoneInfo, first: int, n: int, step: int) -> list[int] | int:
    """The offset of each of `n` buckets from unix time `first`; one int when it never changes."""
    if n <= 0:
        return 0
    end = first + (n - 1) * step
    found = [offset_at(tz, first)]
    marks = []  # (first bucket index with the new offset, offset)
    for chunk in range(first // _CHUNK, end // _CHUNK + 1):
        for ts, offset in _changes(tz, chunk)[1]:
            if first < ts <= end and offset != found[-1]:
                marks.append((-(-(ts - first) // step), offset))
                found.append(offset)
    if not marks:
        return found[0]
    result = [found[0]] * n
    for index, offset in marks:
        result[index:] = [offset] * (n - index)
    return result


def weekend(ts: int, offset: int) -> bool:
    """Whether unix time `ts` falls on a local Saturday or Sunday (1970-01-01 was a Thursday)."""
    return ((ts + offset) // DAY + 3) % 7 >= 5


def _offset(tz: ZoneInfo, ts: int) -> int:
    offset = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


@lru_cache(maxsize=4096)
def _changes(tz: ZoneInfo, chunk: int) -> tuple[int, list[tuple[int, int]]]:
    """(offset at the chunk's start, [(first whole hour with a new offset, that offset)])."""
    begin = chunk * _CHUNK
    current = _offset(tz, begin)
    start, changes = current, []
    for ts in range(begin, begin + _CHUNK, _SAMPLE):
        after = _offset(tz, min(ts + _SAMPLE, begin + _CHUNK - 1))
        if after == current:
            continue
        low, high = ts // HOUR, (ts + _SAMPLE) // HOUR  # first hour with the new offset in (low, high]
        while high - low > 1:
            middle = (low + high) // 2
            if _offset(tz, middle * HOUR) == current:
                low = middle
            else:
                high = middle
        current = _offset(tz, high * HOUR)
        changes.append((high * HOUR, current))
    return start, changes
