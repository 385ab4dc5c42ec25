"""Through which instant a source's data is complete: a pure function of its fetches.

A bucket is complete once the provider will not add to it any more (a revision may still
restate it, and is then recorded as one). What a successful fetch establishes depends on how
the provider reports:

- Northflank: an hour's usage is listed within that hour (its simulator and the API page show
  the current hour growing), so a fetch at 10:20 makes the data complete through 10:00.
- Friendli: a UTC day's cost arrives during the next day, so a fetch on 3 December makes the
  data complete through the start of 2 December.
- CSV: the file is written by someone else, whenever they like; the data is complete through
  the end of the newest bucket in it (up to the time of the fetch).

A fetch never moves completeness back, and one that starts after the current instant (a gap
no fetch covered) leaves it where it is: only a fetch that reaches back to it carries it on.
"""

from __future__ import annotations

from dataclasses import dataclass

HOUR = 3600
DAY = 86400


@dataclass(frozen=True, slots=True)
class Reporting:
    """How a provider reports: a bucket is final `lag` seconds after it ends, buckets end at
    multiples of `step` (UTC), or (`from_data`) completeness is what the data itself reaches."""

    step: int = 1
    lag: int = 0
    from_data: bool = False


REPORTING = {
    "northflank": Reporting(step=HOUR),
    "friendli": Reporting(step=DAY, lag=DAY),
    "openai": Reporting(step=DAY, lag=DAY),  # daily UTC buckets, yesterday settles during today
    "anthropic": Reporting(step=DAY, lag=DAY),
    "csv": Reporting(from_data=True),
    "focus": Reporting(from_data=True),  # exports arrive a day or two late: the newest charge in them
}
DEFAULT = Reporting()  # complete through the end of the window fetched, up to the time of the fetch


def reporting_of(provider: str) -> Reporting:
    return REPORTING.get(provider, DEFAULT)


def established(reporting: Reporting, window_end: int | None, finished: float, newest_end: int | None) -> int | None:
    """What one successful fetch, finished at `finished`, of a window ending at `window_end`
    establishes; `newest_end` is where the newest stored bucket of the source ends (from_data)."""
    if reporting.from_data:
        return None if newest_end is None else min(newest_end, int(finished))
    through = (int(finished) - reporting.lag) // reporting.step * reporting.step
    return through if window_end is None else min(through, window_end)


def advanced(current: int | None, window_start: int | None, candidate: int | None) -> int | None:
    """Completeness after a fetch of a window from `window_start` (None: the whole source) that
    establishes `candidate`."""
    if candidate is None:
        return current
    if current is None:
        return candidate
    if window_start is not None and window_start > current:
        return current  # the hours between were never fetched
    return max(current, candidate)
