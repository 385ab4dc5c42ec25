"""Value types of the rules file: durations, amounts, percentages, names, channel routes."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from alertd.config.errors import quoted

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=3653)  # ten years: nothing alertd schedules or looks back over is longer
MAX_AMOUNT = Decimal(10) ** 12  # more than any budget, and far from where exact arithmetic slows


def parse_duration(value: object) -> timedelta:
    """`30s`, `15m`, `1h`, `2d`, `1w`, or a combination such as `1h30m`."""
    text = str(value).strip() if isinstance(value, str) else None
    if not text or _DURATION_PART.sub("", text) != "":
        raise ValueError(f"{quoted(value)} is not a duration (write 30s, 15m, 1h, 2d)")
    parts = _DURATION_PART.findall(text)
    too_long = f"{quoted(value)}: a duration may be at most 10 years (3653d)"
    if any(len(n.lstrip("0")) > 10 for n, _ in parts):  # past the limit in any unit: spare int() 5,000 digits
        raise ValueError(too_long)
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{quoted(value)}: a duration must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(too_long)
    return timedelta(seconds=seconds)


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{quoted(value)} is not an amount (write 2000 or 1999.99)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{quoted(value)}: an amount must be a number of zero or more")
    if amount > MAX_AMOUNT:
        raise ValueError(f"{quoted(value)}: an amount may be at most 1000000000000 (10^12)")
    if amount != amount.quantize(Decimal("0.000001"), rounding=ROUND_DOWN):
        # money is kept in micro-units: a finer amount would be rounded, a budget of 0.0000001 to nothing
        raise ValueError(f"{quoted(value)}: an amount may have at most 6 decimal places")
    return amount


def _percent(value: object) -> Decimal:
    text = str(value).strip()
    number = _amount(text.removesuffix("%"))
    if number == 0:
        raise ValueError(f"{quoted(value)}: a percentage must be above zero")
    return number


_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_NETLOC = re.compile(r"(?:[^@]*@)?(\[[0-9A-Fa-f:.]+\]|[^:\[\]]*)(?::([0-9]{1,5}))?")


def http_url_problem(url: str) -> str | None:
    """Why `url` is not an http(s) URL that httpx will request, or None. Stricter than httpx (no
    IDNA host names, which punycode can spell), never laxer: the tests hold it to httpx's parser.
    The URL is never quoted: it may hold a password or a token."""
    if not url.isprintable() or any(c.isspace() for c in url):
        return "must not hold spaces or control characters"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "must be an http(s) URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http(s) URL"
    netloc = _NETLOC.fullmatch(parts.netloc)
    host, port = netloc.groups() if netloc else ("", None)
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            host = ""
    elif not _HOST.fullmatch(host):
        host = ""
    if not host or (port is not None and not 0 < int(port) < 65536):
        return "must have a host and at most one port, such as https://api.example.com or http://127.0.0.1:8080"
    return None


def printable_ascii(value: str, what: str, *, spaces: bool) -> str:
    """`value` if it can go into an HTTP header as it is (a token, a team id), else ValueError."""
    lowest = " " if spaces else "!"  # printable ASCII is " " to "~"
    if not all(lowest <= c <= "~" for c in value):
        raise ValueError(f"{what} may hold only printable ASCII characters{'' if spaces else ', no spaces'}")
    return value


def _local_path(value: object) -> object:
    # A NUL passes YAML ("\0") and Path(), then fails every open() with a traceback
    if isinstance(value, str) and ("\0" in value or not value.strip()):
        raise ValueError("a file path must not be empty nor hold a NUL character")
    return value


def _urls(value: object) -> object:
    return [value] if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
# Channel names, or per minimum severity: {info: [chat], critical: [pager]} sends a critical
# alert to chat and pager, a warning to chat.
Notify = tuple[str, ...] | dict[Severity, tuple[str, ...]]


def route(notify: Notify, severity: str) -> tuple[str, ...]:
    """The channels an alert of `severity` goes to."""
    if not isinstance(notify, dict):
        return notify
    rank = SEVERITIES.index(severity)  # type: ignore[arg-type]
    chosen = [c for level, channels in notify.items() if SEVERITIES.index(level) <= rank for c in channels]
    return tuple(dict.fromkeys(chosen))


Amount = Annotated[Decimal, BeforeValidator(_amount)]
Percent = Annotated[Decimal, BeforeValidator(_percent)]
LocalPath = Annotated[Path, BeforeValidator(_local_path)]
NAME_PATTERN = r"^[A-Za-z0-9][\w.\-]*$"
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]
ChannelUrls = Annotated[tuple[SecretStr, ...], BeforeValidator(_urls), Field(min_length=1)]


class Section(BaseModel):
    """The base of every part of the file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
