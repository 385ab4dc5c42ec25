"""Friendli daily team cost: `GET /v1/team/cost`, grouped by line item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.config import FriendliSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.money import to_micros
from alertd.sources.http import ApiClient, SourceError, paginate

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

        records: dict[tuple[int, str], int] = {}
        for bucket in paginate(self.name, page, days // LIMIT + 3):
            bucket_start, seconds, results = self._bucket(bucket)
            for result in results:
                item, amount = self._result(result, bucket_start)
                records[bucket_start, item] = records.get((bucket_start, item), 0) + amount
        return FetchResult(
            [CostRecord(self.name, s, item, seconds, a, self.currency) for (s, item), a in records.items()],
            complete_buckets=True,
        )

    def _bucket(self, bucket: Any) -> tuple[int, int, list[Any]]:
        try:
            start = _parse_time(bucket["start_time"])
            end = _parse_time(bucket["end_time"])
            results = bucket.get("results") or []
        except (KeyError, TypeError, AttributeError, ValueError):
            raise SourceError(f"{self.name}: unexpected cost bucket {str(bucket)[:200]}") from None
        if end <= start or not isinstance(results, list):
            raise SourceError(f"{self.name}: unexpected cost bucket {str(bucket)[:200]}")
        return start, end - start, results

    def _result(self, result: Any, bucket_start: int) -> tuple[str, int]:
        if not isinstance(result, dict) or "total" not in result:
            raise SourceError(f"{self.name}: unexpected cost result {str(result)[:200]}")
        item = str(result.get("line_item") or "unattributed").strip()
        try:
            return item, to_micros(result["total"])
        except ValueError:
            raise SourceError(f"{self.name}: bad total {result['total']!r} for {item!r} on {bucket_start}") from None


def _midnight(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rfc3339(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
