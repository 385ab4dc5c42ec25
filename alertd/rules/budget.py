"""Where a budget stands: a pure function of (budget, its summed spend, now).

The daemon hands it sums that SQLite made (`alertd.evaluate.spend`); `budget_status` makes the
same sums from plain cost rows, which is what tests and the replay compare against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from zoneinfo import ZoneInfo

from alertd.config import Budget
from alertd.model import BudgetStatus, Contributor, CostRecord, Lagging, utc
from alertd.money import MICROS
from alertd.rules.forecast import project
from alertd.rules.periods import FORECAST_HISTORY, period_bounds, previous_period_start

HOUR = 3600
TOP = 5
Series = tuple[str, str]  # (source, line_item)


def selects(budget: Budget, source: str, line_item: str) -> bool:
    if budget.sources is not None and source not in budget.sources:
        return False
    return budget.line_items is None or any(fnmatchcase(line_item, p) for p in budget.line_items)


@dataclass(frozen=True, slots=True)
class Windows:
    """The instants a budget's status at `now` sums between (UTC)."""

    now: datetime
    start: datetime  # the period
    end: datetime
    previous: datetime  # start of the previous period
    hourly_since: int  # unix hour from which the forecast reads hourly spend


def windows(budget: Budget, now: datetime, tz: ZoneInfo) -> Windows:
    start, end = period_bounds(budget.period, now, tz, budget.week_start)
    previous = previous_period_start(budget.period, now, tz, budget.week_start)
    # The forecast uses at most its last weeks of history (FORECAST_HISTORY): for a long period,
    # the hours before those are not read.
    since = max(start - FORECAST_HISTORY, now - FORECAST_HISTORY - timedelta(days=1))
    return Windows(
        now=now,
        start=start,
        end=end,
        previous=previous,
        hourly_since=int(since.timestamp()) // HOUR * HOUR,
    )


@dataclass(frozen=True, slots=True)
class Coverage:
    """How far each source's data reaches (alertd/rules/completeness.py), as a status needs it."""

    through: Mapping[str, int] = field(default_factory=dict)  # source → complete through; absent: as stored
    blind: frozenset[str] = frozenset()  # sources whose latest fetch failed, or none succeeded
    counted: tuple[str, ...] = ()  # the configured sources: what a budget without `sources` counts

    def counts(self, budget: Budget) -> tuple[str, ...]:
        return self.counted if budget.sources is None else budget.sources


def compare_point(w: Windows, through: int | None) -> int:
    """How far into the period a source's spend is compared with the previous period's: up to
    where its data is complete (within the period so far)."""
    start, now = int(w.start.timestamp()), int(w.now.timestamp())
    return now if through is None else max(start, min(through, now))


def previous_point(w: Windows, point: int) -> int:
    """As far into the previous period as `point` is into this one (a shorter previous period ends first)."""
    start = int(w.start.timestamp())
    return min(int(w.previous.timestamp()) + point - start, start)


@dataclass(frozen=True, slots=True)
class Spend:
    """A budget's spend as its status needs it: only buckets starting before `now` count."""

    current: Mapping[Series, int]  # per series, the period so far
    # Per series, the period up to its source's `compare_point`, and the previous period up to the same offset.
    compared: Mapping[Series, int]
    previous: Mapping[Series, int]
    previous_daily: Sequence[int]  # per local day of the whole previous period
    daily: Sequence[int]  # per local day of the period, through today
    hourly: Sequence[int]  # per UTC hour from `Windows.hourly_since` to `data_end` (long buckets spread)
    data_end: int  # unix hour where the projection starts: the data complete through then (see `horizon_cut`)
    after: int = 0  # the period's spend after `data_end`, which the projection replaces

    @property
    def previous_known(self) -> bool:
        """Whether the previous period has data: a local day of it summing to anything but zero."""
        return any(self.previous_daily)


def status_of(
    budget: Budget, w: Windows, spend: Spend, tz: ZoneInfo, currency: str, coverage: Coverage
) -> BudgetStatus:
    current, compared, before = spend.current, spend.compared, spend.previous
    spent = sum(current.values())
    amount = int(budget.amount * MICROS)
    keys = set(current) | set(before)
    slices = [
        Contributor(s, i, current.get((s, i), 0), compared.get((s, i), 0) - before.get((s, i), 0)) for s, i in keys
    ]
    contributors = sorted((c for c in slices if c.amount), key=lambda c: (-c.amount, c.source, c.line_item))
    drivers = sorted((c for c in slices if c.change > 0), key=lambda c: (-c.change, c.source, c.line_item))
    forecast = (
        project(spend.hourly, utc(w.hourly_since), utc(spend.data_end), w.start, w.end, spent - spend.after, amount, tz)
        if spend.hourly
        else None
    )
    by_source: dict[str, int] = defaultdict(int)
    for (source, _), value in current.items():
        by_source[source] += value
    blind = tuple(
        Lagging(s, utc(coverage.through[s]) if s in coverage.through else None, True)
        for s in coverage.counts(budget)
        if s in coverage.blind
    )
    return BudgetStatus(
        rule=budget.name,
        currency=currency,
        amount=amount,
        spent=spent,
        period=budget.period,
        period_start=w.start,
        period_end=w.end,
        now=w.now,
        forecast=forecast,
        previous_spent=sum(before.values()),
        contributors=tuple(contributors[:TOP]),
        drivers=tuple(drivers[:TOP]),
        daily=tuple(spend.daily),
        compared_spent=None if sum(compared.values()) == spent else sum(compared.values()),
        previous_start=w.previous,
        previous_known=spend.previous_known,
        previous_daily=tuple(spend.previous_daily),
        lagging=blind,
        by_source=tuple(sorted((s, v) for s, v in by_source.items() if v)),
    )


