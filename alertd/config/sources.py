"""The `sources:` entries: one model per provider, told apart by `provider`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from alertd.config.values import Duration, LocalPath, Name, Section, http_url_problem, printable_ascii

FRIENDLI_MIN_EVERY = timedelta(minutes=5)  # the API asks for at least 5 minutes between calls


class _HttpSource(Section):
    name: Name
    token: SecretStr = Field(min_length=1)
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


class _TeamSource(_HttpSource):
    """A provider whose API takes a team: only these accept `team:`, so it is never ignored."""

    team: str | None = None

    @field_validator("team")
    @classmethod
    def _header_team(cls, value: str | None) -> str | None:
        return None if value is None else printable_ascii(value, "team", spaces=True)


class NorthflankSource(_TeamSource):
    provider: Literal["northflank"]
    base_url: str = "https://api.northflank.com"
    every: Duration = timedelta(minutes=15)
    lookback: Duration = timedelta(hours=24)
    unit: Literal["cents", "currency"] = "cents"
    byoc: bool = True  # BYOC prices are customer-wide: only one source per customer may count them


class FriendliSource(_TeamSource):
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
    project_ids: tuple[str, ...] | None = Field(default=None, min_length=1)  # an empty filter is a mistake


class AnthropicSource(_HttpSource):
    """Anthropic Admin API cost report (an admin key); see alertd/sources/anthropic.py."""

    provider: Literal["anthropic"]
    base_url: str = "https://api.anthropic.com"
    every: Duration = timedelta(hours=1)
    lookback: Duration = timedelta(days=3)
    workspaces: tuple[str, ...] | None = None


def _one_or_more(value: object) -> object:
    """`line_item: ServiceName` means a list of one."""
    return (value,) if isinstance(value, str) else value


def _filter_values(value: object) -> object:
    """`ChargeCategory: Usage` means a list of one; a YAML number (an account id) is its text."""
    if not isinstance(value, dict):
        return value
    listed = {k: v if isinstance(v, list | tuple) else [v] for k, v in value.items()}
    if any(isinstance(x, bool) or x is None for v in listed.values() for x in v):
        raise ValueError("filter values are texts (quote yes, no, true, false and empty values)")
    return {k: [str(x) if isinstance(x, int | float) else x for x in v] for k, v in listed.items()}


def _column(name: str) -> str:
    """A FOCUS column (`ServiceName`), or a tag (`Tags.team`)."""
    if not name or name != name.strip() or name == "Tags.":
        raise ValueError(f"{name!r} is not a column name (write ServiceName, or Tags.team for a tag)")
    return name


class FocusSource(Section):
    """FinOps FOCUS cost-and-usage exports (CSV, gzip CSV, Parquet); see alertd/sources/focus.py."""

    name: Name
    provider: Literal["focus"]
    path: str = Field(min_length=1)  # a file, a directory or a glob, relative to the rules file
    cost: Literal["BilledCost", "EffectiveCost"] = "BilledCost"
    line_item: Annotated[tuple[str, ...], BeforeValidator(_one_or_more), Field(min_length=1)] = ("ServiceName",)
    filter: Annotated[dict[str, tuple[str, ...]], BeforeValidator(_filter_values)] = Field(default_factory=dict)
    every: Duration = timedelta(hours=1)
    stale_after: Duration | None = None

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\0" in value or not value.strip():  # a NUL passes YAML, then fails every open() with a traceback
            raise ValueError("a path must not be empty nor hold a NUL character")
        return value

    @field_validator("line_item")
    @classmethod
    def _line_item_columns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_column(name) for name in value)

    @field_validator("filter")
    @classmethod
    def _filter_columns(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, allowed in value.items():
            _column(name)
            if not allowed:
                raise ValueError(f"filter {name}: list at least one value")
        return value


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
