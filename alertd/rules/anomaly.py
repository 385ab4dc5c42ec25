"""Anomalies in a cost series: a pure, causal, resumable scan of (values, state, tz, params).

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
  deviation is at least `min_impact`, `min_share` of the series' typical bucket and
  `min_percent` of the expected one. Spend appearing where the history is
  all zeros counts once it passes `min_impact`.
- what happened at the same point of each of the last two months (a month-start batch job) is
  normal: a bucket no higher than that is not anomalous. So, hourly, is a departure the
  baseline made often (heavy tails) or at a steady spacing (a job with its own schedule): see
  `alertd.rules.seen`.
- an hourly bucket past the highest or lowest of the last two months by a margin is anomalous
  (`peak`, `trough`) whatever its z-score, from two days of data on (see `extremes`), if it
  passes the same floors.

Medians everywhere, so spikes and gaps in the history do not move the baseline.

The scan carries everything later buckets need from earlier ones in a `ScanState` (the rolling
windows, the CUSUM, the range, and the values and expectations of the last two months):
scanning a series in pieces, each piece resuming from the state the previous one returned,
gives the verdicts of one scan over the whole. That is what lets the daemon score only new buckets.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, insort
from collections.abc import MutableSequence, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from alertd.rules.clock import offsets
from alertd.rules.extremes import NONE_LOW, RANGE_LAG, RANGE_LEAST, WEEK, Sliding, beyond, extremes, kind_seen
from alertd.rules.seasonal import MISSING, seasonal_median, seasonal_pairs
from alertd.rules.seen import intermittent, recurring, seen, typical
from alertd.rules.verdicts import ABS_NOISE_FLOOR, AnomalyParams, Point, Verdicts

HOUR = 3600
DAY = 86400
MAD_TO_SIGMA = 1.4826
REL_NOISE_FLOOR = 0.05  # costs never look more regular than +-5 % (as a log ratio)
CUSUM_CAP = 4.0  # one bucket's contribution is capped: spikes are the z-test's job
RECURRENCE = timedelta(days=62)  # two months back, for what recurs monthly


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


def history_needed(baseline: timedelta | None, step: int = DAY) -> timedelta:
    """How far back a series is read on its first evaluation: its baseline plus two months, for
    recognising what recurs monthly (the daily default when the step is not known yet)."""
    return (baseline or shape_for(step).baseline) + RECURRENCE


def shape_for(step: int) -> _Shape:
    return _HOURLY if step < DAY else _DAILY


@dataclass(frozen=True, slots=True)
class ScanState:
    """Where a scan stopped: what the buckets before `start` leave to the ones after it.

    The lists are arrays (int64 with `MISSING`, float64 with NaN for none), stored as they are.
    A scan never changes the state it is given."""

    start: int  # unix time of the next bucket to score
    step: int
    values: array  # 'q': the last `memory` buckets before `start`, oldest first
    expected: array  # 'q': their expectations (for what recurs monthly)
    ratios: array  # 'd': actual / seasonal of the last `level_window` + 1 buckets
    residuals: array  # 'd': relative residuals of the last `baseline` normal buckets, oldest first
    level: array  # 'd': `ratios` without NaN, sorted
    recent: array  # 'q': the values of the baseline window with data, sorted
    noise: array  # 'd': |residuals|, sorted
    # 'q': the range an hourly bucket at `start` - 1 was judged by: its peak and the unix time of
    # that bucket, its trough and that bucket's; empty for none kept (it is then looked for)
    bounds: array
    known: int = 0  # buckets with data in the baseline window
    nonzero: int = 0  # of which with spend
    cusum: float = 0.0


def fresh(start: int, step: int) -> ScanState:
    """The state of a series before its first bucket."""
    ints, floats = array("q"), array("d")
    return ScanState(start, step, ints, ints, floats, floats, floats, ints, floats, ints)


def memory(step: int, params: AnomalyParams) -> int:
    """How many past buckets a state keeps: the longest look-back of any part of the scan."""
    shape = shape_for(step)
    baseline = _baseline(step, params)
    # and a few buckets either side, and DST; the range looks back as far from `RANGE_LAG` ago
    months = int(RECURRENCE.total_seconds()) // step + RANGE_LAG + 4
    return max(baseline + 1, shape.weeks * shape.week + 2, shape.recent + 2, months)


def _baseline(step: int, params: AnomalyParams) -> int:
    return int((params.baseline or shape_for(step).baseline).total_seconds()) // step


def scan(values: Sequence[int | None], start: int, step: int, tz: ZoneInfo, params: AnomalyParams) -> Verdicts:
    """One verdict per bucket; bucket t uses only buckets before it. Linear in the length."""
    return resume(fresh(start, step), values, tz, params)[0]


def resume(
    state: ScanState, values: Sequence[int | None], tz: ZoneInfo, params: AnomalyParams
) -> tuple[Verdicts, ScanState]:
    """The verdicts on `values` (the buckets from `state.start` on) and the state after them."""
    step = state.step
    shape = shape_for(step)
    baseline = _baseline(step, params)
    keep = memory(step, params)
    base = len(state.values)
    # A long scan runs on lists (faster to index); a short one on copies of the state's arrays
    # (converting thousands of numbers would cost more than scoring a few buckets).
    copy = _as_lists if len(values) > base else _copies
    vals, exps, ratios, level, recent, noise, residuals = copy(
        state.values, state.expected, state.ratios, state.level, state.recent, state.noise, state.residuals
    )
    vals.extend([MISSING if v is None else v for v in values])
    end = len(vals)
    rbase = len(ratios) - base  # ratios[t + rbase] is the ratio of vals[t]
    known, nonzero, cusum = state.known, state.nonzero, state.cusum
    first = state.start - base * step  # unix time of vals[0]
    clock = offsets(tz, first, end, step)
    week, weeks, per_day, window = shape.week, shape.weeks, DAY // step, shape.level_window
    quarter, days = window // 4, shape.recent // per_day
    min_history, min_residuals, drift = shape.min_history, shape.min_residuals, shape.cusum_drift
    walls, utcs = seasonal_pairs(vals, base, end, week, weeks, per_day, days, first, step, clock)
    sensitivity, half = params.sensitivity, params.sensitivity / 2
    # Hourly noise has heavy tails (a daily bucket averages them out): what its tails did before
    # is not news, what goes beyond its range is.
    hourly = step < DAY
    span, lag = int(RECURRENCE.total_seconds()) // step, RANGE_LAG
    up, down = params.direction == "up", params.direction == "down"
    learning = len(residuals) < min_residuals
    # Most buckets are calm: that path is inline, on locals, with comparisons for max/min, and
    # keeps just the score and noise level of the bucket (see `Verdicts`).
    log, nan = math.log, math.nan
    add_ratio, add_expected, add_residual = ratios.append, exps.append, residuals.append
    items: list[Point | float] = []
    sigmas: list[float] = []
    append, add_sigma = items.append, sigmas.append
    # The windows slide at every bucket t to end just before it: bucket t - 1 enters (`entering`,
    # and the ratio of the previous round), bucket t - 1 - baseline leaves (`leaving`; for the
    # ratios t - 1 - window). `recent`, only asked about at a spike, is slid then and at the end
    # (`slid`: the bucket whose window it holds). `residuals` is a queue from index `head` on.
    # The range (`peak`, `trough`, and where they are) of the `span` buckets before the last `lag`
    # slides too (bucket t - 1 - lag joins); once its peak or trough leaves, it slides on queues
    # (`sliding`). A daily series has none.
    slid, head = max(0, base - 1), 0
    ratio = ratios[-1] if base else nan
    value = vals[base - 1] if base else MISSING
    peak, peak_at, trough, trough_at = NONE_LOW, end, MISSING, end
    sliding: Sliding | None = None
    if hourly and len(state.bounds) == 4:
        peak, peak_time, trough, trough_time = state.bounds
        peak_at, trough_at = (peak_time - first) // step, (trough_time - first) // step
    elif hourly:
        peak, peak_at, trough, trough_at = extremes(vals, max(0, base - 1 - lag - span), max(0, base - 1 - lag))
    for t, seasonal, by_utc in zip(range(base, end), walls, utcs, strict=True):
        entering, value = value, vals[t]
        if entering != MISSING:
            known += 1
            if entering:
                nonzero += 1
        if sliding is not None:
            peak, peak_at, trough, trough_at = sliding.slide(t - lag - span, t - lag)
        elif hourly:
            joining = vals[t - 1 - lag] if t > lag else MISSING
            if joining != MISSING:
                if joining >= peak:
                    peak, peak_at = joining, t - 1 - lag
                if joining <= trough:
                    trough, trough_at = joining, t - 1 - lag
            if peak_at < t - lag - span or trough_at < t - lag - span:
                # From here on the window slides with its queues: in a steady trend the peak (or
                # the trough) would leave again at the next bucket.
                sliding = Sliding(vals, t - lag - span, t - lag)
                peak, peak_at, trough, trough_at = extremes(vals, t - lag - span, t - lag)
        if t > baseline:
            leaving = vals[t - 1 - baseline]
            if leaving != MISSING:
                known -= 1
                if leaving:
                    nonzero -= 1
        if ratio == ratio:
            insort(level, ratio)
        if t > window:
            ratio = ratios[t - 1 - window + rbase]
            if ratio == ratio:
                del level[bisect_left(level, ratio)]
        if value == MISSING:
            ratio = nan
            add_ratio(nan)
            add_expected(MISSING)
            append(_GAP)
            add_sigma(0.0)
            continue
        ratio = value / seasonal if seasonal else nan
        add_ratio(ratio)
        outside = (value > peak or value < trough) and (
            known >= WEEK or (known >= RANGE_LEAST and kind_seen(vals, t, first, step, _at(clock, t)))
        )
        if known < min_history or seasonal is None:
            # Too little history for an expectation; past the range is news all the same, by
            # what the series typically spends.
            add_expected(MISSING)
            point = Point(value, None, 0.0, False, "insufficient")
            if outside:
                recent, slid = _slide(recent, vals, slid, t, baseline), t
                point = _ranged(point._replace(expected=typical(recent)), peak, trough, recent, params)
            append(point)
            add_sigma(0.0)
            continue
        n = len(level)
        level_ratio = (level[n // 2] + level[(n - 1) // 2]) / 2 if n >= quarter else 1.0
        # Deviations are judged as log ratios: cost noise is multiplicative, so a log scale
        # makes its tails symmetric and the same z-score mean the same at any level. (A credit,
        # a negative amount, counts as nothing spent.) Of the wall-clock and the UTC-clock
        # expectation, the closer one: a pattern may follow either.
        expected = round(seasonal * level_ratio)
        if expected < 0:
            expected = 0
        spent = value + ABS_NOISE_FLOOR if value > 0 else ABS_NOISE_FLOOR
        relative = log(spent / (expected + ABS_NOISE_FLOOR))
        if by_utc != seasonal and by_utc is not None:
            other = max(0, round(by_utc * level_ratio))
            other_relative = log(spent / (other + ABS_NOISE_FLOOR))
            if abs(other_relative) < abs(relative):
                expected, relative = other, other_relative
        add_expected(expected)
        if learning:
            # Too few judged buckets to know the noise: learn it, say nothing yet but what is
            # past the range (which is no noise to learn).
            point = Point(value, expected, 0.0, False, "insufficient")
            if outside:
                recent, slid = _slide(recent, vals, slid, t, baseline), t
                point = _ranged(point, peak, trough, recent, params)
            if not point.anomalous:
                head = _remember(residuals, head, noise, relative, baseline)
                learning = len(residuals) - head < min_residuals
            append(point)
            add_sigma(0.0)
            continue
        n = len(noise)
        sigma = MAD_TO_SIGMA * (noise[n // 2] + noise[(n - 1) // 2]) / 2
        if sigma < REL_NOISE_FLOOR:
            sigma = REL_NOISE_FLOOR
        add_sigma(sigma)
        score = relative / sigma
        directed = score if up else -score if down else abs(score)
        if directed < half and nonzero and not outside:  # calm: as `_verdict` would say
            cusum = cusum + (directed if directed < CUSUM_CAP else CUSUM_CAP) - drift
            if cusum < 0.0:
                cusum = 0.0
            add_residual(relative)
            insort(noise, abs(relative))
            if n >= baseline:
                del noise[bisect_left(noise, abs(residuals[head]))]
                head += 1
            append(score)
            continue
        recent = _slide(recent, vals, slid, t, baseline)
        slid = t
        floor = _floor(recent, params)
        point = _verdict(value, expected, sigma, score, cusum, drift, nonzero > 0, floor, params)
        if point.reason in ("spike", "ramp") and (
            (value > expected and intermittent(recent, value))
            or (hourly and seen(vals, exps, t, baseline, relative))
            or recurring(vals, exps, t, first, step, tz, value - expected)
        ):
            point = point._replace(anomalous=False, reason="recurring")
        if outside and point.reason in ("", "elevated", "recurring"):
            point = _ranged(point, peak, trough, recent, params)
        if point.anomalous:
            cusum = 0.0
        elif point.reason != "recurring":  # what was seen before does not build up either
            cusum = max(0.0, cusum + min(_signed(score, params.direction), CUSUM_CAP) - drift)
        if not point.anomalous:
            head = _remember(residuals, head, noise, relative, baseline)
        append(point)
    after = ScanState(
        start=first + end * step,
        step=step,
        values=_ints(vals[-keep:]),
        expected=_ints(exps[-keep:]),
        ratios=_floats(ratios[-(window + 1) :]),
        residuals=_floats(residuals[head:]),
        level=_floats(level),
        recent=_ints(_slide(recent, vals, slid, max(0, end - 1), baseline)),
        noise=_floats(noise),
        bounds=_bounds(peak, peak_at, trough, trough_at, first, step) if hourly else array("q"),
        known=known,
        nonzero=nonzero,
        cusum=cusum,
    )
    return Verdicts(items, sigmas, vals[base:], exps[base:], sensitivity), after


_GAP = Point(None, None, 0.0, False, "gap")


def _bounds(peak: int, peak_at: int, trough: int, trough_at: int, first: int, step: int) -> array:
    """The range to keep in a state: its extremes and their unix times; none for a range without
    data (where it was looked for is no position to resume from: it is looked for again)."""
    if peak == MISSING:
        return array("q")
    return array("q", [peak, first + peak_at * step, trough, first + trough_at * step])


def _at(clock: list[int] | int, t: int) -> int:
    """The UTC offset of bucket t."""
    return clock if isinstance(clock, int) else clock[t]


def _as_lists(*items: array) -> list[list]:
    return [i.tolist() for i in items]


def _copies(*items: array) -> list[array]:
    return [i[:] for i in items]


def _ints(items: array | list[int]) -> array:
    return items if isinstance(items, array) else array("q", items)


def _floats(items: array | list[float]) -> array:
    return items if isinstance(items, array) else array("d", items)


def _slide(
    recent: MutableSequence[int], vals: Sequence[int], have: int, want: int, baseline: int
) -> MutableSequence[int]:
    """`recent`, the sorted values with data of the baseline window slid to bucket `have`, slid on
    to bucket `want` (the window then ends just before it)."""
    if want - have > baseline // 4:  # sorting afresh costs less than sliding bucket by bucket
        return sorted([x for x in vals[max(0, want - baseline) : want] if x != MISSING])
    for u in range(have + 1, want + 1):
        if vals[u - 1] != MISSING:
            insort(recent, vals[u - 1])
        if u > baseline and vals[u - 1 - baseline] != MISSING:
            del recent[bisect_left(recent, vals[u - 1 - baseline])]
    return recent


def _remember(
    residuals: MutableSequence[float], head: int, noise: MutableSequence[float], relative: float, size: int
) -> int:
    """Queue a residual (the queue starts at `head`), dropping the oldest past `size`: the new head."""
    residuals.append(relative)
    insort(noise, abs(relative))
    if len(residuals) - head > size:
        del noise[bisect_left(noise, abs(residuals[head]))]
        head += 1
    return head


def _floor(recent: Sequence[int], params: AnomalyParams) -> int:
    """The least deviation of a bucket worth an alert: `min_impact`, and `min_share` percent of
    the series' typical bucket (the median of its baseline), so a big series' wobble is not news."""
    usual = typical(recent)
    if usual <= 0 or not params.min_share:
        return params.min_impact
    share = (Decimal(usual) * params.min_share / 100).to_integral_value(ROUND_CEILING)
    return max(params.min_impact, int(share))


def _verdict(
    value: int,
    expected: int,
    sigma: float,
    score: float,
    cusum: float,
    drift: float,
    had_spend: bool,
    floor: int,
    params: AnomalyParams,
) -> Point:
    k = params.sensitivity
    deviation = value - expected
    directed = _signed(score, params.direction)
    if not had_spend and value > 0:
        # New spend where there was none: anomalous once it matters.
        new = params.direction != "down" and value >= max(floor, ABS_NOISE_FLOOR)
        return Point(value, expected, score, new, "new" if new else "small", sigma, k)
    if directed >= k or (directed >= k / 2 and cusum + min(directed, CUSUM_CAP) - drift >= 2 * k):
        impact = _matters(deviation, expected, floor, params)
        kind = "spike" if directed >= k else "ramp"
        return Point(value, expected, score, impact, kind if impact else "small", sigma, k)
    return Point(value, expected, score, False, "elevated" if directed >= k / 2 else "", sigma, k)


def _matters(deviation: int, expected: int, floor: int, params: AnomalyParams) -> bool:
    """Whether a deviation is worth an alert: at least `floor` and `min_percent` of the expected."""
    return abs(deviation) >= floor and (expected == 0 or Decimal(abs(deviation) * 100) >= params.min_percent * expected)


def _ranged(point: Point, peak: int, trough: int, recent: Sequence[int], params: AnomalyParams) -> Point:
    """`point` (with a value and an expectation) as an anomaly past the range of its series (peak
    and trough; `recent`: the sorted baseline) if it is past it and worth an alert, else as it is."""
    value, expected = point.value or 0, point.expected or 0
    extreme = beyond(value, peak, trough, typical(recent), params.direction)
    if extreme and _matters(value - expected, expected, _floor(recent, params), params):
        return point._replace(anomalous=True, reason=extreme)
    return point


def _signed(score: float, direction: str) -> float:
    """The score in the direction that matters (up: as is; down: negated; both: absolute)."""
    return score if direction == "up" else -score if direction == "down" else abs(score)


def seasonal_expected(values: Sequence[int | None], t: int, start: int, step: int, tz: ZoneInfo) -> int | None:
    """The seasonal part of the expectation for one bucket (to say which line items drove a deviation)."""
    shape = shape_for(step)
    days = shape.recent // (DAY // step)
    vals = [MISSING if v is None else v for v in values[: t + 1]]
    clock = offsets(tz, start, t + 1, step)
    if isinstance(clock, int):
        return seasonal_median(vals, t, shape.week, shape.weeks, DAY // step, days, start, step, clock, None)
    return seasonal_median(vals, t, shape.week, shape.weeks, DAY // step, days, start, step, clock[t], clock)
