"""The range an hourly series has kept: its highest and lowest bucket of the last two months.

A z-score measures a bucket against the series' noise, and a noisy series (or one with little
history) has wide noise: real incidents hide in it, and lowering the threshold to find them
finds its tails too. Spend beyond anything the series did in two months, by a margin, is news
however noisy the series is, and is rare by construction: each one raises the bar for the next.
Tuned on NAB's artificial and AWS CloudWatch series and the synthetic corpus only
(benchmarks/anomaly.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from alertd.rules.clock import weekend
from alertd.rules.seasonal import MISSING

NONE_LOW = (1 << 63) - 1  # the trough of a window without data (no value is above it; an int64)
RANGE_LEAST = 48  # buckets with data before the range says anything
# The range is that of the two months before the last six hours (the lifecycle's quiet hours and
# cooldown): an incident's first hours do not widen the range they are judged by, so a step past
# it stays past it while its event opens (a drop is said at its second hour).
RANGE_LAG = 6
WEEK = 7 * 24  # buckets: before a week of data, a kind of day (weekday, weekend) must have been seen
REACH = 0.3  # past the peak by 30 % of its height above the typical bucket (the trough: of its depth)
MARGIN = 0.1  # and by a tenth of the typical bucket, so a flat series' wobble is no record


def extremes(values: Sequence[int], lo: int, hi: int) -> tuple[int, int, int, int]:
    """The peak of `values[lo:hi]` and where it is (its last occurrence: it stays longest), and the
    same for the trough; `MISSING` and `NONE_LOW` at `hi - 1` without data."""
    window = values[lo:hi]
    peak = max(window, default=MISSING)
    if peak == MISSING:
        return MISSING, hi - 1, NONE_LOW, hi - 1
    known = [v for v in window if v != MISSING] if MISSING in window else window
    trough = min(known)
    last = len(window) - 1
    return peak, lo + last - window[::-1].index(peak), trough, lo + last - window[::-1].index(trough)


class Sliding:
    """The extremes of a window sliding a bucket at a time, as `extremes` gives them, at a cost
    that does not grow with its length: queues of the indices that can still become its peak
    (values falling, front to back) and its trough (rising). Looking through the window again
    whenever its peak leaves would cost its length at each bucket of a steady decline (and a
    steady rise for the trough), which a storage line item growing by the hour is."""

    __slots__ = ("highs", "lows", "values")

    def __init__(self, values: Sequence[int], lo: int, hi: int) -> None:
        self.values = values
        self.highs: deque[int] = deque()
        self.lows: deque[int] = deque()
        for i in range(lo, hi):
            self._join(i)

    def _join(self, i: int) -> None:
        value, values, highs, lows = self.values[i], self.values, self.highs, self.lows
        if value == MISSING:
            return
        while highs and values[highs[-1]] <= value:  # `<=`: of equals, the last stays
            highs.pop()
        highs.append(i)
        while lows and values[lows[-1]] >= value:
            lows.pop()
        lows.append(i)

    def slide(self, lo: int, hi: int) -> tuple[int, int, int, int]:
        """The extremes of `values[lo:hi]`, the window having been `values[lo - 1:hi - 1]`."""
        if hi > 0:
            self._join(hi - 1)
        highs, lows = self.highs, self.lows
        while highs and highs[0] < lo:
            highs.popleft()
        while lows and lows[0] < lo:
            lows.popleft()
        if not highs:
            return MISSING, hi - 1, NONE_LOW, hi - 1
        return self.values[highs[0]], highs[0], self.values[lows[0]], lows[0]


def kind_seen(values: Sequence[int], t: int, first: int, step: int, offset: int) -> bool:
    """Whether the buckets before `t` (at most a week: it is a series' first) hold a day's worth
    with data on days of the same kind as t's, weekday or weekend: a first weekend is not a drop
    from the weekdays before it, nor a weekend batch a peak."""
    kind = weekend(first + t * step, offset)
    seen = sum(
        1 for i in range(max(0, t - WEEK), t) if values[i] != MISSING and weekend(first + i * step, offset) == kind
    )
    return seen * step >= 86400


def beyond(value: int, peak: int, trough: int, typical: int, direction: str) -> str:
    """ "peak" for spend past the range's peak by `REACH` of its height above `typical` and
    `MARGIN` of `typical`; "trough" for spend below a trough above zero by `REACH` of its depth
    and the same margin (a series that was idle at times has no trough to fall through); ""
    within the range."""
    margin = MARGIN * max(typical, 0)
    if direction != "down" and peak != MISSING and value > peak + REACH * (peak - typical) + margin:
        return "peak"
    under = trough - REACH * max(typical - trough, 0) - margin
    if direction != "up" and 0 < trough < NONE_LOW and value < under:
        return "trough"
    return ""
