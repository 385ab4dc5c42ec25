"""One FOCUS export file (CSV, gzip CSV or Parquet) as exact sums per bucket and line item.

A row is a charge over [ChargePeriodStart, ChargePeriodEnd): its bucket starts at the one and is
as long as the two are apart. Rows of one bucket start and line item are added up (a bucket of
that start holding rows of several lengths takes the longest: the store keys a bucket by start
and line item, as `alertd import` does). Costs are Decimal from the text (a Parquet double from
its shortest repr, never its binary expansion), added up exactly, and each sum is rounded once
to the micro-unit, half to even: a report's total is the column's sum rounded per bucket, to
the digit when the file has no more than 6 decimal places. A row in another currency than the
configured one is an error, never added. Filtered-out rows are not looked at further (another
sub-account's rows may be in another currency).

The same reader serves `provider: focus` (see `alertd.sources.focus`) and `alertd import`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import operator
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, InvalidOperation, Rounded
from pathlib import Path
from typing import Any

from alertd.config import FocusSource
from alertd.model import CostRecord
from alertd.sources import SourceError
from alertd.sources.values import EARLIEST, LATEST, MAX_AMOUNT, decimal_text, iso_utc

SUFFIXES = (".csv", ".csv.gz", ".parquet")
TIMES = ("ChargePeriodStart", "ChargePeriodEnd", "BillingPeriodStart", "BillingPeriodEnd")
MAX_PLACES = 30  # finer than any bill; with amounts within a billion, sums stay exact in 100 digits
_BATCH = 65536  # Parquet rows per batch: a batch's columns as Python lists stay a few MB
# Exact sums: any rounding raises instead (it cannot happen within the bounds, the trap proves it).
_EXACT = Context(prec=100, traps=[InvalidOperation, Inexact, Rounded])
_ROUND = Context(prec=100, rounding=ROUND_HALF_EVEN)
_PLACES = Decimal(1).scaleb(-MAX_PLACES)
_CACHE = 4096  # distinct times and Tags texts remembered per file (a month of hours is 744)

# (bucket start, line item) → (exact sum, bucket seconds)
Sums = dict[tuple[int, str], tuple[Decimal, int]]


class FocusError(SourceError):
    """A bad file: `FILE:LINE: what is wrong` (`FILE:row N:` in Parquet). `span`: the bucket starts
    the rows read before it reach, so that a feed holds back what they share with other files."""

    def __init__(self, message: str, span: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.span = span


@dataclass(frozen=True)
class Options:
    """What rows are read with: the cost column, line item columns, filters, currency."""

    cost: str
    line_item: tuple[str, ...]
    filter: tuple[tuple[str, frozenset[str]], ...]
    currency: str

    @classmethod
    def of(cls, source: FocusSource, currency: str) -> Options:
        filters = tuple((column, frozenset(values)) for column, values in sorted(source.filter.items()))
        return cls(source.cost, source.line_item, filters, currency)

    @property
    def signature(self) -> str:
        """Stored with each file's state: rows read with other options are read again."""
        filters = [[column, sorted(values)] for column, values in self.filter]
        return json.dumps([self.currency, self.cost, self.line_item, filters], separators=(",", ":"))

    def columns(self) -> tuple[str, ...]:
        """The columns a file must have, in the order a row's values are taken."""
        named = [*TIMES, "BillingCurrency", self.cost, *self.line_item, *(c for c, _ in self.filter)]
        tags = any(c.startswith("Tags.") for c in named)
        return tuple(dict.fromkeys([c for c in named if not c.startswith("Tags.")] + (["Tags"] if tags else [])))


@dataclass
class FileRead:
    sums: Sums
    span: tuple[int, int] | None  # [start, end) of the bucket starts its rows and billing periods reach
    rows: int  # rows counted (after the filters)


def read_file(path: Path, options: Options) -> FileRead:
    """Every row of one export; the first bad one raises FocusError with its line (nothing is kept)."""
    if path.name.lower().endswith(".parquet"):
        return _read_parquet(path, options)
    return _read_csv(path, options)


def records(
    sums: Iterable[tuple[tuple[int, str], tuple[Decimal, int]]], source: str, currency: str
) -> Iterator[CostRecord]:
    """The sums (`Sums.items()`) as CostRecords, each rounded once to the micro-unit, half to even."""
    for (start, item), (total, seconds) in sums:
        yield CostRecord(source, start, item, seconds, micros(total), currency)


def added(earlier: tuple[Decimal, int] | None, amount: Decimal, seconds: int) -> tuple[Decimal, int]:
    """A bucket's exact sum and length with one more row (or file) in it: the longest length."""
    return (amount, seconds) if earlier is None else (_EXACT.add(earlier[0], amount), max(earlier[1], seconds))


def micros(total: Decimal) -> int:
    return int(total.scaleb(6, _ROUND).to_integral_value(ROUND_HALF_EVEN, _ROUND))


def read_costs(path: Path, source: FocusSource, currency: str) -> Iterator[CostRecord]:
    """`alertd import`: one file's records, read as the source's polls read them."""
    read = read_file(path, Options.of(source, currency))
    yield from records(read.sums.items(), source.name, currency)


