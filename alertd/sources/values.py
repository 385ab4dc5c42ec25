"""What a provider's value must be before it is money or a time: the checks every source shares.

Each raises `ValueError` with the reason in words ("is 1e308, not an amount"); the source
adds where the value was (its name, the entry, the field) and turns it into a SourceError.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from decimal import Decimal

from alertd.money import MICROS

# One bucket of one line item above a billion currency units is garbage, not a bill. The bound
# also keeps any year of sums inside SQLite's 64-bit integers (10^15 micro-units a row).
MAX_AMOUNT = 10**9
EARLIEST = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())  # cloud bills start later
LATEST = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())  # a provider's clock gone wrong
# ASCII digits only: int() and Decimal() also read "１２", "1_000" and " 12 ", which no bill writes.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_INTEGER = re.compile(r"[0-9]{1,12}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def amount_micros(value: object, *, scale: Decimal = Decimal(1), credit: bool = False) -> int:
    """Micro-units of a JSON number (decoded as Decimal or int) or an ASCII decimal string,
    times `scale` (0.01 for cents), finite and within `MAX_AMOUNT`; negative only as a `credit`."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValueError(f"is {_show(value)}, not an amount")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError(f"is {_show(value)}, not an amount")
    number = Decimal(value) * scale
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise ValueError(f"is {_show(value)}, not an amount (at most {MAX_AMOUNT:,} a bucket)")
    if number < 0 and not credit:
        raise ValueError(f"is {_show(value)}, a negative amount")
    return round(number * MICROS)


def decimal_text(text: str) -> bool:
    """Whether `text` is an ASCII decimal number (what `amount_micros` reads from a string)."""
    return _DECIMAL.fullmatch(text) is not None


def unix_seconds(value: object) -> int:
    """A unix time given as a JSON integer or a string of ASCII digits, 2000 to 2100."""
    if isinstance(value, bool):
        raise ValueError(f"is {_show(value)}, not a unix time")
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"is {_show(value)}, not a unix time")
    return in_range(value)


def in_range(seconds: int) -> int:
    """`seconds` if between 2000 and 2100."""
    if not EARLIEST <= seconds < LATEST:
        raise ValueError(f"is {seconds}, not a time between 2000 and 2100")
    return seconds


def iso_utc(seconds: int) -> str:
    """For messages: 2026-12-01T04:00Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _show(value: object) -> str:
    """A value as a message may quote it: short, and only its type when it is a structure."""
    if isinstance(value, dict | list):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    if value is None:
        return "null"
    if isinstance(value, int | Decimal) and not isinstance(value, bool) and len(str(value)) > 20:
        number = Decimal(value)  # 10**308 as the fakes and some APIs write it: say 1E+308
        text = str(number.normalize())
        return text if len(text) <= 20 else f"{number:.6g}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def rfc3339_seconds(value: object, field: str) -> int:
    """Unix seconds of an RFC 3339 time with an offset (Z or ±hh:mm), ASCII digits only."""
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        with contextlib.suppress(ValueError):  # well-formed but impossible: February 30th, hour 25
            return int(datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp())
    shown = repr(value)[:40] if isinstance(value, str) else "null" if value is None else "not a string"
    raise ValueError(f"{field} is {shown}, not an RFC 3339 time")


def utc_midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
