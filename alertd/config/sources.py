"""The `sources:` entries: one model per provider, told apart by `provider`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator

from alertd.config.values import Duration, LocalPath, Name, Section, http_url_problem, printable_ascii

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
        problem = http_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _header_token(cls, value: SecretStr) -> SecretStr:
        printable_ascii(value.get_secret_value(), "a token", spaces=False)  # it goes into a header
        return value

    @field_validator("team")
    @classmethod
    def _header_team(cls, value: str | None) -> str | None:
        return None if value is None else printable_ascii(value, "team", spaces=True)


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


class OpenAISource(_HttpSource):
    """OpenAI organization costs (an admin key); see alertd/sources/openai.py."""

    provider: Literal["openai"]
    base_url: str = "https://api.openai.com"
    every: Duration = timedelta(hours=1)
    lookback: Duration = timedelta(days=3)  # recent days are restated as usage settles
    project_ids: tuple[str, ...] | None = None


class AnthropicSource(_HttpSource):
    """Anthropic Admin API cost report (an admin key); see alertd/sources/anthropic.py."""

    provider: Literal["anthropic"]
    base_url: str = "https://api.anthropic.com"
    every: Duration = timedelta(hours=1)
    lookback: Duration = timedelta(days=3)
    workspaces: tuple[str, ...] | None = None


class FocusSource(Section):
    """FinOps FOCUS cost-and-usage exports (CSV, gzip CSV, Parquet); see alertd/sources/focus.py."""

    name: Name
    provider: Literal["focus"]
    path: str = Field(min_length=1)  # a file, a directory or a glob, relative to the rules file
    cost: Literal["BilledCost", "EffectiveCost"] = "BilledCost"
    line_item: tuple[str, ...] = ("ServiceName",)
    filter: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    every: Duration = timedelta(hours=1)
    stale_after: Duration | None = None


class CsvSource(Section):
    name: Name
    provider: Literal["csv"]
    path: LocalPath
    bucket: Duration = timedelta(hours=1)
    every: Duration = timedelta(minutes=15)
    stale_after: Duration | None = None


SourceConfig = NorthflankSource | FriendliSource | OpenAISource | AnthropicSource | CsvSource | FocusSource
HttpSource = NorthflankSource | FriendliSource | OpenAISource | AnthropicSource


def stale_after_of(source: SourceConfig) -> timedelta:
    """How long a source may fail before it is a blind spot: three polls, at least two hours."""
    return source.stale_after or max(3 * source.every, timedelta(hours=2))


Source = Annotated[SourceConfig, Field(discriminator="provider")]