def _read_csv(path: Path, options: Options) -> FileRead:
    gz = path.name.lower().endswith(".gz")
    try:
        raw = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise FocusError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)
        rows = _Rows(options)
        try:
            header = next(reader, None)
            if header is None:
                raise ValueError("empty file: no header")
            take = operator.itemgetter(*rows.locate([h.strip() for h in header]))
            width = len(header)
            for fields in reader:
                if len(fields) != width:
                    if not fields:
                        continue
                    raise ValueError(f"expected {width} fields, found {len(fields)}")
                rows.add(take(fields))
        except (ValueError, ArithmeticError, csv.Error, OSError, EOFError, zlib.error) as exc:
            raise FocusError(f"{path}:{max(reader.line_num, 1)}: {_reason(exc)}", rows.span()) from None
    return FileRead(rows.sums, rows.span(), rows.count)


def _read_parquet(path: Path, options: Options) -> FileRead:
    try:
        import pyarrow
        import pyarrow.parquet as pq
    except ImportError:
        raise FocusError(f"{path}: reading Parquet needs the parquet extra: pip install 'alertd[parquet]'") from None
    rows = _Rows(options)
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        chosen = [names[i] for i in rows.locate(names)]
        for batch in parquet.iter_batches(batch_size=_BATCH, columns=chosen):
            columns = [_python(batch.column(name), pyarrow) for name in chosen]
            try:
                for values in zip(*columns, strict=True):
                    rows.add(values)
            except (ValueError, ArithmeticError) as exc:
                raise FocusError(f"{path}:row {rows.seen}: {_reason(exc)}", rows.span()) from None
    except (pyarrow.ArrowException, ValueError, ArithmeticError, OSError, EOFError) as exc:  # the file, not a row
        raise FocusError(f"{path}: {_reason(exc)}", rows.span()) from None
    return FileRead(rows.sums, rows.span(), rows.count)


def _python(column: Any, pyarrow: Any) -> list[Any]:
    """A Parquet column's values; a timestamp's as unix seconds (a zoneless one is UTC, as FOCUS says):
    Arrow makes a datetime with a zone ten times slower than an int."""
    if pyarrow.types.is_timestamp(column.type):
        seconds = column.cast(pyarrow.timestamp("s", tz=column.type.tz), safe=False)
        return seconds.cast(pyarrow.int64()).to_pylist()
    return column.to_pylist()


class _Rows:
    """Rows, as the values of `Options.columns` in that order, into sums; each bad one a ValueError."""

    def __init__(self, options: Options) -> None:
        self.options = options
        columns = options.columns()
        at = {c: i for i, c in enumerate(columns)}
        self.cost_at = at[options.cost]
        # each part of a line item, each filter: a column's index, or a tag's key
        self.items = tuple((*_part(c, at), f"(no {c.removeprefix('Tags.')})") for c in options.line_item)
        self.filters = tuple((*_part(c, at), allowed) for c, allowed in options.filter)
        self.sums: Sums = {}
        self.seen = self.count = 0
        self.low: int | None = None
        self.high = 0
        self._times: dict[object, int] = {}
        self._lengths: dict[int, int] = {}  # bucket lengths, shared
        self._tags: dict[object, dict[str, str]] = {}

    def locate(self, header: list[str]) -> list[int]:
        """Where each needed column is in a file's header (a name in another case, if only one is)."""
        folded: dict[str, list[int]] = {}
        for i, name in enumerate(header):
            folded.setdefault(name.lower(), []).append(i)
        found, missing = [], []
        for column in self.options.columns():
            places = folded.get(column.lower(), [])
            if len(places) > 1:
                places = [i for i in places if header[i] == column]
                if len(places) != 1:
                    raise ValueError(f"column {column} appears more than once")
            found += places
            if not places:
                missing.append(column)
        if missing:
            raise ValueError(f"missing column(s) {', '.join(missing)}")
        return found

    def span(self) -> tuple[int, int] | None:
        return None if self.low is None else (self.low, self.high)

    def add(self, values: tuple[Any, ...]) -> None:
        self.seen += 1
        for at, key, allowed in self.filters:
            if self._value(values, at, key) not in allowed:
                return
        currency = _text(values[4])
        if currency != self.options.currency:
            shown = repr(currency) if currency else "empty"
            raise ValueError(f"BillingCurrency is {shown}: this source counts {self.options.currency} only")
        start, end = self._time(values[0], TIMES[0]), self._time(values[1], TIMES[1])
        billed_from, billed_to = self._time(values[2], TIMES[2]), self._time(values[3], TIMES[3])
        if end <= start:
            raise ValueError("ChargePeriodEnd must be after ChargePeriodStart")
        if billed_to <= billed_from:
            raise ValueError("BillingPeriodEnd must be after BillingPeriodStart")
        amount = _amount(values[self.cost_at], self.options.cost)
        # One string per line item and one int per length, not one per bucket: a year of hourly
        # buckets is a million keys (and later records) sharing a few hundred names.
        item = sys.intern(", ".join(self._value(values, at, key) or missing for at, key, missing in self.items))
        seconds = self._lengths.setdefault(end - start, end - start)
        bucket = self.sums[start, item] = added(self.sums.get((start, item)), amount, seconds)
        if abs(bucket[0]) > MAX_AMOUNT:
            raise ValueError(f"{item!r} adds up to more than {MAX_AMOUNT:,} in the bucket of {iso_utc(start)}")
        self.count += 1
        low = min(start, billed_from)
        self.low = low if self.low is None else min(self.low, low)
        self.high = max(self.high, start + 1, billed_to)

    def _value(self, values: tuple[Any, ...], at: int, key: str) -> str:
        """A column's text (`at`), or the tag `key`'s ("" when the row has no such tag)."""
        if not key:
            return _text(values[at])
        return self._tag_map(values[at]).get(key, "")

    def _tag_map(self, value: object) -> dict[str, str]:
        """The tags of a row's Tags value, parsed once per distinct value (rows share a few)."""
        key = tuple(value) if isinstance(value, list) else value
        try:
            tags = self._tags.get(key)
        except TypeError:  # a struct's dict, a map holding lists: not cached
            return _tags_of(value)
        if tags is None:
            if len(self._tags) > _CACHE:
                self._tags.clear()
            tags = self._tags[key] = _tags_of(value)
        return tags

    def _time(self, value: object, column: str) -> int:
        if not isinstance(value, str | int | datetime):
            return _seconds(value, column)  # an error: and a list is no dictionary key
        seconds = self._times.get(value)
        if seconds is None:
            if len(self._times) > _CACHE:
                self._times.clear()
            seconds = self._times[value] = _seconds(value, column)
        return seconds


