"""Northflank hourly billing usage: `GET /v1/billing/usage` or `/v1/teams/{team}/billing/usage`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from alertd.config import NorthflankSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.money import to_micros
from alertd.sources.http import ApiClient, SourceError, paginate

PER_PAGE = 100
HOUR = 3600
# API field → line item, per price block; what the total holds beyond them is "<block>.other".
_PARTS = {
    "paasUsage": ("paas", {"cpu": "cpu", "memory": "memory", "storage": "storage", "gpu": "gpu"}),
    "byocUsage": (
        "byoc",
        {"vcpu": "vcpu", "memory": "memory", "gpuMemory": "gpu_memory", "cluster": "cluster"},
    ),
}


class Northflank:
    backfill_chunk = timedelta(hours=PER_PAGE * 24)  # 24 pages: a failure loses little

    def __init__(self, config: NorthflankSource, currency: str, client: ApiClient) -> None:
        self.name = config.name
        self.config = config
        self.currency = currency
        self.client = client
        self.path = f"/v1/teams/{config.team}/billing/usage" if config.team else "/v1/billing/usage"
        self.scale = Decimal("0.01") if config.unit == "cents" else Decimal(1)

    def close(self) -> None:
        self.client.close()

    def fetch(self, window: Window) -> FetchResult:
        hours = (window.end_ts - window.start_ts) // HOUR + 1
        max_pages = hours // PER_PAGE + 3  # one hour per entry; slack for a short last page

        def page(token: object | None) -> tuple[list[Any], object | None]:
            params: dict[str, Any] = {
                "per_page": PER_PAGE,
                "startTime": window.start_ts,
                "endTime": window.end_ts,
            }
            if isinstance(token, str):
                params["cursor"] = token
            elif isinstance(token, int):
                params["page"] = token
            body = self.client.get_json(self.path, params)
            usage, pagination = _page_parts(self.name, body)
            if not pagination.get("hasNextPage"):
                return usage, None
            cursor = pagination.get("cursor")
            if cursor:
                return usage, str(cursor)
            # No cursor given: fall back to page numbers.
            return usage, (token if isinstance(token, int) else 1) + 1

        records: list[CostRecord] = []
        for entry in paginate(self.name, page, max_pages):
            records.extend(self._records(entry))
        return FetchResult(records, complete_buckets=True)

    def _records(self, entry: Any) -> list[CostRecord]:
        if not isinstance(entry, dict) or "timestamp" not in entry:
            raise SourceError(f"{self.name}: unexpected usage entry (no timestamp)")
        try:
            start = int(Decimal(str(entry["timestamp"])))
        except ArithmeticError:
            raise SourceError(f"{self.name}: bad timestamp {entry['timestamp']!r}") from None
        records = []
        for field, (block, parts) in _PARTS.items():
            if block == "byoc" and not self.config.byoc:
                continue
            price = (entry.get(field) or {}).get("price")
            if not isinstance(price, dict):
                continue
            summed = 0
            for api_name, item in parts.items():
                if price.get(api_name) is not None:
                    amount = self._micros(price[api_name], start)
                    summed += amount
                    records.append(CostRecord(self.name, start, f"{block}.{item}", HOUR, amount, self.currency))
            if price.get("total") is not None:
                other = self._micros(price["total"], start) - summed
                if other:
                    records.append(CostRecord(self.name, start, f"{block}.other", HOUR, other, self.currency))
        return records

    def _micros(self, value: Any, start: int) -> int:
        try:
            return to_micros(value, scale=self.scale)
        except ValueError:
            raise SourceError(f"{self.name}: bad price {value!r} in the hour starting {start}") from None


def _page_parts(source: str, body: Any) -> tuple[list[Any], dict[str, Any]]:
    try:
        usage = body["data"]["usage"] if body["data"].get("usage") is not None else []
        pagination = body["pagination"]
    except (KeyError, TypeError, AttributeError):
        raise SourceError(f"{source}: unexpected response shape (no data.usage / pagination)") from None
    if not isinstance(usage, list) or not isinstance(pagination, dict):
        raise SourceError(f"{source}: unexpected response shape")
    return usage, pagination
