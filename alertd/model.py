"""Plain values shared by every stage. Amounts are integer micro-units; times are UTC."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo


class CostRecord(NamedTuple):
    """The cost of one line item over one bucket, as a provider reported it.

    A tuple in the store's column order, so that a million of them go to SQLite as they are.
    """

    source: str
    bucket_start: int  # unix seconds, UTC
    line_item: str
    bucket_seconds: int
    amount: int  # micro-units of `currency` (1 USD = 1_000_000)
    currency: str


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"empty window {self.start.isoformat()} .. {self.end.isoformat()}")

    @property
    def start_ts(self) -> int:
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        return int(self.end.timestamp())

    def split(self, length_seconds: int) -> list[Window]:
        """Consecutive windows of at most `length_seconds`, oldest first."""
        parts = []
        start = self.start_ts
        while start < self.end_ts:
            end = min(start + length_seconds, self.end_ts)
            parts.append(Window(utc(start), utc(end)))
            start = end
        return parts


@dataclass(frozen=True, slots=True)
class FileState:
    """What a CSV feed knew of its file after a successful read, so the next poll reads only
    what changed (see `alertd.sources.csvfile.CsvFeed`)."""

    path: str
    inode: int
    size: int  # st_size and st_mtime_ns, taken before the read
    mtime_ns: int
    offset: int  # bytes read: through the last complete line
    lines: int  # the newlines in those bytes: line numbers of the rows after them
    digest: str  # sha256 of those bytes (SHA-NI makes it twice as fast as blake2b)
    last_bucket: int | None  # the largest bucket start of any row read, in the window or not
    beyond: int | None  # the smallest bucket start of a row read that was past the window's end
    window_start: int  # the window the rows were kept from
    window_end: int
    reader: str  # the currency and bucket length rows were read with


@dataclass(frozen=True, slots=True)
class FocusFile:
    """What a FOCUS feed read of one export file, so that a poll skips it while it is unchanged
    (see `alertd.sources.focus.FocusFeed`)."""

    path: str
    size: int  # st_size and st_mtime_ns, taken before the read
    mtime_ns: int
    digest: str  # sha256 of the file: a file touched but not changed is not read again
    reader: str  # the options its rows were read with: other options read it again
    span_start: int | None  # [span_start, span_end): the bucket starts its rows and their billing
    span_end: int | None  # periods reach (None: no row counted)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch of one window returned.

    `complete_buckets` means each bucket in `records` is stated in full: a line item stored
    earlier for such a bucket but absent now was revised to zero by the provider. `restated`
    says the same of whole ranges: every stored bucket starting in one of these [start, end)
    ranges that `records` does not list went to zero. `file` is a CSV feed's new file state,
    `focus_files` a FOCUS feed's (all of them: they replace the stored ones), stored with the
    records. `error`: what failed although the records are good (a FOCUS feed stores the files it
    could read and reports the others), logged as the fetch's failure.
    """

    records: list[CostRecord]
    complete_buckets: bool
    file: FileState | None = None
    restated: tuple[tuple[int, int], ...] = ()
    focus_files: tuple[FocusFile, ...] | None = None
    error: str | None = None


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def local_moment(text: str, tz: ZoneInfo) -> datetime:
    """A time people write, in UTC: `YYYY-MM-DD` is midnight in zone `tz`, full ISO 8601 without
    an offset too. ValueError in plain words otherwise."""
    try:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 is before 1 January 1 in UTC
        raise ValueError(f"{text!r} is not a date (write 2026-11-01 or 2026-11-01T09:00:00+01:00)") from None


# --- evaluation and alerts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contributor:
    """A slice of a budget's spend: one source's line item."""

    source: str
    line_item: str
    amount: int  # micro-units in the period so far
    change: int  # micro-units against the same point of the previous period


