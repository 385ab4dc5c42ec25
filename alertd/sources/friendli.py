"""Friendli daily team cost: `GET /v1/team/cost`, grouped by line item."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.config import FriendliSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.daily import DAY_SECONDS, day_bucket, read_buckets, span_of, stated_days
from alertd.sources.http import ApiClient, SourceError
from alertd.sources.values import amount_micros, iso_utc, rfc3339, rfc3339_seconds, utc_midnight

log = logging.getLogger("alertd.sources")
DAY = timedelta(days=1)
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
        today = utc_midnight(now)
        start = max(utc_midnight(window.start), today - HISTORY)
        end = min(utc_midnight(window.end - timedelta(microseconds=1)) + DAY, today + DAY)
        if start >= end:
            return FetchResult([], complete_buckets=True)
        days = (end - start) // DAY
        params = {
            "start_time": rfc3339(start),
            "end_time": rfc3339(end),
            "bucket_width": "1d",
            "limit": LIMIT,
            "group_by": "line_item",
        }

        buckets = read_buckets(self.name, self.client, "/v1/team/cost", params, days // LIMIT + 3)
        records = cost_records(self.name, buckets, *span_of(start, end), self.currency)
        stated = stated_days(buckets, ("start_time", "end_time"), rfc3339_seconds, *span_of(start, end))
        return FetchResult(records, complete_buckets=True, restated=stated)


def cost_records(source: str, buckets: Iterable[Any], start: int, end: int, currency: str) -> list[CostRecord]:
    """The cost records of a response's daily buckets, all validated: raises SourceError naming
    the bucket and field of the first bad value. A bucket outside [start, end) is skipped; a
    line item listed twice for one day makes the response invalid (never a sum)."""
    records: dict[tuple[int, str], CostRecord] = {}
    for number, bucket in enumerate(buckets, start=1):
        bucket_start, results = day_bucket(source, number, bucket, ("start_time", "end_time"), rfc3339_seconds)
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
