"""Costs from a CSV file: `timestamp,line_item,amount[,end]`, amounts in currency units.

The same reader serves `provider: csv` (read on each poll) and `alertd import`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from alertd.config import CsvSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.http import SourceError

_MICRO = Decimal(1_000_000)
_record = tuple.__new__  # CostRecord(...) without the NamedTuple's Python-level __new__: a million times
REQUIRED = ("timestamp", "line_item", "amount")
OPTIONAL = ("end",)


class CsvError(SourceError):
    """A bad file; the message is `FILE:LINE: what is wrong`."""


def read_costs(path: Path, source: str, currency: str, bucket: timedelta) -> Iterator[CostRecord]:
    """Every row as a CostRecord; the first bad row raises CsvError with its line number."""
    default_seconds = int(bucket.total_seconds())
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise CsvError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvError(f"{path}:1: {exc}") from None
        i_time, i_item, i_amount, i_end = _columns(path, header)
        width = len(header)
        text_time, start = "", 0  # consecutive rows share a timestamp: parse it once
        text_end, end = "", 0
        line = 1
        try:
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                if len(row) != width:
                    raise ValueError(f"expected {width} fields, found {len(row)}")
                if row[i_time] != text_time:
                    text_time, start = row[i_time], _timestamp(row[i_time])
                if i_end is None:
                    seconds = default_seconds
                else:
                    if row[i_end] != text_end:
                        text_end, end = row[i_end], _timestamp(row[i_end])
                    seconds = end - start
                    if seconds <= 0:
                        raise ValueError("end must be after timestamp")
                item = row[i_item].strip()
                if not item:
                    raise ValueError("empty line_item")
                amount = int((Decimal(row[i_amount]) * _MICRO).to_integral_value(ROUND_HALF_EVEN))
                yield _record(CostRecord, (source, start, item, seconds, amount, currency))
        except (ValueError, ArithmeticError, csv.Error, UnicodeDecodeError) as exc:
            raise CsvError(f"{path}:{line}: {_reason(exc)}") from None


def _columns(path: Path, header: list[str]) -> tuple[int, int, int, int | None]:
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
        problems += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        problems += ["repeated column"] if len(set(header)) != len(header) else []
        raise CsvError(f"{path}:1: header must be timestamp,line_item,amount[,end]: {'; '.join(problems)}")
    return (
        header.index("timestamp"),
        header.index("line_item"),
        header.index("amount"),
        header.index("end") if "end" in header else None,
    )


def _timestamp(text: str) -> int:
    """ISO 8601 with an offset, or unix seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset (write 2026-01-01T00:00:00Z)")
    return int(moment.timestamp())


def _reason(exc: Exception) -> str:
    if isinstance(exc, ArithmeticError):
        return "amount is not a decimal number"
    text = str(exc)
    if text.startswith("Invalid isoformat string"):
        return f"bad timestamp {text.removeprefix('Invalid isoformat string: ')}"
    return text


class CsvFeed:
    """`provider: csv`: the whole file is read on each poll; its rows in the window count."""

    backfill_chunk = timedelta(days=3660)  # one read of the file

    def __init__(self, config: CsvSource, currency: str) -> None:
        self.name = config.name
        self.config = config
        self.currency = currency

    def close(self) -> None:
        """Nothing to release: the file is opened per read."""

    def fetch(self, window: Window) -> FetchResult:
        """The file's rows in the window; rows of one bucket and line item are added up."""
        totals: dict[tuple[int, str], CostRecord] = {}
        for r in read_costs(self.config.path, self.name, self.currency, self.config.bucket):
            if window.start_ts <= r.bucket_start < window.end_ts:
                earlier = totals.get((r.bucket_start, r.line_item))
                totals[r.bucket_start, r.line_item] = r._replace(amount=earlier.amount + r.amount) if earlier else r
        return FetchResult(list(totals.values()), complete_buckets=False)