@dataclass(frozen=True, slots=True)
class Forecast:
    projected: int  # micro-units: expected spend at the end of the period
    run_out: datetime | None  # when spend is expected to reach the amount, if in this period
    method: str  # "seasonal" (hour-of-day / day-of-week shape) or "run-rate" (too little history)
    history_hours: int = 0  # hours of history the shape was learnt from
    horizon: datetime | None = None  # where the projection starts: the data complete through then
    # The rest of the period at the pace of the quieter and the busier recent days (see `rules/forecast.py`);
    # None when there are fewer than RANGE_DAYS days of history.
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class Lagging:
    """A source a budget counts whose data falls short: blind (its latest fetch failed, or none
    succeeded) when a threshold alert is computed, or not complete through a period's end."""

    source: str
    through: datetime | None  # complete through; None: it never fetched successfully
    blind: bool


@dataclass(frozen=True, slots=True)
class Stated:
    """What a sent period summary said (kept in its alert's facts)."""

    total: int  # micro-units
    by_source: Mapping[str, int]
    incomplete: bool = False  # sent while a source still fell short of the period's end


@dataclass(frozen=True, slots=True)
class Revision:
    """What a period's summary stated, when data arriving later changed its total."""

    stated: int  # micro-units
    late: tuple[str, ...]  # the sources whose totals changed


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Where one budget stands at `now`: everything a message about it needs."""

    rule: str
    currency: str
    amount: int  # micro-units
    spent: int  # micro-units, period so far
    period: str  # day, week, month, quarter, year
    period_start: datetime  # UTC
    period_end: datetime  # UTC, exclusive
    now: datetime
    forecast: Forecast | None  # None when there is nothing to project from
    previous_spent: int  # the previous period at the same point
    contributors: tuple[Contributor, ...]  # largest share of spend first
    drivers: tuple[Contributor, ...]  # largest increase against the previous period first
    daily: tuple[int, ...]  # spend per local day of the period so far, for a sparkline
    # What `previous_spent` is compared with: the period up to each source's complete-through
    # instant (None: as much as `spent`), the previous period up to the same offsets.
    compared_spent: int | None = None
    previous_start: datetime | None = None
    previous_known: bool = True  # False: no data at all for the previous period
    previous_daily: tuple[int, ...] = ()  # spend per local day of the whole previous period
    lagging: tuple[Lagging, ...] = ()
    by_source: tuple[tuple[str, int], ...] = ()  # spent per source, for a summary to state
    revised: Revision | None = None  # a summary's correction

    @property
    def percent(self) -> Decimal:
        return Decimal(self.spent * 100) / Decimal(self.amount)


def series_key(source: str | None, line_item: str | None) -> str:
    """How a series is named in state and silences: `source/line_item`, `*` where grouped away."""
    return f"{source or '*'}/{line_item or '*'}"


def series_named(key: str) -> tuple[str | None, str | None]:
    """(source, line item) of a series key (`series_key`'s inverse), None where grouped away."""
    source, item = key.split("/", 1)
    return (None if source == "*" else source), (None if item == "*" else item)


def facts_series(facts: dict[str, object]) -> str | None:
    """The series an alert's stored facts are about, as silences name it; None for a budget, a source
    or a digest of several series."""
    series = facts.get("series")
    return series_key(series.get("source"), series.get("line_item")) if isinstance(series, dict) else None


def facts_members(facts: dict[str, object]) -> dict[str, str | None]:
    """The other series of an incident's alert, from its stored facts (none for any other alert),
    each with the bucket it was told at (the lead's in facts from before members had their own)."""
    also = facts.get("also")
    if not isinstance(also, list):
        return {}
    return {series_key(m["series"]["source"], m["series"]["line_item"]): m.get("bucket", facts["bucket"]) for m in also}


@dataclass(frozen=True, slots=True)
class AnomalyStatus:
    """One anomalous bucket of one series (or its return to normal): what a message needs."""

    rule: str
    currency: str
    source: str | None  # None where the rule groups sources together
    line_item: str | None  # None where the rule groups line items together
    step: int  # seconds per bucket
    bucket_start: datetime  # UTC
    value: int  # micro-units
    expected: int
    low: int  # the usual range
    high: int
    reason: str  # spike, ramp, new, peak, trough
    event_start: datetime  # first anomalous bucket of this event
    drivers: tuple[Contributor, ...]  # line items by deviation (amount: actual, change: deviation)
    month_cost: int  # what the deviation would add by the end of the month if it continued
    resolved: bool = False  # a return to normal
    excess: int = 0  # the event's deviations summed so far (resolved: its whole cost)
    also: tuple[AnomalyStatus, ...] = ()  # the other line items of the same incident told now
    items: int = 1  # the incident's line items (a resolved one: also those back to normal before)

    @property
    def deviation(self) -> int:
        return self.value - self.expected

    @property
    def together(self) -> int:
        """The deviation of the incident's line items told with this one, summed."""
        return self.deviation + sum(m.deviation for m in self.also)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """A source that stopped fetching (a blind spot), or its recovery."""

    source: str
    provider: str
    blind_since: datetime  # the last successful fetch, or the first attempt when none succeeded
    now: datetime
    last_error: str | None
    recovered: bool = False


@dataclass(frozen=True, slots=True)
class SeriesState:
    """What the anomaly lifecycle remembers of one series between evaluations."""

    open_since: int | None = None  # start of the open event's first bucket
    alerted: bool = False  # whether the open event has been alerted on
    quiet: int = 0  # normal buckets in a row while open
    last_alert: int | None = None  # unix time of the series' last alert
    last_bucket: int | None = None  # start of the last bucket judged
    excess: int = 0  # the open event's deviations summed (micro-units); kept closed while its incident is open
    incident: int | None = None  # the start of the incident the event belongs to (see alerts.incidents)


@dataclass(frozen=True, slots=True)
class AnomalyDigest:
    """The events a rule's first look at existing history found still open: one message, not one
    per series (a backfill or a new rule would otherwise flood the channel)."""

    rule: str
    currency: str
    now: datetime
    events: tuple[AnomalyStatus, ...]  # largest excess first

    @property
    def event_start(self) -> datetime:
        return min(e.event_start for e in self.events)


@dataclass(frozen=True, slots=True)
class Alert:
    """A decision to tell someone something. `key` is unique per thing worth saying once."""

    key: str
    rule: str
    # budget (crossed), forecast (will cross), anomaly, resolved, anomaly-digest, stale (a blind spot), recovered
    kind: str
    threshold: Decimal | None  # percent of the budget amount; None for anomalies
    severity: str  # info, warning, critical
    repeat: int  # 0 for the first message, n for the n-th reminder
    notify: tuple[str, ...]  # channel names
    status: BudgetStatus | AnomalyStatus | AnomalyDigest | SourceStatus

    @property
    def period_start(self) -> datetime:
        """The period a budget alert belongs to, the start of an anomaly's event, of a blind spot."""
        status = self.status
        if isinstance(status, BudgetStatus):
            return status.period_start
        return status.event_start if isinstance(status, AnomalyStatus | AnomalyDigest) else status.blind_since


@dataclass(frozen=True, slots=True)
class Sent:
    """An alert already decided for a rule in a period (delivered or still in the outbox)."""

    kind: str
    threshold: Decimal
    repeat: int
    created: datetime


@dataclass(frozen=True, slots=True)
class Picture:
    """A chart sent with an alert where the target can show one (HTML e-mail), and what it says."""

    png: bytes
    alt: str


@dataclass(frozen=True, slots=True)
class Message:
    """An alert rendered for people, once per format; stored in the outbox as it was sent."""

    title: str
    text: str  # plain text, for a terminal
    markdown: str  # standard Markdown; Apprise converts it for Slack and friends
    html: str  # a self-contained fragment, for email