def _part(column: str, at: Mapping[str, int]) -> tuple[int, str]:
    """(index, "") for a column, (index of Tags, key) for `Tags.key`."""
    return (at["Tags"], column.removeprefix("Tags.")) if column.startswith("Tags.") else (at[column], "")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def _tags_of(value: object) -> dict[str, str]:
    """Tags as text (a JSON object), a Parquet map ((key, value) pairs) or struct (a dict)."""
    if value is None:
        return {}
    if isinstance(value, str):
        return _tags_of_text(value)
    if isinstance(value, list):
        value = dict(pair for pair in value if isinstance(pair, tuple) and len(pair) == 2)
    if isinstance(value, dict):
        return {str(k): _tag_text(v) for k, v in value.items() if v is not None}
    raise ValueError(f"Tags is {type(value).__name__}, not a JSON object")


def _tags_of_text(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        parsed = json.loads(text, parse_int=str, parse_float=str, parse_constant=str)
    except RecursionError:
        raise ValueError("Tags is not a JSON object (nested too deep)") from None
    except ValueError:
        raise ValueError(f"Tags is {text!r:.60}, not a JSON object") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"Tags is {text!r:.60}, not a JSON object")
    return {k: _tag_text(v) for k, v in parsed.items() if v is not None}


def _tag_text(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except RecursionError:
        raise ValueError("a tag value is nested too deep") from None


def _seconds(value: object, column: str) -> int:
    """ISO 8601 with an offset (FOCUS writes 2026-05-01T00:00:00Z; BigQuery's CSV `... UTC` too),
    or a Parquet timestamp (unix seconds, see `_python`); between 2000 and 2100."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, datetime):
        seconds = int((value if value.tzinfo is not None else value.replace(tzinfo=UTC)).timestamp() // 1)
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(" UTC"):
            text = text[:-4] + "+00:00"
        if not text or not text.isascii():
            raise ValueError(f"{column} is {value!r:.40}, not a time")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{column} is {value!r:.40}, not an ISO 8601 time (2026-05-01T00:00:00Z)") from None
        if moment.tzinfo is None:
            raise ValueError(f"{column} {value!r:.40} has no UTC offset (write 2026-05-01T00:00:00Z)")
        seconds = int(moment.timestamp() // 1)
    else:
        raise ValueError(f"{column} is {'empty' if value is None else type(value).__name__}, not a time")
    if not EARLIEST <= seconds < LATEST:
        raise ValueError(f"{column} {_text(value)!r:.40} is not between 2000 and 2100")
    return seconds


def _amount(value: object, column: str) -> Decimal:
    if isinstance(value, str):
        text = value.strip()
        if not decimal_text(text):
            raise ValueError(f"{column} is {'empty' if not text else repr(text)[:40]}, not an amount")
        number = Decimal(text)
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the text that is the float, as a CSV of it would say
    else:
        raise ValueError(f"{column} is {'empty' if value is None else type(value).__name__}, not an amount")
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise ValueError(f"{column} is {_text(value)[:40]}, not an amount (at most {MAX_AMOUNT:,} a row)")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        try:
            number = number.quantize(_PLACES, context=_EXACT)
        except ArithmeticError:
            raise ValueError(f"{column} has more than {MAX_PLACES} decimal places") from None
    return number


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    if isinstance(exc, EOFError | zlib.error):
        return f"a damaged or partly written gzip file ({exc})"
    if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)
