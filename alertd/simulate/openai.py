"""A fake OpenAI organization costs API: `GET /v1/organization/costs`.

Follows the API reference: bearer auth with an admin key (`sk-admin-…`; the configured project
key is answered 403, any other key 401), `start_time` (unix seconds, inclusive, required),
`end_time` (exclusive, default: the next UTC midnight), `bucket_width=1d` only, `group_by` and
`project_ids` as arrays (`name=a&name=b` or `name[]=a`), `limit` 1..180 (default 7 buckets),
`page` cursors from `next_page`, one bucket per UTC day (the day holding `start_time` first),
errors as `{"error": {"message", "type", "param", "code"}}` (400 for a bad query). Amounts are
JSON numbers in currency units, or decimal strings with `strings=True` (the API documents
numbers; a client must read either exactly).

Run `python -m alertd.simulate.openai --days 60` for a server with generated costs.
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
    serve_in_foreground,
)
from alertd.simulate.spend import openai_days

PATH = "/v1/organization/costs"
_DAY = timedelta(days=1)
_GROUPS = frozenset({"project_id", "line_item"})
_MAX_LIMIT = 180
_ERROR_TYPES = {401: "invalid_request_error", 403: "insufficient_permissions", 429: "rate_limit_exceeded"}


class FakeOpenAI(DailyCosts):
    """Serves `days` (UTC day → results {"project_id", "line_item", "amount"} in `currency`
    units, as `spend.openai_days` makes them), grouped and filtered as each query asks.

    `now` (an aware datetime) sets the default `end_time`; `page_buckets` caps the buckets of a
    page below `limit` (a server may return fewer than asked), to exercise many pages.
    """

    def __init__(
        self,
        days: dict[date, list[dict[str, Any]]],
        *,
        token: str = "sk-admin-test",
        project_key: str | None = None,
        currency: str = "usd",
        strings: bool = False,
        page_buckets: int | None = None,
        now: Callable[[], datetime] | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(days, now=now, fail_rate=fail_rate, seed=seed)
        self.token = token
        self.project_key = project_key
        self.currency = currency
        self.strings = strings
        self.page_buckets = page_buckets

    def error_body(self, status: int, message: str) -> object:
        kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def route(self, request: RecordedRequest, fault: Fault | None) -> Reply:
        if request.path != PATH:
            raise ApiError(404, f"Invalid URL (GET {request.path})")
        if request.method != "GET":
            raise ApiError(405, f"Invalid method for URL ({request.method} {request.path})")
        self._authorize(request.headers.get("authorization"))
        query = request.query
        start = optional_int(query, "start_time", status=400, lo=0)
        if start is None:
            raise ApiError(400, "Missing required parameter: 'start_time'.")
        end = optional_int(query, "end_time", status=400, lo=0)
        if end is None:
            end = _midnight(self._now().astimezone(UTC).date() + _DAY)
        if end <= start:
            raise ApiError(400, "end_time must be after start_time")
        if query.get("bucket_width", "1d") != "1d":
            raise ApiError(400, "Invalid value for 'bucket_width': only '1d' is supported.")
        limit = optional_int(query, "limit", status=400, lo=1, hi=_MAX_LIMIT) or 7
        groups = frozenset(_array(request, "group_by"))
        if groups - _GROUPS:
            raise ApiError(400, f"Invalid value for 'group_by': {sorted(groups - _GROUPS)[0]!r}.")
        projects = frozenset(_array(request, "project_ids")) or None

        first = _day_of(start)
        last = _day_of(end - 1)
        signature = {"start": start, "end": end, "groups": sorted(groups), "projects": sorted(projects or ())}
        if "page" in query:
            state = self._cursors.redeem(query["page"], status=400)
            if state["query"] != signature:
                raise ApiError(400, "Invalid 'page': it belongs to another query.")
            first = date.fromisoformat(state["day"])
        count = min(limit, self.page_buckets or limit, (last - first).days + 1)
        with self._data_lock:
            days = {first + n * _DAY: list(self._days.get(first + n * _DAY, [])) for n in range(count)}
        buckets = [self._bucket(day, results, groups, projects) for day, results in days.items()]
        after = first + count * _DAY
        next_page = self._cursors.issue(day=after.isoformat(), query=signature) if after <= last else None
        body = {"object": "page", "data": buckets, "has_more": next_page is not None, "next_page": next_page}
        return json_reply(200, body)

    def _authorize(self, header: str | None) -> None:
        if not header or not header.startswith("Bearer "):
            raise ApiError(401, "You didn't provide an API key.")
        key = header.removeprefix("Bearer ")
        if key == self.token:
            return
        if self.project_key is not None and key == self.project_key:
            raise ApiError(403, "You have insufficient permissions for this operation. Missing scopes: api.usage.read.")
        raise ApiError(401, "Incorrect API key provided.")  # the real one quotes the key's ends: we never do

    def _bucket(
        self, day: date, results: list[dict[str, Any]], groups: frozenset[str], projects: frozenset[str] | None
    ) -> dict[str, Any]:
        sums: dict[tuple[str | None, str | None], Decimal] = {}
        for result in results:
            if projects is not None and result["project_id"] not in projects:
                continue
            key = (
                result["project_id"] if "project_id" in groups else None,
                result["line_item"] if "line_item" in groups else None,
            )
            sums[key] = sums.get(key, Decimal(0)) + Decimal(str(result["amount"]))
        shown = [
            {
                "object": "organization.costs.result",
                "amount": {"value": format(total, "f") if self.strings else total, "currency": self.currency},
                "line_item": item,
                "project_id": project,
            }
            for (project, item), total in sums.items()
        ]
        start = _midnight(day)
        return {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": shown}


def _array(request: RecordedRequest, name: str) -> list[str]:
    """An array parameter, written `name=a&name=b` or `name[]=a&name[]=b`."""
    return request.values(name) + request.values(f"{name}[]")


def _midnight(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp())


def _day_of(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def main(argv: list[str] | None = None) -> None:
    parser = demo_arguments("Serve a fake OpenAI organization costs API with generated costs.", 60)
    parser.add_argument("--strings", action="store_true", help="amounts as decimal strings, not numbers")
    args = parser.parse_args(argv)
    today = datetime.now(UTC).date()
    days = openai_days(today - (args.days - 1) * _DAY, args.days, args.seed)
    server = FakeOpenAI(days, strings=args.strings, fail_rate=args.fail_rate, seed=args.seed)
    serve_in_foreground(server, port=args.port, token=server.token)


if __name__ == "__main__":
    main()
