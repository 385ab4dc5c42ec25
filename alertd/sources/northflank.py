"""Northflank hourly billing usage: `GET /v1/billing/usage` or `/v1/teams/{team}/billing/usage`."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from alertd.config import NorthflankSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.http import ApiClient, SourceError, paginate
from alertd.sources.values import amount_micros, iso_utc, unix_seconds

log = logging.getLogger("alertd.sources")

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

        entries = paginate(self.name, page, max_pages)
        return FetchResult(usage_records(self.name, entries, window, self.currency, self.scale, self.config.byoc), True)


def usage_records(
    source: str, entries: Iterable[Any], window: Window, currency: str, scale: Decimal, byoc: bool
) -> list[CostRecord]:
    """The cost records of a response's usage entries, all validated: raises SourceError naming
    the entry and field of the first bad value. An hour outside the window is skipped (the API
    was asked for the window only); an hour listed twice with other prices makes the response
    invalid (never a sum, never the last one silently)."""
    records: list[CostRecord] = []
    seen: dict[int, dict[str, Any]] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise SourceError(f"{source}: entry {number} is not an object")
        try:
            start = unix_seconds(entry.get("timestamp"))
        except ValueError as exc:
            raise SourceError(f"{source}: entry {number}: timestamp {exc}") from None
        where = f"{source}: entry {number} ({iso_utc(start)})"
        if start % HOUR:
            raise SourceError(f"{where}: not the start of an hour")
        if not window.start_ts <= start < window.end_ts:
            log.debug("%s: skipped, outside the window asked for", where)
            continue
        if start in seen:
            # Page numbers shift when an hour arrives mid-way: the same entry again is harmless.
            if seen[start] == entry:
                continue
            raise SourceError(f"{where}: the hour is listed twice in one response, with other prices")
        seen[start] = entry
        for field, (block, parts) in _PARTS.items():
            if block == "byoc" and not byoc:
                continue
            price = _price(entry, field, where)
            summed = 0
            for api_name, item in parts.items():
                if price.get(api_name) is not None:
                    amount = _micros(price[api_name], scale, f"{where}: {field}.price.{api_name}")
                    summed += amount
                    records.append(CostRecord(source, start, f"{block}.{item}", HOUR, amount, currency))
            if price.get("total") is not None:
                other = _micros(price["total"], scale, f"{where}: {field}.price.total") - summed
                if other:  # below zero when the parts round up past the total: the total is the bill
                    records.append(CostRecord(source, start, f"{block}.other", HOUR, other, currency))
    return records


def _price(entry: dict[str, Any], field: str, where: str) -> dict[str, Any]:
    """The entry's `field.price` object; {} when the block is absent or null."""
    usage = entry.get(field)
    if usage is None:
        return {}
    if not isinstance(usage, dict):
        raise SourceError(f"{where}: {field} is not an object")
    price = usage.get("price")
    if price is None:
        return {}
    if not isinstance(price, dict):
        raise SourceError(f"{where}: {field}.price is not an object")
    return price


def _micros(value: Any, scale: Decimal, where: str) -> int:
    try:
        return amount_micros(value, scale=scale)
    except ValueError as exc:
        raise SourceError(f"{where} {exc}") from None


def _page_parts(source: str, body: Any) -> tuple[list[Any], dict[str, Any]]:
    try:
        usage = body["data"]["usage"] if body["data"].get("usage") is not None else []
        pagination = body["pagination"]
    except (KeyError, TypeError, AttributeError):
        raise SourceError(f"{source}: unexpected response shape (no data.usage / pagination)") from None
    if not isinstance(usage, list) or not isinstance(pagination, dict):
        raise SourceError(f"{source}: unexpected response shape")
    return usage, pagination
