"""The `sources:` entries: one model per provider, told apart by `provider`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from alertd.config.values import Duration, Name, Section

FRIENDLI_MIN_EVERY = timedelta(minutes=5)  # the API asks for at least 5 minutes between calls


class _HttpSource(Section):
    name: Name
    token: SecretStr = Field(min_length=1)
    team: str | None = None
    timeout: Duration = timedelta(seconds=30)
    stale_after: Duration | None = None  # see `stale_after_of`

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")


class NorthflankSource(_HttpSource):
    provider: Literal["northflank"]
    base_url: str = "https://api.northflank.com"
    every: Duration = timedelta(minutes=15)
    lookback: Duration = timedelta(hours=24)
    unit: Literal["cents", "currency"] = "cents"
    byoc: bool = True  # BYOC prices are customer-wide: only one source per customer may count them


class FriendliSource(_HttpSource):
    provider: Literal["friendli"]
    base_url: str = "https://api.friendli.ai"
    every: Duration = timedelta(hours=1)
    lookback: Duration = timedelta(days=3)

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        return max(value, FRIENDLI_MIN_EVERY)


class CsvSource(Section):
    name: Name
    provider: Literal["csv"]
    path: Path
    bucket: Duration = timedelta(hours=1)
    every: Duration = timedelta(minutes=15)
    stale_after: Duration | None = None


def stale_after_of(source: NorthflankSource | FriendliSource | CsvSource) -> timedelta:
    """How long a source may fail before it is a blind spot: three polls, at least two hours."""
    return source.stale_after or max(3 * source.every, timedelta(hours=2))


Source = Annotated[NorthflankSource | FriendliSource | CsvSource, Field(discriminator="provider")]
