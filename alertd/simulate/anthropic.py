"""A fake Anthropic Admin API cost report: `GET /v1/organizations/cost_report`.

Follows the endpoint page: `x-api-key` (an admin key, `sk-ant-admin…`) and `anthropic-version`
headers; `starting_at` (required, RFC 3339, snapped to the start of its UTC day), `ending_at`
(buckets ending at or before it), `bucket_width=1d` only, `group_by[]` any of `workspace_id`
and `description`, `limit` 1..31 (default 7), `page` (a `next_page` token); any other query
parameter is refused. One bucket per UTC day, today's included while it grows. Fields other
than `amount` and `currency` are null unless grouped by them, and ungrouped results are summed.
`amount` is in cents, a decimal string (`numbers=True`: a JSON number, to test strictness).
Errors are `{"type": "error", "error": {"type": …, "message": …}}`, bad queries a 400.

Run `python -m alertd.simulate.anthropic --days 60` for a server with generated costs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from alertd.simulate._server import (
    ApiError,
    DailyCosts,
    Fault,
    RecordedRequest,
    Reply,
    demo_arguments,
    json_reply,
    optional_int,
    optional_time,
    serve_in_foreground,
)
from alertd.simulate.spend import anthropic_days

_PATH = "/v1/organizations/cost_report"
_DAY = timedelta(days=1)
_PARAMETERS = frozenset({"starting_at", "ending_at", "bucket_width", "group_by[]", "limit", "page"})
_GROUPS = ("workspace_id", "description")
# Set only when grouped by description: what the description spells out.
_DESCRIBED = ("description", "model", "cost_type", "token_type", "context_window", "service_tier")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class FakeAnthropic(DailyCosts):
    """Serves `days` (UTC day → results as `spend.anthropic_days` makes them, amounts in cents).

    `now` (an aware datetime) decides which day is today. Extra fault kinds: "repeat_cursor"
    hands back a `next_page` that leads to itself, so a client that follows it never stops;
    "no_cursor" says `has_more` but gives no `next_page`.
    """

    extra_fault_kinds = frozenset({"repeat_cursor", "no_cursor"})

    def __init__(
        self,
        days: dict[date, list[dict[str, Any]]],
        *,
        token: str = "sk-ant-admin01-fake",
        numbers: bool = False,
        now: Callable[[], datetime] | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(days, now=now, fail_rate=fail_rate, seed=seed)
        self.token = token
        self.numbers = numbers

    def error_body(self, status: int, message: str) -> object:
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def route(self, request: RecordedRequest, fault: Fault | None) -> Reply:
        if request.path != _PATH:
            raise ApiError(404, f"Not found: {request.path}")
        if request.method != "GET":
            raise ApiError(405, f"Method {request.method} not allowed")
        key = request.headers.get("x-api-key")
        if not key:
            raise ApiError(401, "x-api-key header is required")
        if key != self.token or not key.startswith("sk-ant-admin"):
            raise ApiError(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            raise ApiError(400, "anthropic-version: header is required")
        query = request.query
        unknown = sorted({name for name, _ in request.pairs} - _PARAMETERS)
        if unknown:
            raise ApiError(400, f"{unknown[0]}: Extra inputs are not permitted")
        groups = request.values("group_by[]")
        if any(group not in _GROUPS for group in groups):
            raise ApiError(400, "group_by[]: Input should be 'workspace_id' or 'description'")
        if query.get("bucket_width", "1d") != "1d":
            raise ApiError(400, "bucket_width: Input should be '1d'")
        limit = optional_int(query, "limit", status=400, lo=1, hi=31) or 7
        starting_at = optional_time(query, "starting_at", status=400)
        if starting_at is None:
            raise ApiError(400, "starting_at: Field required")
        ending_at = optional_time(query, "ending_at", status=400)
        if ending_at is not None and ending_at <= starting_at:
            raise ApiError(400, "ending_at must be after starting_at")

        start = starting_at.astimezone(UTC).date()  # snapped to the start of the day
        tomorrow = self._now().astimezone(UTC).date() + _DAY
        # A day [d, d + 1) ends by ending_at when d + 1 is at most ending_at's own UTC day.
        end = tomorrow if ending_at is None else min(tomorrow, ending_at.astimezone(UTC).date())
        first = start
        cursor = query.get("page")
        if cursor is not None:
            first = date.fromisoformat(self._cursors.redeem(cursor, status=400)["day"])
            if not start <= first <= end:  # at `end`: an empty page
                raise ApiError(400, "page: does not belong to this time range")
        count = max(0, min(limit, (end - first).days))
        with self._data_lock:
            days = {first + n * _DAY: list(self._days.get(first + n * _DAY, [])) for n in range(count)}
        buckets = [self._bucket(day, results, groups) for day, results in days.items()]
        after = first + count * _DAY
        next_page = self._cursors.issue(day=after.isoformat()) if after < end else None
        if self._cursors.looping(cursor) or (fault is not None and fault.kind == "repeat_cursor"):
            # The real next page once (an empty one past the end if there is none), then itself for ever.
            next_page = self._cursors.loop(cursor or next_page, day=end.isoformat())
        elif fault is not None and fault.kind == "no_cursor":
            return json_reply(200, {"data": buckets, "has_more": True, "next_page": None})
        return json_reply(200, {"data": buckets, "has_more": next_page is not None, "next_page": next_page})

    def _bucket(self, day: date, results: list[dict[str, Any]], groups: list[str]) -> dict[str, Any]:
        """One day's bucket: results summed over what is not grouped by, exactly (Decimal)."""
        shown_fields = [f for f in (*_DESCRIBED, "workspace_id") if ("description" if f in _DESCRIBED else f) in groups]
        sums: dict[tuple[Any, ...], Decimal] = {}
        for result in results:
            key = tuple(result.get(f) for f in shown_fields)
            sums[key] = sums.get(key, Decimal(0)) + Decimal(str(result["amount"]))
        shown = []
        for key, cents in sums.items():
            fields = dict.fromkeys((*_DESCRIBED, "workspace_id")) | dict(zip(shown_fields, key, strict=True))
            shown.append({"amount": cents if self.numbers else format(cents, "f"), "currency": "USD", **fields})
        return {"starting_at": _stamp(day), "ending_at": _stamp(day + _DAY), "results": shown}


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def main(argv: list[str] | None = None) -> None:
    parser = demo_arguments("Serve a fake Anthropic Admin API cost report with generated costs.", 60)
    parser.add_argument("--numbers", action="store_true", help="amounts as JSON numbers, not decimal strings")
    args = parser.parse_args(argv)
    today = datetime.now(UTC).date()
    days = anthropic_days(today - (args.days - 1) * _DAY, args.days, args.seed)
    server = FakeAnthropic(days, numbers=args.numbers, fail_rate=args.fail_rate, seed=args.seed)
    serve_in_foreground(server, port=args.port, token=server.token)


if __name__ == "__main__":
    main()
