"""Feedback: which later anomalous buckets an "expected" makes normal (plain tables of cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from alertd.alerts.feedback import Feedback, expects
from alertd.rules.verdicts import Point

H, D, M = 3600, 86400, 1_000_000
BERLIN = ZoneInfo("Europe/Berlin")
MARKED = int(datetime(2026, 3, 2, 2, tzinfo=UTC).timestamp())  # Monday 03:00 in Berlin, before DST


def note(until: int | None = None, verdict: str = "expected", step: int = H) -> Feedback:
    return Feedback(1, "spend", "feed/gpu", verdict, MARKED, step, 8 * M, 2 * M, until, None, 0)


def anomalous(value: float, expected: float = 2) -> Point:
    return Point(int(value * M), int(expected * M), 9.0, True, "spike")


@pytest.mark.parametrize(
    ("feedback", "at", "point", "normal"),
    [
        (note(), MARKED + 7 * D, anomalous(8), True),  # next week, same hour
        (note(), MARKED + 28 * D - H, anomalous(9), True),  # after DST: same local hour (02:00 UTC was 03:00)
        (note(), MARKED + 7 * D + 2 * H, anomalous(8), True),  # within two hours
        (note(), MARKED + 7 * D + 4 * H, anomalous(8), False),  # another time of the week
        (note(), MARKED + 7 * D, anomalous(12), False),  # half again bigger than the one marked: news
        (note(), MARKED + 7 * D, anomalous(0.1), False),  # a drop is not the excess marked
        (note(), MARKED + 31 * D, anomalous(8), True),  # April 2nd, same hour: the same time of month
        (note(), MARKED - 7 * D, anomalous(8), False),  # before the alert: already judged
        (note(verdict="unexpected"), MARKED + 7 * D, anomalous(8), False),
        # a planned change until a date: its level is normal at any hour until then, not after
        (note(until=MARKED + 10 * D), MARKED + 3 * D + 5 * H, anomalous(11, 7), True),
        (note(until=MARKED + 10 * D), MARKED + 3 * D, anomalous(13), False),
        (note(until=MARKED + 10 * D), MARKED + 11 * D, anomalous(8), False),
        # daily series: the same weekday, or within a day of the same day of the month
        (note(step=D), MARKED + 14 * D, anomalous(8), True),
        (note(step=D), MARKED + 15 * D, anomalous(8), False),
        (note(step=D), MARKED + 32 * D - H, anomalous(8), True),  # the next day of the month, local
    ],
)
def test_expected_covers_the_same_shape_at_the_same_time(
    feedback: Feedback, at: int, point: Point, normal: bool
) -> None:
    expected = expects([feedback], BERLIN)
    assert (expected is not None and expected(at, point)) is normal


def test_no_expected_feedback_means_nothing_to_ask() -> None:
    assert expects([], BERLIN) is None
    assert expects([note(verdict="unexpected")], BERLIN) is None
