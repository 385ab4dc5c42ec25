"""Anomalies in a cost series: a pure, causal scan of (values, start, step, tz, params).

Each bucket is compared with what its own past says it should be:

- expected = seasonal x level. The seasonal part is the median of the same local hour of the
  week over the last four weeks (the same weekday, for daily series), falling back to the same
  hour of recent days of the same kind (weekday or weekend) while history is short; the level
  is the median ratio of actual to seasonal over the last week (four weeks, daily), so growth
  and a lasting shift are followed within days instead of being alerted on for weeks.
- the usual range comes from the median absolute deviation of recent *normal* residuals,
  relative to the expected value (cost noise grows with cost), with floors so that a perfectly
  flat history does not make every cent an anomaly.
- a bucket is anomalous when its robust z-score passes `sensitivity` (a spike or a step), or
  when a CUSUM of moderate z-scores passes twice that (a ramp or a creeping shift), and the
  deviation is at least `min_impact` and `min_percent`. Spend appearing where the history is
  all zeros counts once it passes `min_impact`.
- what happened at the same point of each of the last two months (a month-start batch job) is
  normal: a bucket no higher than that is not anomalous.

Medians everywhere, so spikes and gaps in the history do not move the baseline.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import median
from zoneinfo import ZoneInfo

HOUR = 3600
DAY = 86400
DEFAULT_SENSITIVITY = 4.0
MAD_TO_SIGMA = 1.4826
REL_NOISE_FLOOR = 0.05  # costs never look more regular than +-5 % (as a log ratio)
ABS_NOISE_FLOOR = 10_000  # micro-units: a cent, so that a flat history does not alarm on dust
CUSUM_CAP = 4.0  # one bucket's contribution is capped: spikes are the z-test's job
RECURRENCE = timedelta(days=62)  # two months back, for what recurs monthly
BURSTS = 3  # bursts of a mostly idle series seen this often are its normal
RECURRING_TOLERANCE = 1.5  # an excess within 1.5x of last month's at the same moment was seen before


@dataclass(frozen=True, slots=True)
class AnomalyParams:
    sensitivity: float = DEFAULT_SENSITIVITY
    min_impact: int = 0  # micro-units per bucket
    min_percent: Decimal = Decimal(0)
    direction: str = "up"  # up, down, both
    baseline: timedelta | None = None  # default: 28 days hourly, 120 days daily


@dataclass(frozen=True, slots=True)
class Point:
    """The verdict on one bucket. `expected` is None when there is not enough history."""

    value: int | None
    expected: int | None
    low: int
    high: int
    score: float  # robust z-score of the deviation
    anomalous: bool
    # spike, ramp, new; or why not: "" (calm), elevated (past half the threshold), recurring,
    # small (under min_impact / min_percent), gap, insufficient
    reason: str


@dataclass(frozen=True, slots=True)
class _Shape:
    """Per-granularity settings."""

    week: int  # buckets per week
    weeks: int  # weekly lags for the seasonal median
    recent: int  # buckets back for the short-history fallback
    level_window: int  # buckets for the level ratio
    min_history: int  # buckets of history before any verdict
    min_residuals: int  # judged buckets before the noise level is trusted
    baseline: timedelta
    # z-units a sustained deviation must exceed to accumulate: hourly series give a drift many
    # more chances to add up by chance, daily ones must catch a step within days
    cusum_drift: float


_HOURLY = _Shape(
    week=168,
    weeks=4,
    recent=7 * 24,
    level_window=7 * 24,
    min_history=72,
    min_residuals=48,
    baseline=timedelta(days=28),
    cusum_drift=1.5,
)
_DAILY = _Shape(
    week=7,
    weeks=8,
    recent=14,
    level_window=28,
    min_history=14,
    min_residuals=7,
    baseline=timedelta(days=120),
    cusum_drift=1.0,
)


def history_needed(baseline: timedelta | None) -> timedelta:
    """How far back a rule reads: its baseline (the daily default, before the series' step is
    known) plus two months, for recognising what recurs monthly."""
    return (baseline or _DAILY.baseline) + RECURRENCE


def shape_for(step: int) -> _Shape:
    return _HOURLY if step < DAY else _DAILY


def scan(values: Sequence[int | None], start: int, step: int, tz: ZoneInfo, params: AnomalyParams) -> list[Point]:
    """One verdict per bucket; bucket t uses only buckets before it. Linear in the length."""
    shape = shape_for(step)
    baseline = int((params.baseline or shape.baseline).total_seconds()) // step
    local = _local_clock(len(values), start, step, tz)
    seasonal = [_seasonal(values, t, shape, local, step) for t in range(len(values))]
    # Where the zone changes its UTC offset, also the same UTC hour (see `_seasonal`).
    by_utc = (
        [_seasonal(values, t, shape, local, step, wall=False) for t in range(len(values))]
        if len({offset for offset, _ in local}) > 1
        else seasonal
    )
    ratios = [v / s if v is not None and s else None for v, s in zip(values, seasonal, strict=True)]
    level = _SortedWindow()  # ratios of actual to seasonal over the level window
    recent = _SortedWindow()  # the values of the baseline window
    noise = _SortedWindow()  # |relative residual| of the last `baseline` normal buckets
    residuals: deque[float] = deque()
    known = nonzero = 0  # buckets with data / with spend, in the baseline window
    points: list[Point] = []
    cusum = 0.0
    for t, value in enumerate(values):
        if t > 0:  # slide the windows to end just before t
            known, nonzero = known + _present(values[t - 1]), nonzero + bool(values[t - 1])
            leaving = values[t - 1 - baseline] if t - 1 - baseline >= 0 else None
            if t - 1 - baseline >= 0:
                known, nonzero = known - _present(leaving), nonzero - bool(leaving)
            recent.slide(values[t - 1], leaving)
            level.slide(ratios[t - 1], ratios[t - 1 - shape.level_window] if t - 1 - shape.level_window >= 0 else None)
        seasonal_t = seasonal[t]
        if value is None:
            points.append(Point(None, None, 0, 0, 0.0, False, "gap"))
            continue
        if known < shape.min_history or seasonal_t is None:
            points.append(Point(value, None, 0, 0, 0.0, False, "insufficient"))
            continue
        ratio = level.median() if len(level) >= shape.level_window // 4 else 1.0
        # Deviations are judged as log ratios: cost noise is multiplicative, so a log scale
        # makes its tails symmetric and the same z-score mean the same at any level. (A credit,
        # a negative amount, counts as nothing spent.) Of the wall-clock and the UTC-clock
        # expectation, the closer one: a pattern may follow either.
        expected, relative = min(
            (_log_ratio(value, round(s * ratio)) for s in {seasonal_t, by_utc[t] or seasonal_t}),
            key=lambda candidate: abs(candidate[1]),
        )
        deviation = value - expected
        if len(residuals) < shape.min_residuals:
            # Too few judged buckets to know the noise: learn it, say nothing yet.
            _remember(residuals, noise, relative, baseline)
            points.append(Point(value, expected, 0, 0, 0.0, False, "insufficient"))
            continue
        sigma = max(MAD_TO_SIGMA * noise.median(), REL_NOISE_FLOOR)
        score = relative / sigma
        point = _verdict(value, expected, sigma, score, cusum, shape.cusum_drift, nonzero > 0, params)
        if point.reason in ("spike", "ramp") and (
            (deviation > 0 and _intermittent(recent, value))
            or _recurring(values, points, t, start, step, tz, deviation)
        ):
            point = Point(value, expected, point.low, point.high, score, False, "recurring")
        if point.anomalous:
            cusum = 0.0
        elif point.reason != "recurring":  # what was seen before does not build up either
            cusum = max(0.0, cusum + min(_signed(score, params.direction), CUSUM_CAP) - shape.cusum_drift)
        if not point.anomalous:
            _remember(residuals, noise, relative, baseline)
        points.append(point)
    return points


def _log_ratio(value: int, expected: int) -> tuple[int, float]:
    expected = max(0, expected)
    return expected, math.log((max(value, 0) + ABS_NOISE_FLOOR) / (expected + ABS_NOISE_FLOOR))


def _intermittent(recent: _SortedWindow, value: int) -> bool:
    """A mostly idle series (a cron job, a batch now and then) whose bursts of this size were seen
    at least `BURSTS` times in the baseline: another such burst is its normal."""
    return recent.median() == 0 and len(recent) >= BURSTS and value <= recent.largest(BURSTS) * RECURRING_TOLERANCE


def _present(value: int | None) -> int:
    return value is not None


def _remember(residuals: deque[float], noise: _SortedWindow, relative: float, size: int) -> None:
    residuals.append(relative)
    noise.slide(abs(relative), abs(residuals.popleft()) if len(residuals) > size else None)


class _SortedWindow:
    """A sliding window kept sorted, for medians in O(log n) per step (the shifts run in C)."""

    def __init__(self) -> None:
        self._items: list[float] = []

    def __len__(self) -> int:
        return len(self._items)

    def slide(self, entering: float | None, leaving: float | None) -> None:
        if entering is not None:
            insort(self._items, entering)
        if leaving is not None:
            del self._items[bisect_left(self._items, leaving)]

    def largest(self, k: int) -> float:
        """The k-th largest item."""
        return self._items[-k]

    def median(self) -> float:
        items, n = self._items, len(self._items)
        return (items[n // 2] + items[(n - 1) // 2]) / 2 if n else 0.0


def _verdict(
    value: int,
    expected: int,
    sigma: float,
    score: float,
    cusum: float,
    drift: float,
    had_spend: bool,
    params: AnomalyParams,
) -> Point:
    k = params.sensitivity
    base = expected + ABS_NOISE_FLOOR
    low, high = (
        max(0, int(base * math.exp(-k * sigma)) - ABS_NOISE_FLOOR),
        int(base * math.exp(k * sigma)) - ABS_NOISE_FLOOR,
    )
    deviation = value - expected
    directed = _signed(score, params.direction)
    impact = abs(deviation) >= params.min_impact and (
        expected == 0 or Decimal(abs(deviation) * 100) >= params.min_percent * expected
    )
    if not had_spend and value > 0:
        # New spend where there was none: anomalous once it matters.
        new = params.direction != "down" and value >= max(params.min_impact, ABS_NOISE_FLOOR)
        return Point(value, expected, low, high, score, new, "new" if new else "small")
    if directed >= k:
        return Point(value, expected, low, high, score, impact, "spike" if impact else "small")
    accumulated = cusum + min(directed, CUSUM_CAP) - drift
    if directed >= k / 2 and accumulated >= 2 * k:
        return Point(value, expected, low, high, score, impact, "ramp" if impact else "small")
    return Point(value, expected, low, high, score, False, "elevated" if directed >= k / 2 else "")


def _signed(score: float, direction: str) -> float:
    """The score in the direction that matters (up: as is; down: negated; both: absolute)."""
    return score if direction == "up" else -score if direction == "down" else abs(score)


def _seasonal(
    values: Sequence[int | None], t: int, shape: _Shape, local: list[tuple[int, bool]], step: int, wall: bool = True
) -> int | None:
    """Median of the same moment in past weeks, or of recent same-kind days while history is short.

    `wall`: the same local wall-clock hour (people's working hours); else the same UTC hour (a
    server's cron). They differ only for the weeks after a DST change."""
    weekly = [values[i] for i in _lags(t, shape.week, shape.weeks, local, step, wall) if values[i] is not None]
    if len(weekly) >= 2:
        return round(median(weekly))  # type: ignore[type-var]
    per_day = DAY // step
    weekend = local[t][1]
    same_kind = [
        values[i]
        for i in _lags(t, per_day, shape.recent // per_day, local, step, wall)
        if values[i] is not None and local[i][1] == weekend
    ]
    if len(same_kind) >= 2:
        return round(median(same_kind))  # type: ignore[type-var]
    return None


def seasonal_expected(values: Sequence[int | None], t: int, start: int, step: int, tz: ZoneInfo) -> int | None:
    """The seasonal part of the expectation for one bucket (to say which line items drove a deviation)."""
    local = _local_clock(t + 1, start, step, tz)
    return _seasonal(values, t, shape_for(step), local, step)


def _lags(t: int, period: int, count: int, local: list[tuple[int, bool]], step: int, wall: bool) -> list[int]:
    """Indices of the same clock time 1..count periods back (local wall clock: DST moves them)."""
    found = []
    for k in range(1, count + 1):
        i = t - k * period
        if i < 0:
            break
        if wall and step < DAY:
            i += (local[t][0] - local[i][0]) // step  # same wall-clock hour across a DST change
        if 0 <= i < t:
            found.append(i)
    return found


def _local_clock(n: int, start: int, step: int, tz: ZoneInfo) -> list[tuple[int, bool]]:
    """(UTC offset in seconds, is a weekend) per bucket, in the configured zone."""
    clock = []
    for t in range(n):
        moment = datetime.fromtimestamp(start + t * step, UTC).astimezone(tz)
        offset = moment.utcoffset()
        clock.append((int(offset.total_seconds()) if offset else 0, moment.weekday() >= 5))
    return clock


def _recurring(
    values: Sequence[int | None], points: list[Point], t: int, start: int, step: int, tz: ZoneInfo, excess: int
) -> bool:
    """Did the same local day-of-month and hour of either of the last two months depart from its
    own expectation about as far, the same way (a monthly job seen before)?"""
    moment = datetime.fromtimestamp(start + t * step, UTC).astimezone(tz)
    for months in (1, 2):
        year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
        try:
            before = moment.replace(year=year, month=month + 1)
        except ValueError:  # the 31st of a shorter month
            continue
        # Look a few buckets either side: a monthly job does not start at the same minute.
        centre = (int(before.timestamp()) - start) // step
        for i in range(max(0, centre - 2), min(t, centre + 3)):
            past, verdict = values[i], points[i]
            if past is None or verdict.expected is None:
                continue
            # Scaled by the sign, a drop compares with a dip as deep as an excess with a peak.
            sign = 1 if excess > 0 else -1
            if sign * (past - verdict.expected) >= sign * excess / RECURRING_TOLERANCE:
                return True
    return False
