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

_MAX_ARMS = 500  # SQLite's most terms in one compound SELECT
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

    def day_arrays(
        self, sources: Sequence[str], first: int, end: int
    ) -> Iterator[tuple[str, str, list[int], list[int]]]:
        """Per (source, line_item) with spend in local days [first, end): those days (counted from
        `first`) and their amounts, as two lists. SQLite groups and encodes them, one row per
        series instead of one per day; a day may appear once per currency."""
        for source in sources:
            for item, days, amounts in self.conn.execute(
                "SELECT line_item, json_group_array(day - ?2), json_group_array(amount) FROM daily"
                " WHERE source = ?1 AND day >= ?2 AND day < ?3 GROUP BY line_item",
                (source, first, end),
            ):
                yield source, item, json.loads(days), json.loads(amounts)

    def hour_arrays(
        self, sources: Sequence[str], first: int, until: int
    ) -> Iterator[tuple[str, str, list[int], list[int], int]]:
        """Per (source, line_item): the hours (counted from `first`, a whole hour) and amounts of
        its one-hour buckets on the hour starting in [first, until), and where the newest ends.
        Other buckets are `rows_off_the_hour`'s."""
        for source in sources:
            for item, hours, amounts, newest in self.conn.execute(
                "SELECT line_item, json_group_array((bucket_start - ?2) / 3600), json_group_array(amount),"
                " max(bucket_start + bucket_seconds) FROM costs"
                " WHERE source = ?1 AND bucket_start >= ?2 AND bucket_start < ?3"
                " AND bucket_seconds = 3600 AND bucket_start % 3600 = 0 GROUP BY line_item",
                (source, first, until),
            ):
                yield source, item, json.loads(hours), json.loads(amounts), newest

    def rows_off_the_hour(
        self, sources: Sequence[str], first: int, until: int, reach: int
    ) -> Iterator[tuple[str, str, int, int, int]]:
        """Buckets starting in [first - reach, until) that end after `first` (a day-long bucket
        whose later hours fall in the range), but for the one-hour buckets on the hour starting at
        or after `first` (those are `hour_arrays`')."""
        for source in sources:
            yield from self.conn.execute(
                "SELECT source, line_item, bucket_start, bucket_seconds, amount FROM costs"
                " WHERE source = ? AND bucket_start >= ? AND bucket_start < ? AND bucket_start + bucket_seconds > ?"
                " AND NOT (bucket_seconds = 3600 AND bucket_start % 3600 = 0 AND bucket_start >= ?)",
                (source, first - reach, until, first, first),
            ).fetchall()

    def rows(self, sources: Sequence[str], since: int, until: int) -> Iterator[tuple[str, str, int, int, int]]:
        """(source, line_item, bucket_start, bucket_seconds, amount) of buckets starting in [since, until)."""
        for source in sources:
            yield from self.conn.execute(
                "SELECT source, line_item, bucket_start, bucket_seconds, amount FROM costs"
                " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?",
                (source, since, until),
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
        self, series: Sequence[tuple[str, str]], since: int, until: int, *, off_the_hour: bool = False
    ) -> Iterator[tuple[str, str, int, int, int]]:
        """(source, line_item, bucket_start, bucket_seconds, amount) of the named series' buckets
        starting in [since, until), in the order they end: as a replay sees them arrive. SQLite
        sorts, so memory stays flat however long the range. `off_the_hour`: but for the one-hour
        buckets on the hour (`hour_arrays`')."""
        items: dict[str, list[str]] = {}
        for source, item in series:
            items.setdefault(source, []).append(item)
        # One compound query, one sort by SQLite: each arm walks the primary key of one source. A
        # compound query holds at most 500 arms: past that, the queries' rows are merged here.
        arm = (
            "SELECT source, line_item, bucket_start, bucket_seconds, amount FROM costs"
            " WHERE source = ? AND bucket_start >= ? AND bucket_start < ?"
            " AND line_item IN (SELECT value FROM json_each(?))"
        ) + (" AND NOT (bucket_seconds = 3600 AND bucket_start % 3600 = 0)" if off_the_hour else "")
        sources = list(items.items())
        cursors = []
        for at in range(0, len(sources), _MAX_ARMS):
            group = sources[at : at + _MAX_ARMS]
            sql = f"SELECT * FROM ({' UNION ALL '.join([arm] * len(group))}) ORDER BY bucket_start + bucket_seconds"
            cursors.append(
                self.conn.execute(sql, [p for s, names in group for p in (s, since, until, json.dumps(names))])
            )
        if len(cursors) == 1:
            return cursors[0]
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
