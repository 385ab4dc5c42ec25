"""OpenAI organization costs: `GET /v1/organization/costs`, daily UTC buckets by project and
line item, read with an admin key.

Line items are `<project_id>/<line item>` (`proj_abc/gpt-4o-2024-08-06, input`), even when the
key sees a single project. A line item's name must not depend on how many projects there
are: the day a second project appears, every series would otherwise change its name, its
history would stop there, and the restated look-back days would zero the old names. Budgets
and anomaly rules select line items with globs, so `proj_abc/*` is one project and
`*/gpt-4o*` one model across all of them. Project ids, not names: they are what the API groups
by, and a project renamed must not split its series either. A cost the API attributes to no
project is `unattributed/<line item>`; a result with no line item is `<project>/unattributed`.

Amounts are JSON numbers in currency units, decoded as Decimal (never float) and rounded
half-even to the micro-unit per day and line item; an ASCII decimal string is read the same
way, should the API move to strings as Friendli's did. The currency must be the configured
one (the API writes it in lower case): another is an error naming it, never added.

A 401 or 403 almost always means a project key where an admin key is needed: the failure says
so in one line (the client's hint for those statuses, from the key's prefix), instead of the
client's generic "check the token".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from alertd.config import OpenAISource
from alertd.model import CostRecord, FetchResult, Window
from alertd.sources.daily import DAY, DAY_SECONDS, day_bucket, day_span, read_buckets, span_of, stated_days
from alertd.sources.http import ApiClient, RetryPolicy, SourceError
from alertd.sources.values import amount_micros, iso_utc, unix_seconds

log = logging.getLogger("alertd.sources")
PATH = "/v1/organization/costs"
LIMIT = 180  # the API's maximum buckets per page
GROUP_BY = ("project_id", "line_item")  # httpx sends a sequence as repeated keys
UNATTRIBUTED = "unattributed"
ADMIN_KEY_PREFIX = "sk-admin-"
ADMIN_KEY_NEEDED = "an admin key (sk-admin-…) is needed; project keys cannot read organization costs"


def client_for(source: OpenAISource, retry: RetryPolicy | None) -> ApiClient:
    """A client whose 401 and 403 say which key to make: an admin key refused was mistyped or revoked."""
    token = source.token.get_secret_value()
    admin = token.startswith(ADMIN_KEY_PREFIX)
    hints = {401: "the admin key is mistyped or was revoked" if admin else ADMIN_KEY_NEEDED, 403: ADMIN_KEY_NEEDED}
    return ApiClient(
        source.name, source.base_url, token, timeout=source.timeout.total_seconds(), retry=retry, hints=hints
    )


class OpenAI:
    # A window that is not aligned to midnights widens by a day: 179 days fill one page of 180.
    backfill_chunk = timedelta(days=LIMIT - 1)

    def __init__(self, config: OpenAISource, currency: str, client: ApiClient) -> None:
        self.name = config.name
        self.currency = currency
        self.project_ids = config.project_ids
        self.client = client

    def close(self) -> None:
        self.client.close()

    def fetch(self, window: Window, now: datetime | None = None) -> FetchResult:
        now = now or datetime.now(UTC)
        span = day_span(window, now)
        if span is None:
            return FetchResult([], complete_buckets=True)
        start, end = span
        params: dict[str, Any] = {
            "start_time": int(start.timestamp()),
            "end_time": int(end.timestamp()),
            "bucket_width": "1d",
            "group_by": GROUP_BY,
            "limit": LIMIT,
        }
        if self.project_ids:
            params["project_ids"] = self.project_ids

        # A page holds at least one bucket, else it is a loop: one page per day is the bound.
        buckets = read_buckets(self.name, self.client, PATH, params, (end - start) // DAY + 2)
        records = cost_records(self.name, buckets, *span_of(start, end), self.currency, self.project_ids)
        stated = stated_days(buckets, ("start_time", "end_time"), _unix, *span_of(start, end))
        return FetchResult(records, complete_buckets=True, restated=stated)


def cost_records(
    source: str,
    buckets: Iterable[Any],
    start: int,
    end: int,
    currency: str,
    project_ids: tuple[str, ...] | None = None,
) -> list[CostRecord]:
    """The cost records of a response's daily buckets, all validated: raises SourceError naming
    the bucket and field of the first bad value. A bucket outside [start, end) is skipped; a
    line item listed twice for one day makes the response invalid (never a sum). With
    `project_ids`, a result of another project means the filter was not applied: an error."""
    records: dict[tuple[int, str], CostRecord] = {}
    for number, bucket in enumerate(buckets, start=1):
        bucket_start, results = day_bucket(source, number, bucket, ("start_time", "end_time"), _unix)
        where = f"{source}: bucket {number} ({iso_utc(bucket_start)[:10]})"
        if not start <= bucket_start < end:
            log.debug("%s: skipped, outside the window asked for", where)
            continue
        for result in results:
            project, item, amount = _result(where, result, currency)
            if project_ids is not None and project not in project_ids:
                if project == UNATTRIBUTED:  # not any listed project's cost, so not this source's
                    log.debug("%s: skipped a cost of no project (project_ids is set)", where)
                    continue
                raise SourceError(f"{where}: project {project!r} is not in project_ids; the filter was not applied")
            line_item = f"{project}/{item}"
            if (bucket_start, line_item) in records:
                raise SourceError(f"{where}: line item {line_item!r} is listed twice in one response")
            record = CostRecord(source, bucket_start, line_item, DAY_SECONDS, amount, currency)
            records[bucket_start, line_item] = record
    return list(records.values())


def _result(where: str, result: Any, currency: str) -> tuple[str, str, int]:
    """(project, line item, micro-units) of one result, in the configured currency."""
    if not isinstance(result, dict):
        raise SourceError(f"{where}: a result is not an object")
    project, item = (_label(where, result, field) for field in ("project_id", "line_item"))
    name = f"{project}/{item}"
    amount = result.get("amount")
    if not isinstance(amount, dict) or "value" not in amount:
        raise SourceError(f"{where}: {name!r} has no amount.value")
    sent = amount.get("currency")
    if not isinstance(sent, str) or not sent.isascii() or sent.upper() != currency:
        shown = repr(sent[:12]) if isinstance(sent, str) else "missing" if sent is None else "not a string"
        raise SourceError(
            f"{where}: {name!r} is in currency {shown}, not {currency}; alertd does not convert currencies"
        )
    try:
        return project, item, amount_micros(amount["value"])
    except ValueError as exc:
        raise SourceError(f"{where}: amount.value of {name!r} {exc}") from None


def _label(where: str, result: dict[str, Any], field: str) -> str:
    value = result.get(field)
    if value is not None and not isinstance(value, str):
        raise SourceError(f"{where}: a {field} is not a string")
    return (value or "").strip() or UNATTRIBUTED


def _unix(value: object, field: str) -> int:
    try:
        return unix_seconds(value)
    except ValueError as exc:
        raise ValueError(f"{field} {exc}") from None
