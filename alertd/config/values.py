"""Value types of the rules file: durations, amounts, percentages, names, channel routes."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> timedelta:
    """`30s`, `15m`, `1h`, `2d`, `1w`, or a combination such as `1h30m`."""
    text = str(value).strip() if isinstance(value, str) else None
    if not text or _DURATION_PART.sub("", text) != "":
        raise ValueError(f"{value!r} is not a duration (write 30s, 15m, 1h, 2d)")
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{value!r}: a duration must be longer than zero")
    return timedelta(seconds=seconds)


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount (write 2000 or 1999.99)") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{value!r}: an amount must be a number of zero or more")
    return amount


def _percent(value: object) -> Decimal:
    text = str(value).strip()
    number = _amount(text.removesuffix("%"))
    if number == 0:
        raise ValueError(f"{value!r}: a percentage must be above zero")
    return number


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
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w.\-]*$")]
ChannelUrls = Annotated[tuple[SecretStr, ...], BeforeValidator(_urls), Field(min_length=1)]


class Section(BaseModel):
    """The base of every part of the file: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
