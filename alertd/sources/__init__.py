"""One module per provider API; `build` turns a source's config into something to fetch from."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from alertd.config import (
    AnthropicSource,
    Config,
    CsvSource,
    FocusSource,
    FriendliSource,
    NorthflankSource,
    OpenAISource,
)
from alertd.model import FetchResult, Window

if TYPE_CHECKING:
    from alertd.sources.http import RetryPolicy

__all__ = ["Source", "SourceError", "build"]


class SourceError(Exception):
    """A fetch failed; the message names the source and never carries a secret.

    Here, not in `http`, so that the CSV reader (and `alertd import`) does not load httpx.
    """


class Source(Protocol):
    name: str
    backfill_chunk: timedelta  # the longest window one fetch covers during a backfill

    def fetch(self, window: Window) -> FetchResult: ...

    def close(self) -> None: ...


def build(config: Config, name: str, retry: RetryPolicy | None = None) -> Source:
    source = config.source(name)
    if isinstance(source, CsvSource):
        from alertd.sources.csvfile import CsvFeed

        return CsvFeed(source, config.currency)
    if isinstance(source, FocusSource):
        from alertd.sources.focus import FocusFeed

        return FocusFeed(source, config.currency)
    from alertd.sources.friendli import Friendli  # these load httpx (~0.1 s): only for HTTP sources
    from alertd.sources.http import ApiClient
    from alertd.sources.northflank import Northflank

    timeout = source.timeout.total_seconds()
    token = source.token.get_secret_value()
    if isinstance(source, NorthflankSource):
        client = ApiClient(source.name, source.base_url, token, timeout=timeout, retry=retry)
        return Northflank(source, config.currency, client)
    if isinstance(source, OpenAISource):
        from alertd.sources.openai import OpenAI
        from alertd.sources.openai import client_for as openai_client

        return OpenAI(source, config.currency, openai_client(source, retry))
    if isinstance(source, AnthropicSource):
        from alertd.sources.anthropic import Anthropic, client_for

        return Anthropic(source, config.currency, client_for(source, retry))
    assert isinstance(source, FriendliSource)
    headers = {"X-Friendli-Team": source.team} if source.team else None
    client = ApiClient(source.name, source.base_url, token, timeout=timeout, headers=headers, retry=retry)
    return Friendli(source, client)
