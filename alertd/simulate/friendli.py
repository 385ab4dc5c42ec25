"""A fake Friendli cost API: `GET /v1/team/cost`.

Follows the endpoint page: bearer auth, optional `X-Friendli-Team`, `start_time`/`end_time`
as zeroed RFC 3339 UTC timestamps within the last year and no later than the next UTC
midnight, `bucket_width=1d`, `limit` 1..35 (default 7), `group_by=line_item`, `page` cursors,
one bucket per UTC day, errors as `{"detail": "..."}` (422 for bad queries). Amounts are JSON
numbers before `strings_since` and decimal strings from then on, as the service changed.

Run `python -m alertd.simulate.friendli --days 60` for a server with generated costs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from alertd.simulate._server import (
    ApiError,
    CursorBook,
    FakeServer,
    Fault,
    RecordedRequest,
    Reply,
    demo_arguments,
    json_reply,
    optional_int,
    require_bearer,
    serve_in_foreground,
)
from alertd.simulate.spend import friendli_days

_PATH = "/v1/team/cost"
_DAY = timedelta(days=1)
_OLDEST = timedelta(days=365)  # "no earlier than one year ago", counted from today's midnight
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_AMOUNTS = ("total", "quantity", "unit_price")


class FakeFriendli(FakeServer):
    """Serves `days` (UTC day → results) by default and `teams[id]` for `X-Friendli-Team: id`.

    `now` (an aware datetime) anchors the one-year and next-midnight limits. Results are
    {"total", "quantity", "unit_price", "line_item"} as `spend.friendli_days` makes them.
    """

    def __init__(
        self,
        days: dict[date, list[dict[str, Any]]],
        *,
        teams: dict[str, dict[date, list[dict[str, Any]]]] | None = None,
        token: str = "flp_test",
        strings_since: date | None = None,
        now: Callable[[], datetime] | None = None,
        fail_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        super().__init__(fail_rate=fail_rate, seed=seed)
        self.token = token
        self.strings_since = strings_since
        self._now = now or (lambda: datetime.now(UTC))
        # Copies, so only set_day / set_team_day change what is served.
        self._days = dict(days)
        self._teams = {team: dict(team_days) for team, team_days in (teams or {}).items()}
        self._data_lock = threading.Lock()
        self._cursors = CursorBook()

    def set_day(self, day: date, results: list[dict[str, Any]]) -> None:
        """Add or revise the default team's day (costs arrive late and get revised)."""
        with self._data_lock:
            self._days[day] = results

    def set_team_day(self, team: str, day: date, results: list[dict[str, Any]]) -> None:
        """Add or revise a team's day (adding the team if it is new)."""
        with self._data_lock:
            self._teams.setdefault(team, {})[day] = results

    def error_body(self, status: int, message: str) -> object:
        return {"detail": message}

    def route(self, request: RecordedRequest, fault: Fault | None) -> Reply:
        if request.path != _PATH:
            raise ApiError(404, "Not Found")
        if request.method != "GET":
            raise ApiError(405, "Method Not Allowed")
        require_bearer(request, self.token)
        days = self._days_for(request.headers.get("x-friendli-team"))
        query = request.query
        start, end = _midnight(query, "start_time"), _midnight(query, "end_time")
        today = self._now().astimezone(UTC).date()
        if start < today - _OLDEST:
            raise ApiError(422, "start_time must be no earlier than one year ago")
        if end > today + _DAY:
            raise ApiError(422, "end_time must be no later than the next UTC midnight")
        if start >= end:
            raise ApiError(422, "start_time must be before end_time")
        if query.get("bucket_width", "1d") != "1d":
            raise ApiError(422, "bucket_width: only 1d is supported")
        limit = optional_int(query, "limit", status=422, lo=1, hi=35) or 7
        grouped = "group_by" in query
        if grouped and query["group_by"] != "line_item":
            raise ApiError(422, "group_by: only line_item is supported")

        first = start
        if "page" in query:
            first = date.fromisoformat(self._cursors.redeem(query["page"], status=422)["day"])
            if not start <= first < end:
                raise ApiError(422, "page does not belong to this time range")
        count = min(limit, (end - first).days)
        buckets = [self._bucket(first + n * _DAY, days.get(first + n * _DAY, []), grouped) for n in range(count)]
        after = first + count * _DAY
        next_page = self._cursors.issue(day=after.isoformat()) if after < end else None
        return json_reply(200, {"has_more": next_page is not None, "data": buckets, "next_page": next_page})

    def _days_for(self, team: str | None) -> dict[date, list[dict[str, Any]]]:
        """A snapshot of the days served to the default team or to `team`."""
        with self._data_lock:
            if not team:
                return dict(self._days)
            days = self._teams.get(team)
            if days is None:
                raise ApiError(403, f"not a member of team {team}")
            return dict(days)

    def _bucket(self, day: date, results: list[dict[str, Any]], grouped: bool) -> dict[str, Any]:
        as_strings = self.strings_since is not None and day >= self.strings_since

        def amount(value: object) -> Decimal | str:
            number = Decimal(str(value))
            return format(number, "f") if as_strings else number

        if grouped:
            shown = [
                result | {key: amount(result[key]) for key in _AMOUNTS if result.get(key) is not None}
                for result in results
            ]
        else:
            # Ungrouped, a day is one sum; quantities of different units do not add up.
            total = sum((Decimal(str(result["total"])) for result in results), Decimal(0))
            shown = [{"total": amount(total), "quantity": None, "unit_price": None, "line_item": None}] if total else []
        return {"start_time": _stamp(day), "end_time": _stamp(day + _DAY), "results": shown}


def _midnight(query: dict[str, str], name: str) -> date:
    """A required zeroed RFC 3339 UTC timestamp parameter, as its UTC day."""
    raw = query.get(name)
    if raw is None:
        raise ApiError(422, f"{name} is required")
    malformed = ApiError(422, f"{name} must be an RFC 3339 timestamp, e.g. 2026-01-01T00:00:00Z")
    if not _RFC3339.fullmatch(raw):
        raise malformed
    try:
        moment = datetime.fromisoformat(raw.upper())  # Python 3.11 wants an upper-case T and Z
    except ValueError:  # a well-formed impossible date, such as February 30th
        raise malformed from None
    if moment.utcoffset() != timedelta(0):
        raise ApiError(422, f"{name} must be in UTC")
    if moment.time() != time(0):
        raise ApiError(422, f"{name} must have its time portion zeroed")
    return moment.date()


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def main(argv: list[str] | None = None) -> None:
    parser = demo_arguments("Serve a fake Friendli cost API with generated costs.", 60)
    parser.add_argument(
        "--strings-since",
        type=date.fromisoformat,
        help="first day whose amounts are decimal strings (default: numbers throughout)",
    )
    args = parser.parse_args(argv)
    today = datetime.now(UTC).date()
    days = friendli_days(today - (args.days - 1) * _DAY, args.days, args.seed)
    server = FakeFriendli(days, strings_since=args.strings_since, fail_rate=args.fail_rate, seed=args.seed)
    serve_in_foreground(server, port=args.port, token=server.token)


if __name__ == "__main__":
    main()
