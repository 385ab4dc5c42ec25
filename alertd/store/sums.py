"""Reads of spend that let SQLite do the summing: whole local days from the rollup, and only the
cut edges of a range (today, a point inside a day) from the cost rows.

Every query walks a primary key: `daily (source, day, ...)` and `costs (source, bucket_start, ...)`,
one source at a time, so its cost follows the range asked for, not what is stored.
"""

from __future__ import annotations

import heapq
import json
import sqlite3
from collections.abc import Iterator, Sequence
from zoneinfo import ZoneInfo

from alertd.store.rollup import day_start, local_day

# Distinct sources by skipping through the key, one probe per source instead of a scan.
_SOURCES = """
WITH RECURSIVE s(name) AS (
    SELECT min(source) FROM daily
    UNION ALL SELECT (SELECT min(source) FROM daily WHERE source > name) FROM s WHERE name IS NOT NULL
)
SELECT name FROM s WHERE name IS NOT NULL
"""


class Sums:
    def __init__(self, conn: sqlite3.Connection, tz: ZoneInfo) -> None:
        self.conn = conn
        self.tz = tz

    def sources(self) -> list[str]:
        """Every source with stored costs."""
        return [name for (name,) in self.conn.execute(_SOURCES)]

    def days(self, sources: Sequence[str], first: int, end: int) -> Iterator[tuple[str, str, int, int]]:
        """(source, line_item, day, amount) for local days [first, end) of the rollup's zone."""
        for source in sources:
            yield from self.conn.execute(
                "SELECT source, line_item, day, sum(amount) FROM daily"
                " WHERE source = ? AND day >= ? AND day < ? GROUP BY day, line_item",
                (source, first, end),
            )

    def rows(
        self, sources: Sequence[str], since: int, until: int, reach: int = 0
    ) -> Iterator[tuple[str, str, int, int, int]]:
        """(source, line_item, bucket_start, bucket_seconds, amount) of buckets starting in
        [since, until); with `reach`, also buckets starting up to `reach` seconds before `since`
        that last past it (a day-long bucket whose later hours fall in the range)."""
        for source in sources:
            yield from self.conn.execute(
                "SELECT source, line_item, bucket_start, bucket_seconds, amount FROM costs"
                " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?"
                " AND (bucket_start >= ? OR bucket_start + bucket_seconds > ?)",
                (source, since - reach, until, since, since),
            ).fetchall()  # in one go: a generator step per row costs more than the row

    def line_items(self, source: str, since: int, until: int) -> list[str]:
        """The line items `source` has buckets of starting in [since, until): whole days from the
        rollup, the cut days at either end from the cost rows."""
        first, end = self.whole_days(since, until)
        items = {
            item
            for (item,) in self.conn.execute(
                "SELECT DISTINCT line_item FROM daily WHERE source = ? AND day >= ? AND day < ?", (source, first, end)
            )
        }
        edges = (
            [(since, day_start(first, self.tz)), (day_start(end, self.tz), until)] if first < end else [(since, until)]
        )
        for a, b in edges:
            if a < b:
                items.update(
                    item
                    for (item,) in self.conn.execute(
                        "SELECT DISTINCT line_item FROM costs"
                        " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?",
                        (source, a, b),
                    )
                )
        return sorted(items)

    def series(self) -> list[tuple[str, str]]:
        """Every (source, line_item) with stored costs."""
        return self.conn.execute("SELECT DISTINCT source, line_item FROM daily ORDER BY 1, 2").fetchall()

    def arrivals(
        self, series: Sequence[tuple[str, str]], since: int, until: int
    ) -> Iterator[tuple[str, str, int, int, int]]:
        """(source, line_item, bucket_start, bucket_seconds, amount) of the named series' buckets
        starting in [since, until), in the order they end: as a replay sees them arrive. SQLite
        sorts, so memory stays flat however long the range."""
        items: dict[str, list[str]] = {}
        for source, item in series:
            items.setdefault(source, []).append(item)
        cursors = [
            self.conn.execute(
                "SELECT source, line_item, bucket_start, bucket_seconds, amount FROM costs"
                " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?"
                " AND line_item IN (SELECT value FROM json_each(?)) ORDER BY bucket_start + bucket_seconds",
                (source, since, until, json.dumps(names)),
            )
            for source, names in items.items()
        ]
        return heapq.merge(*cursors, key=lambda row: row[2] + row[3])

    def totals(self, since: int, until: int, *, by_day: bool) -> Iterator[tuple[str, str, int | None, str, int]]:
        """(source, line_item, local day or None, currency, amount) of buckets starting in
        [since, until), summed per line item (and per day with `by_day`)."""
        first, end = self.whole_days(since, until)
        day = "day" if by_day else "NULL"
        for source in self.sources():
            if first < end:
                yield from self.conn.execute(
                    f"SELECT source, line_item, {day}, currency, sum(amount) FROM daily"
                    f" WHERE source = ? AND day >= ? AND day < ? GROUP BY line_item, {day}, currency",
                    (source, first, end),
                )
                edges = [(since, day_start(first, self.tz)), (day_start(end, self.tz), until)]
            else:
                edges = [(since, until)]
            for a, b in edges:
                if a >= b:
                    continue
                for _, item, start, _, amount, currency in self.conn.execute(
                    "SELECT source, line_item, bucket_start, bucket_seconds, amount, currency FROM costs"
                    " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?",
                    (source, a, b),
                ):
                    yield source, item, local_day(start, self.tz) if by_day else None, currency, amount

    def whole_days(self, since: int, until: int) -> tuple[int, int]:
        """The local days [first, end) that lie wholly inside [since, until)."""
        first = local_day(since, self.tz)
        if day_start(first, self.tz) < since:
            first += 1
        end = local_day(until, self.tz)
        return first, max(first, end)
