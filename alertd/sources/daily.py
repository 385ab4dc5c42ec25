"""What the daily cost APIs (Friendli, OpenAI, Anthropic) answer alike: a page of buckets, each
one UTC day with a list of results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from alertd.model import Window
from alertd.sources import SourceError
from alertd.sources.http import ApiClient, paginate
from alertd.sources.values import in_range, iso_utc, utc_midnight

DAY = timedelta(days=1)
DAY_SECONDS = 86400


def day_bucket(
    source: str, number: int, bucket: Any, fields: tuple[str, str], parse: Callable[[object, str], int]
) -> tuple[int, list[Any]]:
    """A bucket's start (a UTC midnight, one day long) and its results; `fields` name its start
    and end, `parse` reads one (raising ValueError that names the field)."""
    if not isinstance(bucket, dict):
        raise SourceError(f"{source}: bucket {number} is not an object")
    try:
        start, end = (in_range(parse(bucket.get(f), f)) for f in fields)
    except ValueError as exc:
        raise SourceError(f"{source}: bucket {number}: {exc}") from None
    if start % DAY_SECONDS or end - start != DAY_SECONDS:
        raise SourceError(f"{source}: bucket {number} ({iso_utc(start)}): not one UTC day")
    results = bucket.get("results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise SourceError(f"{source}: bucket {number} ({iso_utc(start)[:10]}): results is not a list")
    return start, results


def day_span(window: Window, now: datetime) -> tuple[datetime, datetime] | None:
    """The whole UTC days covering `window`, through the current, still-growing day and never
    into days that have not begun; None when that is no day."""
    start = utc_midnight(window.start)
    end = min(utc_midnight(window.end - timedelta(microseconds=1)) + DAY, utc_midnight(now) + DAY)
    return (start, end) if start < end else None


def data_page(source: str, body: Any) -> tuple[list[Any], str | None]:
    """A page's buckets (`data`) and the token of the next page, if `has_more` says there is one."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise SourceError(f"{source}: unexpected response shape (no data list)")
    if body.get("has_more") is not True:
        return body["data"], None
    next_page = body.get("next_page")
    if not isinstance(next_page, str) or not next_page:
        # Stopping here would take a part of the window for all of it, with no word said.
        raise SourceError(f"{source}: has_more is true but next_page is not a page token")
    return body["data"], next_page


def read_buckets(source: str, client: ApiClient, path: str, params: Mapping[str, Any], pages: int) -> list[Any]:
    """Every bucket of a paginated response (`page` tokens from `next_page`, see `data_page`),
    through at most `pages` pages; a list, as it is walked twice (records, then the days stated)."""

    def page(token: object | None) -> tuple[list[Any], object | None]:
        return data_page(source, client.get_json(path, {**params, "page": token} if token else params))

    return list(paginate(source, page, pages))


def stated_days(
    buckets: Iterable[Any], fields: tuple[str, str], parse: Callable[[object, str], int], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """The days of [start, end) that validated `buckets` state, as [start, end) runs: a day the API
    lists with no results says it cost nothing, so what was stored for it goes to zero."""
    days = sorted({day for day in (parse(b.get(fields[0]), fields[0]) for b in buckets) if start <= day < end})
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + DAY_SECONDS)
        else:
            runs.append((day, day + DAY_SECONDS))
    return tuple(runs)


def span_of(start: datetime, end: datetime) -> tuple[int, int]:
    return int(start.timestamp()), int(end.timestamp())
