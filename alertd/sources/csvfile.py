"""Costs from a CSV file: `timestamp,line_item,amount[,end][,kind]`, amounts in currency units.

Amounts are ASCII decimals of at most a billion; a negative one only on a row whose `kind` is
`credit` (a refund, a promotional credit); times are between 2000 and 2100.

The same reader serves `provider: csv` (read on each poll) and `alertd import`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from alertd.config import CsvSource
from alertd.model import CostRecord, FetchResult, FileState, Window
from alertd.sources import SourceError
from alertd.sources.values import EARLIEST, LATEST, amount_micros

if TYPE_CHECKING:
    from _csv import _reader
    from hashlib import _Hash as Hasher

_SCALE = tuple(10 ** (6 - places) for places in range(7))  # digits with `places` decimals → micro-units
_record = tuple.__new__  # CostRecord(...) without the NamedTuple's Python-level __new__: a million times
_BLOCK = 1 << 20
REQUIRED = ("timestamp", "line_item", "amount")
OPTIONAL = ("end", "kind")
KINDS = ("", "charge", "credit")

# (timestamp, line_item, amount, end, kind) column indexes and the row width
Columns = tuple[int, int, int, int | None, int | None, int]


class CsvError(SourceError):
    """A bad file; the message is `FILE:LINE: what is wrong`."""


def read_costs(path: Path, source: str, currency: str, bucket: timedelta) -> Iterator[CostRecord]:
    """Every row as a CostRecord; the first bad row raises CsvError with its line number."""
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise CsvError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        yield from _records(path, reader, _header(path, reader), 0, source, currency, bucket)


def _header(path: Path, reader: _reader) -> Columns:
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CsvError(f"{path}:1: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        problems = [f"missing column(s) {', '.join(missing)}"] if missing else []
        problems += [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        problems += ["repeated column"] if len(set(header)) != len(header) else []
        raise CsvError(f"{path}:1: header must be timestamp,line_item,amount[,end][,kind]: {'; '.join(problems)}")
    return (
        header.index("timestamp"),
        header.index("line_item"),
        header.index("amount"),
        header.index("end") if "end" in header else None,
        header.index("kind") if "kind" in header else None,
        len(header),
    )


def _records(
    path: Path, reader: _reader, columns: Columns, line0: int, source: str, currency: str, bucket: timedelta
) -> Iterator[CostRecord]:
    """The rows after the header; `line0` lines of the file come before the reader's first."""
    i_time, i_item, i_amount, i_end, i_kind, width = columns
    default_seconds = int(bucket.total_seconds())
    text_time: str | None = None  # consecutive rows share a timestamp: parse it once
    start = 0
    text_end: str | None = None
    end = 0
    try:
        seconds = default_seconds
        for row in reader:
            if len(row) != width:
                if not row:
                    continue
                raise ValueError(f"expected {width} fields, found {len(row)}")
            if row[i_time] != text_time:
                text_time, start = row[i_time], _timestamp(row[i_time])
            if i_end is not None:
                if row[i_end] != text_end:
                    text_end, end = row[i_end], _timestamp(row[i_end])
                seconds = end - start
                if seconds <= 0:
                    raise ValueError("end must be after timestamp")
            item = row[i_item].strip()
            if not item:
                raise ValueError("empty line_item")
            amount = micros(row[i_amount])
            if i_kind is not None or amount < 0:
                _check_kind(row[i_kind].strip().lower() if i_kind is not None else "", amount)
            yield _record(CostRecord, (source, start, item, seconds, amount, currency))
    except (ValueError, csv.Error, UnicodeDecodeError) as exc:
        raise CsvError(f"{path}:{line0 + reader.line_num}: {_reason(exc)}") from None


