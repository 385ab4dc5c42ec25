"""Plain values shared by every stage. Amounts are integer micro-units; times are UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple


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
class FetchResult:
    """What one fetch of one window returned.

    `complete_buckets` means each bucket in `records` is stated in full: a line item stored
    earlier for such a bucket but absent now was revised to zero by the provider.
    """

    records: list[CostRecord]
    complete_buckets: bool


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
