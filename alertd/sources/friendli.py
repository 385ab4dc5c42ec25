"""Friendli daily team cost: `GET /v1/team/cost`, grouped by line item."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.config import FriendliSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.http import ApiClient, SourceError, paginate
from alertd.sources.values import amount_micros, in_range, iso_utc

log = logging.getLogger("alertd.sources")
DAY = timedelta(days=1)
DAY_SECONDS = 86400
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
LIMIT = 35  # the API's maximum buckets per page
# The API refuses a start more than a year back; stay a day inside that.
HISTORY = timedelta(days=364)


class Friendli:
    backfill_chunk = timedelta(days=LIMIT * 6)

    currency = "USD"  # the API's totals are USD; the config check refuses another currency

    def __init__(self, config: FriendliSource, client: ApiClient) -> None:
        self.name = config.name
        self.client = client

    def close(self) -> None:
        self.client.close()

    def fetch(self, window: Window, now: datetime | None = None) -> FetchResult:
        now = now or datetime.now(UTC)
        today = _midnight(now)
        start = max(_midnight(window.start), today - HISTORY)
        end = min(_midnight(window.end - timedelta(microseconds=1)) + DAY, today + DAY)
        if start >= end:
            return FetchResult([], complete_buckets=True)
        days = (end - start) // DAY
        params = {
            "start_time": _rfc3339(start),
            "end_time": _rfc3339(end),
            "bucket_width": "1d",
            "limit": LIMIT,
            "group_by": "line_item",
        }

        def page(token: object | None) -> tuple[list[Any], object | None]:
            body = self.client.get_json("/v1/team/cost", {**params, "page": token} if token else params)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"{self.name}: unexpected response shape (no data list)")
            next_page = body.get("next_page")
            return body["data"], (str(next_page) if body.get("has_more") and next_page else None)

        buckets = paginate(self.name, page, days // LIMIT + 3)
        records = cost_records(self.name, buckets, int(start.timestamp()), int(end.timestamp()), self.currency)
        return FetchResult(records, complete_buckets=True)


def cost_records(source: str, buckets: Iterable[Any], start: int, end: int, currency: str) -> list[CostRecord]:
    """The cost records of a response's daily buckets, all validated: raises SourceError naming
    the bucket and field of the first bad value. A bucket outside [start, end) is skipped; a
    line item listed twice for one day makes the response invalid (never a sum)."""
    records: dict[tuple[int, str], CostRecord] = {}
    for number, bucket in enumerate(buckets, start=1):
        bucket_start, results = _bucket(source, number, bucket)
        where = f"{source}: bucket {number} ({iso_utc(bucket_start)[:10]})"
        if not start <= bucket_start < end:
            log.debug("%s: skipped, outside the window asked for", where)
            continue
        for result in results:
            item, amount = _result(where, result)
            if (bucket_start, item) in records:
                raise SourceError(f"{where}: line item {item!r} is listed twice in one response")
            records[bucket_start, item] = CostRecord(source, bucket_start, item, DAY_SECONDS, amount, currency)
    return list(records.values())


def _bucket(source: str, number: int, bucket: Any) -> tuple[int, list[Any]]:
    """A bucket's start (a UTC midnight, one day long) and its results."""
    if not isinstance(bucket, dict):
        raise SourceError(f"{source}: bucket {number} is not an object")
    try:
        start, end = (in_range(_parse_time(bucket.get(f))) for f in ("start_time", "end_time"))
    except ValueError as exc:
        raise SourceError(f"{source}: bucket {number}: {exc}") from None
    results = bucket.get("results")
    if results is None:
        results = []
    if start % DAY_SECONDS or end - start != DAY_SECONDS:
        raise SourceError(f"{source}: bucket {number} ({iso_utc(start)}): not one UTC day")
    if not isinstance(results, list):
        raise SourceError(f"{source}: bucket {number} ({iso_utc(start)[:10]}): results is not a list")
    return start, results


def _result(where: str, result: Any) -> tuple[str, int]:
    if not isinstance(result, dict):
        raise SourceError(f"{where}: a result is not an object")
    item = result.get("line_item")
    if item is not None and not isinstance(item, str):
        raise SourceError(f"{where}: a line_item is not a string")
    item = (item or "").strip() or "unattributed"
    if "total" not in result:
        raise SourceError(f"{where}: line item {item!r} has no total")
    try:
        return item, amount_micros(result["total"])
    except ValueError as exc:
        raise SourceError(f"{where}: total of {item!r} {exc}") from None


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> int:
    """RFC 3339 with an offset (Z or +hh:mm), ASCII digits only."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError(f"{value!r:.60} is not an RFC 3339 time")
    return int(datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00")).timestamp())
