"""Anthropic Admin API cost report: `GET /v1/organizations/cost_report`, daily, per workspace
and description.

Line items are `<workspace>/<description>`, e.g. `wrkspc_01Ab…/Claude Sonnet 4 Usage - Input Tokens`
(`default/…` for the default workspace, whose id the API gives as null). The description is
Anthropic's own billing wording, the one its Console and invoices use; it names the model and the
token type in words, and it alone names the costs that have neither (web search, code execution,
session usage). The workspace goes first so that a budget's `line_items: ["wrkspc_01Ab…/*"]`
selects one workspace.

`amount` is a decimal string in cents. A record holds integer micro-dollars, so each (day, line
item) is rounded half-even to 1 micro-dollar (1/10,000 of a cent): a sum of N records is within
N/2 micro-dollars of Anthropic's exact figures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from alertd.config import AnthropicSource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.daily import DAY, DAY_SECONDS, day_bucket, day_span, read_buckets, span_of, stated_days
from alertd.sources.http import ApiClient, RetryPolicy, SourceError
from alertd.sources.values import amount_micros, iso_utc, rfc3339, rfc3339_seconds

log = logging.getLogger("alertd.sources")

PATH = "/v1/organizations/cost_report"
API_VERSION = "2023-06-01"
LIMIT = 31  # the API's maximum buckets per page
CENTS = Decimal("0.01")
DEFAULT_WORKSPACE = "default"  # the API's null workspace_id
REPORTED_CURRENCY = "USD"  # the endpoint's currency; a result may say so itself
_ADMIN_PREFIX = "sk-ant-admin"
_ADMIN_KEY_HELP = "the cost report needs an Admin API key, sk-ant-admin…, from Claude Console → Settings → Admin keys"


def client_for(source: AnthropicSource, retry: RetryPolicy | None) -> ApiClient:
    """A client sending the key as `x-api-key` (never as a bearer token) with the API version."""
    token = source.token.get_secret_value()
    # An ordinary key gets a 401 or 403 here: say which key to make, not just "check the token".
    help_text = _ADMIN_KEY_HELP if token.startswith(_ADMIN_PREFIX) else f"this is not an admin key: {_ADMIN_KEY_HELP}"
    return ApiClient(
        source.name,
        source.base_url,
        token,
        timeout=source.timeout.total_seconds(),
        headers={"anthropic-version": API_VERSION},
        retry=retry,
        auth_header="x-api-key",
        auth_scheme=None,
        hints={401: help_text, 403: help_text},
    )


class Anthropic:
    backfill_chunk = timedelta(days=LIMIT * 6)  # six pages: a failure loses little

    def __init__(self, config: AnthropicSource, currency: str, client: ApiClient) -> None:
        self.name = config.name
        self.currency = currency
        self.client = client
        # The endpoint has no workspace filter: alertd keeps only these (None: all).
        self.workspaces = frozenset(config.workspaces) if config.workspaces is not None else None

    def close(self) -> None:
        self.client.close()

    def fetch(self, window: Window, now: datetime | None = None) -> FetchResult:
        now = now or datetime.now(UTC)
        span = day_span(window, now)
        if span is None:
            return FetchResult([], complete_buckets=True)
        start, end = span
        params: dict[str, Any] = {
            "starting_at": rfc3339(start),
            "ending_at": rfc3339(end),
            "bucket_width": "1d",
            "group_by[]": ["workspace_id", "description"],
            "limit": LIMIT,
        }

        buckets = read_buckets(self.name, self.client, PATH, params, (end - start) // DAY // LIMIT + 3)
        records = cost_records(self.name, buckets, *span_of(start, end), self.currency, self.workspaces)
        stated = stated_days(buckets, ("starting_at", "ending_at"), rfc3339_seconds, *span_of(start, end))
        return FetchResult(records, complete_buckets=True, restated=stated)


def cost_records(
    source: str,
    buckets: Iterable[Any],
    start: int,
    end: int,
    currency: str,
    workspaces: frozenset[str] | None = None,
) -> list[CostRecord]:
    """The cost records of a response's daily buckets, all validated: raises SourceError naming the
    bucket and field of the first bad value. A bucket outside [start, end) is skipped; a line item
    listed twice for one day makes the response invalid (never a sum). With `workspaces`, only
    their line items are kept (after the whole response is validated)."""
    seen: set[tuple[int, str]] = set()
    records: list[CostRecord] = []
    for number, bucket in enumerate(buckets, start=1):
        bucket_start, results = day_bucket(source, number, bucket, ("starting_at", "ending_at"), rfc3339_seconds)
        where = f"{source}: bucket {number} ({iso_utc(bucket_start)[:10]})"
        if not start <= bucket_start < end:
            log.debug("%s: skipped, outside the window asked for", where)
            continue
        for result in results:
            workspace, item, amount = _result(where, result, currency)
            if (bucket_start, item) in seen:
                raise SourceError(f"{where}: line item {item!r} is listed twice in one response")
            seen.add((bucket_start, item))
            if workspaces is None or workspace in workspaces:
                records.append(CostRecord(source, bucket_start, item, DAY_SECONDS, amount, currency))
    return records


def _result(where: str, result: Any, currency: str) -> tuple[str, str, int]:
    """(workspace, line item, micro-units) of one result."""
    if not isinstance(result, dict):
        raise SourceError(f"{where}: a result is not an object")
    workspace, description = (result.get(f) for f in ("workspace_id", "description"))
    for field, value in (("workspace_id", workspace), ("description", description)):
        if value is not None and not isinstance(value, str):
            raise SourceError(f"{where}: a {field} is not a string")
    workspace = (workspace or "").strip() or DEFAULT_WORKSPACE
    item = f"{workspace}/{(description or '').strip() or 'unattributed'}"
    stated = result.get("currency")
    stated = REPORTED_CURRENCY if stated is None else stated
    if stated != currency:
        shown = repr(stated)[:20] if isinstance(stated, str) else "not a string"
        raise SourceError(f"{where}: {item!r} is in currency {shown}, not {currency}; alertd does not convert")
    if "amount" not in result:
        raise SourceError(f"{where}: line item {item!r} has no amount")
    try:
        return workspace, item, amount_micros(result["amount"], scale=CENTS)
    except ValueError as exc:
        raise SourceError(f"{where}: amount of {item!r} {exc}") from None