def micros(text: str) -> int:
    """An ASCII decimal string in micro-units, to the nearest, ties to even: what
    `round(Decimal(text) * 10**6)` gives, within `MAX_AMOUNT`; anything else is a ValueError.

    The usual amount ("12.345678", "0.5", "3": unsigned digits, at most 6 places) is read as the
    int of its digits, scaled (0.28 s a million instead of 0.36 s). Anything else (a sign, an
    exponent, more places) takes the checked Decimal path.
    """
    whole, _, frac = text.partition(".")
    digits = whole + frac
    if len(frac) <= 6 and len(whole) <= 9 and digits.isdigit() and digits.isascii():
        return int(digits) * _SCALE[len(frac)]
    try:
        return amount_micros(text.strip(), credit=True)
    except ValueError as exc:
        raise ValueError(f"amount {exc}") from None


def _check_kind(kind: str, amount: int) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be charge or credit, not {kind!r:.40}")
    if amount < 0 and kind != "credit":
        raise ValueError("a negative amount is a credit: say so in a kind column (kind=credit)")
    if amount > 0 and kind == "credit":
        raise ValueError("a credit is a negative amount")


def _timestamp(text: str) -> int:
    """ISO 8601 with an offset, or unix seconds; between 2000 and 2100."""
    text = text.strip()
    if not text.isascii():
        raise ValueError(f"bad timestamp {text!r:.60} (ASCII digits only)")
    if text.isdigit():
        seconds = int(text) if len(text) <= 12 else LATEST
    else:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"timestamp {text!r} has no UTC offset (write 2026-01-01T00:00:00Z)")
        seconds = int(moment.timestamp())
    if not EARLIEST <= seconds < LATEST:
        raise ValueError(f"timestamp {text!r:.40} is not between 2000 and 2100")
    return seconds


def _reason(exc: Exception) -> str:
    text = str(exc)
    if text.startswith("Invalid isoformat string"):
        return f"bad timestamp {text.removeprefix('Invalid isoformat string: ')}"
    return text


class _Lines:
    """The text of a binary file from where it is positioned through its last newline, as lines.

    A last line without its newline is left unread (a writer may be mid-append): `offset` ends
    after the last newline consumed, `lines` counts the newlines up to it; `hasher` has seen
    exactly the bytes consumed.
    """

    def __init__(self, handle: BinaryIO, offset: int, lines: int, hasher: Hasher) -> None:
        self.handle, self.offset, self.lines, self.hasher = handle, offset, lines, hasher

    def __iter__(self) -> Iterator[str]:
        rest = b""
        encoding = "utf-8-sig" if self.offset == 0 else "utf-8"  # a byte order mark only at the start
        while block := self.handle.read(_BLOCK):
            block = rest + block
            cut = block.rfind(b"\n") + 1
            whole, rest = block[:cut], block[cut:]
            self.hasher.update(whole)
            self.offset += cut
            self.lines += whole.count(b"\n")
            # newline="": lines split as a file opened for csv splits them
            yield from io.StringIO(whole.decode(encoding), newline="")
            encoding = "utf-8"


