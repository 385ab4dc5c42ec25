"""What people said about an anomaly alert, and what "expected" makes normal from then on.

"expected" without an end: the same shape at the same time of week or of month is the series'
normal — an excess (or a drop) at most `TOLERANCE` times the one marked, within `NEAR` of the
same local hour of the week, or of the same local day and hour of the month. "expected" until a
date: a planned change (a new GPU cluster) — spend up to `TOLERANCE` times the level marked is
the series' normal until then. "unexpected" is kept, and changes nothing: the alert was right.

Feedback only quiets what the scan calls anomalous; the scan itself (its baseline, its noise) is
untouched, so the detector's state does not depend on who said what when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from alertd.model import local_moment
from alertd.rules.series import DAY, HOUR
from alertd.rules.verdicts import Point

VERDICTS = ("expected", "unexpected")
TOLERANCE = Fraction(3, 2)  # a shape marked expected covers repeats up to half again as large (exact: money)
NEAR = 2 * HOUR  # ... starting this close to the same local time (a daily series: the same day)
WEEK = 7 * DAY


@dataclass(frozen=True, slots=True)
class Feedback:
    """One person's word on one alerted bucket of one series."""

    alert_id: int
    rule: str
    series: str
    verdict: str  # expected, unexpected
    bucket: int  # the bucket alerted on (unix time)
    step: int
    value: int  # micro-units
    expected: int
    until: int | None  # a planned change: its level is normal until then
    note: str | None
    created: int


def planned_until(text: str | None, verdict: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The end of a planned change as written (`local_moment`), None if none is; ValueError in
    plain words when it cannot end one."""
    if not text:
        return None
    until = local_moment(text, tz)
    if verdict != "expected":
        raise ValueError("an end date is for a planned change: it goes with expected")
    if until <= now:
        raise ValueError("the end date is in the past: the change it describes is over")
    return until


def effect(verdict: str, until: datetime | None, tz: ZoneInfo) -> str:
    """What recording `verdict` does, in the words the CLI and the dashboard say it."""
    if verdict == "unexpected":
        return "kept as a real anomaly"
    if until is not None:
        return f"spend up to this level is normal until {until.astimezone(tz).isoformat(timespec='minutes')}"
    return "the same excess at the same time of week or month no longer alerts"


Expects = Callable[[int, Point], bool]  # (bucket start, its point) → whether feedback makes it normal


def expects(notes: Sequence[Feedback], tz: ZoneInfo) -> Expects | None:
    """Whether an anomalous bucket of a series is what its `notes` said to expect; None if none do."""
    chosen = [n for n in notes if n.verdict == "expected"]
    if not chosen:
        return None

    def expected(start: int, point: Point) -> bool:
        return any(_covers(n, start, point, tz) for n in chosen)

    return expected


def _covers(note: Feedback, start: int, point: Point, tz: ZoneInfo) -> bool:
    value, usual = point.value, point.expected
    if value is None or usual is None or start <= note.bucket:
        return False
    up = note.value >= note.expected
    if (value >= usual) != up:
        return False
    if note.until is not None:
        if start >= note.until:
            return False
        return value <= note.value * TOLERANCE if up else value * TOLERANCE >= note.value
    if abs(value - usual) > abs(note.value - note.expected) * TOLERANCE:
        return False
    return _same_time(note.bucket, start, note.step, tz)


def _same_time(marked: int, start: int, step: int, tz: ZoneInfo) -> bool:
    """Whether `start` is near the same local time of the week, or of the month, as `marked`
    (local wall-clock time: a weekly job keeps its local hour across a DST change)."""
    then, now = _local(marked, tz), _local(start, tz)
    week = (_seconds_into(now, now.weekday()) - _seconds_into(then, then.weekday())) % WEEK
    month = abs(_seconds_into(now, now.day - 1) - _seconds_into(then, then.day - 1))
    daily = step >= DAY
    return min(week, WEEK - week) <= (0 if daily else NEAR) or month <= (DAY if daily else NEAR)


def _seconds_into(moment: datetime, days: int) -> int:
    return days * DAY + moment.hour * HOUR + moment.minute * 60 + moment.second


def _local(unix: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(unix, UTC).astimezone(tz)
