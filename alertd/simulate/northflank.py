"""A fake Northflank billing API: `GET /v1/billing/usage` and its team-scoped twin.

Follows the "List usage" endpoint page: bearer auth, `per_page` ≤ 100, `page`, opaque
`cursor`, `startTime` inclusive, `endTime` exclusive and only with `startTime`, hourly entries
newest first, prices served exactly as given, `x-ratelimit-*` headers on every response,
errors as `{"error": {"status", "message"}}`.

Run `python -m alertd.simulate.northflank --days 40` for a server with generated usage.
"""

from __future__ import annotations

import math
import re
import threading
import time
from typing import Any
from urllib.parse import unquote

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
from alertd.simulate.spend import northflank_hours

_ACCOUNT_PATH = "/v1/billing/usage"
_TEAM_PATH = re.compile(r"/v1/teams/([^/]+)/billing/usage")
_WINDOW_SECONDS = 3600  # the rate limit counts requests per hour


class FakeNorthflank(FakeServer):
    """Serves `usage` (unix hour → entry) for the account and `teams[teamId]` for team paths.

    The real `byocUsage` is the customer-level total on every path; the data given decides
    what is served, so team data should repeat the account's BYOC figures to be faithful.

    Extra fault kinds: "repeat_cursor" hands back a next cursor that leads to itself (the
    request's own cursor, or on a first page a fresh one that will be repeated), so a client
    that follows it never stops; "no_cursor" says `hasNextPage` but gives no cursor.
    """

    extra_fault_kinds = frozenset({"repeat_cursor", "no_cursor"})

    def __init__(
        self,
        usage: dict[int, dict[str, Any]],
        *,
        teams: dict[str, dict[int, dict[str, Any]]] | None = None,
        token: str = "nf-test-token",
        fail_rate: float = 0.0,
        seed: int = 0,
        ratelimit: int = 1000,
    ) -> None:
        super().__init__(fail_rate=fail_rate, seed=seed)
        self.token = token
        self.ratelimit = ratelimit
        # Copies, so only set_hour / set_team_hour change what is served.
        self._usage = dict(usage)
        self._teams = {team: dict(hours) for team, hours in (teams or {}).items()}
        self._state_lock = threading.Lock()
        self._cursors = CursorBook()
        self._looping: set[str] = set()
        self._used = 0
        self._window_ends = 0.0  # monotonic; the first request opens the first window

    def set_hour(self, ts: int, entry: dict[str, Any]) -> None:
        """Add or revise an account-level hour."""
        with self._state_lock:
            self._usage[ts] = entry

    def set_team_hour(self, team: str, ts: int, entry: dict[str, Any]) -> None:
        """Add or revise a team's hour (adding the team if it is new)."""
        with self._state_lock:
            self._teams.setdefault(team, {})[ts] = entry

    def error_body(self, status: int, message: str) -> object:
        return {"error": {"status": status, "message": message}}

    def meter(self) -> tuple[dict[str, str], bool]:
        with self._state_lock:
            now = time.monotonic()
            if now >= self._window_ends:
                self._used, self._window_ends = 0, now + _WINDOW_SECONDS
            over = self._used >= self.ratelimit
            if not over:
                self._used += 1
            headers = {
                "x-ratelimit-limit": str(self.ratelimit),
                "x-ratelimit-remaining": str(self.ratelimit - self._used),
                # min(): float rounding may put the fresh window a hair past a whole hour
                "x-ratelimit-reset": str(min(_WINDOW_SECONDS, math.ceil(self._window_ends - now))),
            }
        return headers, over

    def route(self, request: RecordedRequest, fault: Fault | None) -> Reply:
        if request.method != "GET":
            raise ApiError(405, "method not allowed")
        require_bearer(request, self.token)
        hours = self._hours_for(request.path)
        query = request.query
        per_page = optional_int(query, "per_page", status=400, lo=1, hi=100) or 50
        page = optional_int(query, "page", status=400, lo=1) or 1
        start = optional_int(query, "startTime", status=400)
        end = optional_int(query, "endTime", status=400)
        if end is not None and start is None:
            raise ApiError(400, "endTime requires startTime")

        newest_first = sorted(
            (ts for ts in hours if (start is None or ts >= start) and (end is None or ts < end)),
            reverse=True,
        )
        cursor = query.get("cursor")
        offset = (page - 1) * per_page
        if cursor is not None:
            # A cursor marks the last hour delivered, so hours arriving meanwhile at the top
            # neither shift nor repeat the pages that follow.
            before = self._cursors.redeem(cursor, status=400)["before"]
            offset = 0
            if before is not None:
                newest_first = [ts for ts in newest_first if ts < before]
        shown = newest_first[offset : offset + per_page]
        has_next = len(newest_first) > offset + per_page
        next_cursor = self._cursors.issue(before=shown[-1]) if has_next else None

        with self._state_lock:
            looping = cursor in self._looping
        if looping or (fault is not None and fault.kind == "repeat_cursor"):
            # `before=None` (the first page again) only when there is no page to point at.
            next_cursor = cursor or next_cursor or self._cursors.issue(before=None)
            has_next = True
            with self._state_lock:
                self._looping.add(next_cursor)
        elif fault is not None and fault.kind == "no_cursor":
            next_cursor, has_next = None, True

        pagination: dict[str, Any] = {"hasNextPage": has_next, "count": len(shown)}
        if next_cursor is not None:
            pagination["cursor"] = next_cursor
        usage = [hours[ts] for ts in shown]
        return json_reply(200, {"data": {"usage": usage}, "pagination": pagination})

    def _hours_for(self, path: str) -> dict[int, dict[str, Any]]:
        """A snapshot of the hours a path serves."""
        with self._state_lock:
            if path == _ACCOUNT_PATH:
                return dict(self._usage)
            match = _TEAM_PATH.fullmatch(path)
            if match is None:
                raise ApiError(404, "not found")
            team = self._teams.get(unquote(match[1]))
            if team is None:
                raise ApiError(404, "team not found")
            return dict(team)


def main(argv: list[str] | None = None) -> None:
    args = demo_arguments("Serve a fake Northflank billing API with generated usage.", 40).parse_args(argv)
    now = int(time.time())
    hours = args.days * 24
    first = now - now % 3600 - (hours - 1) * 3600  # the last hour is the current one
    server = FakeNorthflank(northflank_hours(first, hours, args.seed), fail_rate=args.fail_rate, seed=args.seed)
    serve_in_foreground(server, port=args.port, token=server.token)


if __name__ == "__main__":
    main()
