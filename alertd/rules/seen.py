"""What a series did before that makes a departure its normal (pure): the same moment of the
last two months (a monthly job), bursts of a mostly idle series, and an hourly series' heavy
tails and own schedules. The anomaly scan (`alertd.rules.anomaly`) asks these only at a
would-be alert."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alertd.rules.seasonal import MISSING
from alertd.rules.verdicts import ABS_NOISE_FLOOR

BURSTS = 3  # bursts of a mostly idle series seen this often are its normal
RECURRING_TOLERANCE = 1.5  # an excess within 1.5x of last month's at the same moment was seen before
# An hourly departure that one in a hundred of the baseline's judged buckets (at least three)
# already made, at least three quarters as far as a log ratio, is the series' heavy tail showing
# again, not news: tuned on NAB's artificial and AWS CloudWatch series only (benchmarks/anomaly.py).
SEEN_SHARE = 0.01
SEEN_LEAST = 3
SEEN_REACH = 0.75
# Two such departures as far apart as the last one is from now (within two buckets, as a monthly
# job's) are a schedule of the series' own: a job every ten days or every five hours, which
# neither the weekly seasonality nor the monthly recurrence knows. Closer than six buckets, they
# are one burst. Chosen on NAB's tuned-on series with each sample an hour (benchmarks/anomaly.py).
PERIOD_TOLERANCE = 2
PERIOD_LEAST = 6


def intermittent(recent: list[int], value: int) -> bool:
    """A mostly idle series (a cron job, a batch now and then) whose bursts of this size were seen
    at least `BURSTS` times in the baseline: another such burst is its normal."""
    return len(recent) >= BURSTS and typical(recent) == 0 and value <= recent[-BURSTS] * RECURRING_TOLERANCE


def typical(recent: Sequence[int]) -> int:
    """The median of the baseline's values (`recent`, sorted), 0 for none."""
    n = len(recent)
    return (recent[n // 2] + recent[(n - 1) // 2]) // 2 if n else 0


def seen(values: Sequence[int], expected: Sequence[int], t: int, baseline: int, relative: float) -> bool:
    """Whether the judged buckets of the baseline before bucket `t` departed from their
    expectation the same way as `relative` (a log ratio), at least `SEEN_REACH` as far, often
    (`SEEN_SHARE` of them, at least `SEEN_LEAST`) or on a schedule (two of them, i and an
    earlier one, about as far apart as t is from i). Only asked at a would-be alert, so its cost
    (one pass over the baseline) is paid rarely."""
    reach = relative * SEEN_REACH
    found: set[int] = set()
    judged = 0
    for i in range(max(0, t - baseline), t):
        usual = expected[i]
        if usual == MISSING:
            continue
        judged += 1
        before = math.log((max(values[i], 0) + ABS_NOISE_FLOOR) / (usual + ABS_NOISE_FLOOR))
        if (before >= reach) if relative > 0 else (before <= reach):
            found.add(i)
    if len(found) >= max(SEEN_LEAST, judged * SEEN_SHARE):
        return True
    return any(t - i >= PERIOD_LEAST and _spaced(found, i, t - i) for i in found)


def _spaced(found: set[int], i: int, period: int) -> bool:
    """Whether one of `found` is about `period` buckets before bucket i."""
    return any(i - period + d in found for d in range(-PERIOD_TOLERANCE, PERIOD_TOLERANCE + 1))


def recurring(values: list[int], expected: list[int], t: int, first: int, step: int, tz: ZoneInfo, excess: int) -> bool:
    """Did the same local day-of-month and hour of either of the last two months depart from its
    own expectation about as far, the same way (a monthly job seen before)?"""
    moment = datetime.fromtimestamp(first + t * step, UTC).astimezone(tz)
    for months in (1, 2):
        year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
        try:
            before = moment.replace(year=year, month=month + 1)
        except ValueError:  # the 31st of a shorter month
            continue
        # Look a few buckets either side: a monthly job does not start at the same minute.
        centre = (int(before.timestamp()) - first) // step
        for i in range(max(0, centre - 2), min(t, centre + 3)):
            past, usual = values[i], expected[i]
            if past == MISSING or usual == MISSING:
                continue
            # Scaled by the sign, a drop compares with a dip as deep as an excess with a peak.
            sign = 1 if excess > 0 else -1
            if sign * (past - usual) >= sign * excess / RECURRING_TOLERANCE:
                return True
    return False
