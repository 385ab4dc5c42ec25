"""What a series did before that makes a departure its normal: plain tables of histories."""

from __future__ import annotations

import math

import pytest

from alertd.rules.seen import seen

BASELINE = 672  # four weeks of hours
T = 1000  # the bucket judged
FOUR = math.log(4)


def history(departures: dict[int, int], level: int = 1_000_000) -> tuple[list[int], list[int]]:
    """A flat series whose buckets `T - k` are worth `departures[k]` times the level / 4."""
    values = [level] * T
    for back, quarters in departures.items():
        values[T - back] = level * quarters // 4
    return values, [level] * T


@pytest.mark.parametrize(
    ("departures", "relative", "expected"),
    [
        ({}, FOUR, False),
        ({240: 16}, FOUR, False),  # once is not a schedule
        ({240: 16, 480: 16}, FOUR, True),  # every ten days
        ({240: 16, 482: 16}, FOUR, True),  # two hours late
        ({240: 16, 478: 16}, FOUR, True),  # two hours early
        ({240: 16, 483: 16}, FOUR, False),  # three hours off: not the same schedule
        ({6: 16, 12: 16}, FOUR, True),  # every six hours
        ({3: 16, 6: 16}, FOUR, False),  # three hours apart: one burst
        ({240: 8, 480: 8}, FOUR, False),  # x2 before is not as far as x4 now
        ({240: 13, 480: 13}, FOUR, True),  # x3.25 is three quarters as far (as a log ratio)
        ({240: 16, 480: 16}, -FOUR, False),  # a drop is not what the spikes were
        ({240: 1, 480: 1}, -FOUR, True),  # a drop on schedule
        ({240: 16, 400: 16}, FOUR, False),  # two runs, but not at now's spacing
        ({400: 16, 800: 16}, FOUR, False),  # the run before last is out of the baseline
        ({k: 16 for k in (50, 130, 200)}, FOUR, False),  # three, irregular: under 1 % of the baseline
        ({k: 16 for k in (7, 90, 230, 301, 420, 515, 640)}, FOUR, True),  # seven, irregular: its heavy tail
    ],
)
def test_seen(departures: dict[int, int], relative: float, expected: bool) -> None:
    values, usual = history(departures)
    assert seen(values, usual, T, BASELINE, relative) is expected