class CsvFeed:
    """`provider: csv`: each poll reads what the file gained since the last one.

    `fetch` is given the file's state after the previous successful read (the store keeps it)
    and returns the new one. An unchanged file is not read; a file that only grew, with rows for
    buckets after every bucket read before, is read from where the last read stopped; anything
    else (rewritten, truncated, an appended row for an old bucket) is read whole. Either way the
    store ends up holding what a read of the whole file would give it.
    """

    backfill_chunk = timedelta.max  # any window in one read of the file (a poll's spans 1970 to next year)

    def __init__(self, config: CsvSource, currency: str) -> None:
        self.name = config.name
        self.config = config
        self.currency = currency
        # what the rows were read with: another currency or bucket length invalidates a state
        self.reader = f"{currency} {int(config.bucket.total_seconds())}"

    def close(self) -> None:
        """Nothing to release: the file is opened per read."""

    def fetch(self, window: Window, previous: FileState | None = None) -> FetchResult:
        """The rows in the window that `previous` has not seen; rows of one bucket and line item
        are added up."""
        path = self.config.path
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise CsvError(f"{path}: cannot read: {exc.strerror or exc}") from None
        with handle:
            stat = os.fstat(handle.fileno())  # before reading: a later append must look like a change
            if previous is not None and self._resumable(previous, window):
                if (stat.st_ino, stat.st_size, stat.st_mtime_ns) == (previous.inode, previous.size, previous.mtime_ns):
                    return FetchResult([], complete_buckets=False, file=replace(previous, window_end=window.end_ts))
                if stat.st_size >= previous.offset:
                    hasher = _hash_prefix(handle, previous.offset)
                    if hasher.hexdigest() == previous.digest:
                        tail = self._read(handle, stat, window, hasher, previous.lines, previous)
                        if tail is not None:
                            return tail
                handle.seek(0)
            result = self._read(handle, stat, window, hashlib.sha256(), 0)
            assert result is not None  # nothing to be after: a whole read never gives up
            return result

    def _resumable(self, previous: FileState, window: Window) -> bool:
        """Whether the store holds every row of the part of the file `previous` describes that a
        read for `window` would give: same file and reader, a start no earlier than the first row
        that read could have skipped, an end no earlier, and no row read before that was beyond the
        window then and is in it now."""
        return (
            previous.path == str(self.config.path)
            and previous.reader == self.reader
            and previous.window_start <= window.start_ts
            and previous.window_end <= window.end_ts
            and (previous.beyond is None or previous.beyond >= window.end_ts)
        )

    def _read(
        self,
        handle: BinaryIO,
        stat: os.stat_result,
        window: Window,
        hasher: Hasher,
        line0: int,
        previous: FileState | None = None,
    ) -> FetchResult | None:
        """Read from the handle's position to the last newline, on from `previous` if given; None
        if a row is then for a bucket starting at or before the last one read (the caller reads the
        whole file instead)."""
        path, offset = self.config.path, handle.tell()
        lines = _Lines(handle, offset, line0, hasher)
        reader = csv.reader(lines)
        columns = _tail_columns(path, handle) if offset else _header(path, reader)
        if offset:
            handle.seek(offset)
        totals: dict[tuple[int, str], CostRecord] = {}
        after = last = previous.last_bucket if previous else None
        beyond = previous.beyond if previous else None
        # Where the stored rows start for sure: a backfill `--since` that skipped no row of the file
        # covered what a poll (from 1970) covers, and the poll after it can skip the file.
        skipped_before = previous is not None and previous.window_start > 0
        for r in _records(path, reader, columns, line0, self.name, self.currency, self.config.bucket):
            if after is not None and r.bucket_start <= after:
                return None
            if last is None or r.bucket_start > last:
                last = r.bucket_start
            if window.start_ts <= r.bucket_start < window.end_ts:
                earlier = totals.get((r.bucket_start, r.line_item))
                totals[r.bucket_start, r.line_item] = r._replace(amount=earlier.amount + r.amount) if earlier else r
            elif r.bucket_start >= window.end_ts and (beyond is None or r.bucket_start < beyond):
                beyond = r.bucket_start
            elif r.bucket_start < window.start_ts:
                skipped_before = True
        state = FileState(
            path=str(path),
            inode=stat.st_ino,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            offset=lines.offset,
            lines=lines.lines,
            digest=hasher.hexdigest(),
            last_bucket=last,
            beyond=beyond,
            window_start=window.start_ts if skipped_before else 0,
            window_end=window.end_ts,
            reader=self.reader,
        )
        return FetchResult(list(totals.values()), complete_buckets=False, file=state)


def _hash_prefix(handle: BinaryIO, size: int) -> Hasher:
    """The hash of the first `size` bytes; the handle ends at `size`."""
    hasher, left = hashlib.sha256(), size
    while left and (block := handle.read(min(_BLOCK, left))):
        hasher.update(block)
        left -= len(block)
    return hasher


def _tail_columns(path: Path, handle: BinaryIO) -> Columns:
    """The header of a file being read from further on (its first line, already hashed)."""
    handle.seek(0)
    first = handle.readline().decode("utf-8-sig", errors="replace")
    return _header(path, csv.reader([first]))
