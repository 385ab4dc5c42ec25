"""An anomaly series' chart (pure): its buckets as a line (broken where a source reported
nothing), the expected value dashed inside its usual range, the anomalous buckets in red and
the buckets alerts were sent for ringed."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from alertd.charts.scene import Chart, Mark, Scale, legend, money_axis, nice, time_labels
from alertd.money import decimal_string, format_money
from alertd.rules.verdicts import Point

DAY = 86400


def series_chart(
    name: str,
    first: int,
    step: int,
    points: Sequence[Point],
    currency: str,
    tz: ZoneInfo,
    alerted: Collection[int] = (),
) -> Chart:
    """The `points` of buckets of `step` seconds from unix time `first`; `alerted`: bucket starts
    an alert was sent for."""
    values = [p.value for p in points if p.value is not None]
    expected = [p.expected for p in points if p.expected is not None]
    # Scaled to the spend and what was expected of it; a wide usual range is cut at the top.
    scale = Scale(max(len(points), 1), nice(max([*values, *expected, 1]) * 13 // 10), min([0, *values]))
    marks = [
        *money_axis(scale, lambda v: format_money(v, currency)),
        *time_labels(scale, _ticks(first, step, len(points), tz)),
    ]

    def x(i: int) -> float:
        return scale.x(i + 0.5)  # a bucket at its middle

    def when(i: int) -> str:
        return datetime.fromtimestamp(first + i * step, tz).isoformat(timespec="minutes")

    judged = [i for i, p in enumerate(points) if p.expected is not None]
    for run in _runs(judged):  # the usual range, where there is one: a band per stretch
        upper = [(x(i), scale.y(min(points[i].high, scale.top))) for i in run]
        lower = [(x(i), scale.y(max(points[i].low, scale.bottom))) for i in reversed(run)]
        marks.append(Mark("polygon", "band", (*upper, *lower)))
        line = tuple((x(i), scale.y(points[i].expected or 0)) for i in run)
        marks.append(Mark("polyline", "expected", line))
    for run in _runs([i for i, p in enumerate(points) if p.value is not None]):
        line = tuple((x(i), scale.y(points[i].value or 0)) for i in run)
        marks.append(Mark("polyline", "series", line) if len(line) > 1 else Mark("circle", "day", line, radius=2))
    for i, p in enumerate(points):
        bucket = first + i * step
        if p.value is None or not (p.anomalous or bucket in alerted):
            continue
        said = f"{when(i)}: {format_money(p.value, currency)}"
        if p.expected is not None:
            said += f", expected {format_money(p.expected, currency)} ({format_money(p.low, currency)} to"
            said += f" {format_money(p.high, currency)})"
        said += f"; {p.reason}" if p.reason else ""
        data = [("bucket", when(i)), ("value", decimal_string(p.value))]
        if p.expected is not None:
            data += [("expected", decimal_string(p.expected))]
        if p.anomalous:
            marks.append(
                Mark("circle", "flagged", ((x(i), scale.y(p.value)),), radius=3.5, title=said, data=tuple(data))
            )
        if bucket in alerted:
            ring = ((x(i), scale.y(p.value)),)
            marks.append(
                Mark("circle", "alerted", ring, radius=7, title="alert sent: " + said, data=(("bucket", when(i)),))
            )
    marks += legend([("series", "spend"), ("expected", "expected"), ("band", "usual range"), ("flagged", "anomalous")])
    flagged = sum(p.anomalous for p in points)
    per = "hour" if step < DAY else "day"
    words = f"{name}: spend per {per} over {len(points)} {per}s; {flagged} anomalous"
    if values:
        words += f"; the latest {format_money(values[-1], currency)}"
    return Chart("anomaly", (640, 260), words, tuple(marks))


def _runs(indices: list[int]) -> list[list[int]]:
    """Consecutive stretches of `indices` (sorted)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _ticks(start: int, step: int, count: int, tz: ZoneInfo) -> list[tuple[float, str]]:
    """A label at about seven local midnights (dates) across the `count` buckets shown."""
    span = count * step
    first = datetime.fromtimestamp(start, tz).date() + timedelta(days=1)
    every = max(1, span // DAY // 7)
    ticks = []
    for k in range(0, span // DAY + 1, every):
        midnight = datetime.combine(first + timedelta(days=k), time(), tz).timestamp()
        if midnight - start < span:
            ticks.append(((midnight - start) / step, f"{first + timedelta(days=k):%b %d}"))
    return ticks