def budget_status(
    budget: Budget,
    records: Sequence[CostRecord],
    now: datetime,
    tz: ZoneInfo,
    currency: str,
    coverage: Coverage | None = None,
) -> BudgetStatus:
    """Spend of the period so far, its forecast, and what drove it, from plain cost rows.

    `records` should cover the previous period and the forecast's history up to now; rows the
    budget does not select are ignored. A bucket belongs to the period holding its start.
    """
    w = windows(budget, now, tz)
    coverage = coverage or Coverage()
    return status_of(budget, w, spend_of_rows(budget, records, w, tz, coverage.through), tz, currency, coverage)


def spend_of_rows(
    budget: Budget, records: Sequence[CostRecord], w: Windows, tz: ZoneInfo, through: Mapping[str, int]
) -> Spend:
    t_start, t_end, t_now = int(w.start.timestamp()), int(w.end.timestamp()), int(w.now.timestamp())
    t_prev = int(w.previous.timestamp())
    selected = [r for r in records if selects(budget, r.source, r.line_item) and r.bucket_start < t_now]
    points = {r.source: compare_point(w, through.get(r.source)) for r in selected}
    current: dict[Series, int] = defaultdict(int)
    compared: dict[Series, int] = defaultdict(int)
    before: dict[Series, int] = defaultdict(int)
    daily = dict.fromkeys(local_days(w, tz), 0)
    previous_days = dict.fromkeys(local_days(w, tz, previous=True), 0)
    for r in selected:
        point = points[r.source]
        local_day = datetime.fromtimestamp(r.bucket_start, UTC).astimezone(tz).date().isoformat()
        if t_start <= r.bucket_start < t_end:
            current[r.source, r.line_item] += r.amount
            if r.bucket_start < point:
                compared[r.source, r.line_item] += r.amount
            if local_day in daily:
                daily[local_day] += r.amount
        elif t_prev <= r.bucket_start < t_start:
            if local_day in previous_days:
                previous_days[local_day] += r.amount
            if r.bucket_start < previous_point(w, point):
                before[r.source, r.line_item] += r.amount
    hourly, data_end = spread_hourly(
        ((r.bucket_start, r.bucket_seconds, r.amount) for r in selected), w.hourly_since, t_now
    )
    sources = {r.source for r in selected if r.bucket_start + r.bucket_seconds > w.hourly_since}
    hourly, data_end, after = horizon_cut(hourly, w.hourly_since, data_end, horizon(sources, through), t_start)
    return Spend(
        dict(current),
        dict(compared),
        dict(before),
        list(previous_days.values()),
        list(daily.values()),
        hourly,
        data_end,
        after,
    )


def horizon(sources: Iterable[str], through: Mapping[str, int]) -> int | None:
    """Where a projection over `sources` (those with data in its window) may start: where the
    least complete of them is complete through. None: no limit known."""
    return min((through[s] for s in sources if s in through), default=None)


def horizon_cut(
    hourly: Sequence[int], first: int, last: int, limit: int | None, period_start: int
) -> tuple[list[int], int, int]:
    """The hourly series from `first` cut at the whole hour `limit` is complete through, where it
    ends then, and the period's spend after it (which the projection is to replace): a blind or
    late source's missing hours are not history of zero spend."""
    if limit is None or limit >= last:
        return list(hourly), last, 0
    cut = max(first, limit // HOUR * HOUR)
    k = (cut - first) // HOUR
    after = sum(v for i, v in enumerate(hourly[k:], start=k) if first + i * HOUR >= period_start)
    return list(hourly[:k]), cut, after


def local_days(w: Windows, tz: ZoneInfo, previous: bool = False) -> list[str]:
    """The local dates of the period from its first day through today, as ISO strings;
    `previous`: every local date of the previous period."""
    days = []
    day = (w.previous if previous else w.start).astimezone(tz).date()
    last = w.start.astimezone(tz).date() - timedelta(days=1) if previous else w.now.astimezone(tz).date()
    while day <= last:
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def spread_hourly(buckets: Iterable[tuple[int, int, int]], first: int, now: int) -> tuple[list[int], int]:
    """Spend per UTC hour from `first` to the end of the newest bucket (never past the current
    hour), from (bucket_start, bucket_seconds, amount). Longer buckets (a Friendli day) are spread
    evenly over their hours, so the forecast sees one kind of series whatever the granularity."""
    relevant = [b for b in buckets if b[0] + b[1] > first]
    if not relevant:
        return [], first
    newest = max(b[0] + b[1] for b in relevant)
    last = min(newest, -(-now // HOUR) * HOUR)
    hours = [0] * max(0, (last - first) // HOUR)
    for start, seconds, amount in relevant:
        for hour, part in hour_shares(start, seconds, amount):
            index = (hour - first) // HOUR
            if 0 <= index < len(hours):
                hours[index] += part
    return hours, last


def hour_shares(start: int, seconds: int, amount: int) -> Iterator[tuple[int, int]]:
    """(hour start, micro-units) of one bucket spread evenly over its hours, the remainder in the
    first. Every path from buckets to hours (rows, the store's sums, the replay) spreads with
    this, so their forecasts agree to the micro-unit."""
    span = max(1, seconds // HOUR)
    share, remainder = divmod(amount, span)
    first = start // HOUR * HOUR
    yield first, share + remainder
    for k in range(1, span):
        yield first + k * HOUR, share
