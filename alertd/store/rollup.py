"""The writer's bookkeeping: a per-local-day rollup of costs, and a log of what each write changed.

Budgets, reports and `status` sum whole local days from `daily` (one row per source, line item
and day) instead of every hourly row; only the part of a day that is cut (today, the same point
of the previous period) is read from `costs`. A day is a local date of one zone (the configured
`timezone`), so a period, which starts at a local midnight, is a range of days. The rollup is
refreshed from `costs` for the days a write touched, in the write's transaction (an import where
nothing was stored adds the sums it took instead); it is rebuilt whole when the zone changes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from alertd.store.connection import Connection

DAY = 86400
_EPOCH = date(1970, 1, 1).toordinal()

# `WHERE true`: SQLite's parser would otherwise read the ON CONFLICT as part of a join.
_REFRESH = """
INSERT INTO daily (source, day, line_item, currency, amount)
SELECT source, (bucket_start + :offset) / 86400, line_item, currency, sum(amount) FROM costs
WHERE source = :source AND bucket_start >= :start AND bucket_start < :end AND true
GROUP BY 2, 3, 4
ON CONFLICT (source, day, line_item, currency) DO UPDATE SET amount = amount + excluded.amount
"""

_ADD = """
INSERT INTO daily (source, day, line_item, currency, amount) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source, day, line_item, currency) DO UPDATE SET amount = amount + excluded.amount
"""


def offset(ts: int, tz: ZoneInfo) -> int:
    """Seconds the zone is ahead of UTC at `ts`."""
    return int((datetime.fromtimestamp(ts, tz).utcoffset() or timedelta(0)).total_seconds())


def local_day(ts: int, tz: ZoneInfo) -> int:
    """The local date holding the instant `ts`, as days since 1970-01-01."""
    return (ts + offset(ts, tz)) // DAY


def day_start(day: int, tz: ZoneInfo) -> int:
    """The UTC instant at which local date `day` begins (a midnight the zone skips: the moment after)."""
    midnight = datetime.combine(date.fromordinal(_EPOCH + day), clock(0), tz)
    return int(midnight.astimezone(UTC).timestamp())


def segments(start: int, end: int, tz: ZoneInfo) -> Iterator[tuple[int, int, int]]:
    """[start, end) cut where the zone's offset changes: (from, to, offset) pieces."""
    if start >= end:
        return
    here, first, t = offset(start, tz), start, start  # invariant: offset(t) == here
    while t < end - 1:
        probe = min(t + DAY, end - 1)  # offsets change at most once a day
        if offset(probe, tz) == here:
            t = probe
            continue
        same, other = t, probe  # narrow down to the second of the change
        while other - same > 1:
            middle = (same + other) // 2
            same, other = (middle, other) if offset(middle, tz) == here else (same, middle)
        yield first, other, here
        here, first, t = offset(other, tz), other, other
    yield first, end, here


class Rollup:
    def __init__(self, conn: Connection, tz: ZoneInfo) -> None:
        self.conn = conn
        self.tz = tz

    def kept_in_zone(self) -> bool:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'rollup_zone'").fetchone()
        return bool(row) and row[0] == self.tz.key

    def adopt_zone(self) -> None:
        """Rebuild the rollup if it was kept in another zone (or never kept)."""
        if self.kept_in_zone():
            return
        with self.conn.write():
            self.conn.execute("DELETE FROM daily")
            for source, first, last in self.conn.execute(
                "SELECT source, min(bucket_start), max(bucket_start) FROM costs GROUP BY source"
            ).fetchall():
                self._refresh(source, first, last + 1)
            self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rollup_zone', ?)", (self.tz.key,))

    def track(self, source: str, first_start: int, last_end: int) -> None:
        """Buckets of `source` starting in [first_start, last_end) changed: log it, refresh their days.

        Call inside the write's transaction, after the costs are written.
        """
        self._log_change(source, first_start, last_end)
        self._refresh(source, first_start, last_end)

    def track_added(
        self, source: str, first_start: int, last_end: int, currency: str, days: Mapping[int, Mapping[str, int]]
    ) -> None:
        """Buckets of `source` in [first_start, last_end) were written, and no row of `source`
        starting between the first and the last of them was stored before: log it, and add their
        sums per local day and line item (`days`, in `currency`) to those days' rollup. What it
        held comes from other rows, so the result is what `track`'s refresh would compute, without
        reading the written rows back.

        Call inside the write's transaction.
        """
        self._log_change(source, first_start, last_end)
        rows = ((source, day, item, currency, amount) for day, items in days.items() for item, amount in items.items())
        self.conn.executemany(_ADD, rows)

    def _log_change(self, source: str, first_start: int, last_end: int) -> None:
        self.conn.execute(
            "INSERT INTO changes (source, first_start, last_end, at) VALUES (?, ?, ?, ?)",
            (source, first_start, last_end, time.time()),
        )

    def _refresh(self, source: str, first_start: int, last_end: int) -> None:
        first_day = local_day(first_start, self.tz)
        last_day = local_day(max(first_start, last_end - 1), self.tz)
        start, end = day_start(first_day, self.tz), day_start(last_day + 1, self.tz)
        self.conn.execute("DELETE FROM daily WHERE source = ? AND day >= ? AND day <= ?", (source, first_day, last_day))
        for a, b, off in segments(start, end, self.tz):
            self.conn.execute(_REFRESH, {"offset": off, "source": source, "start": a, "end": b})

    def changes_since(self, after: int) -> tuple[dict[str, tuple[int, int]], int]:
        """What changed after change `after`: per source, (first bucket start, last bucket end),
        and the newest change id (to pass next time)."""
        changed: dict[str, tuple[int, int]] = {}
        newest = after
        for source, first, last, top in self.conn.execute(
            "SELECT source, min(first_start), max(last_end), max(id) FROM changes WHERE id > ? GROUP BY source",
            (after,),
        ):
            changed[source] = (first, last)
            newest = max(newest, top)
        return changed, newest

    def newest_change_per_source(self, after: int) -> dict[str, int]:
        """Per source with changes after change `after`, its newest change id."""
        rows = self.conn.execute("SELECT source, max(id) FROM changes WHERE id > ? GROUP BY source", (after,))
        return dict(rows.fetchall())

    def cursor(self, name: str) -> int:
        """The newest change a reader of the change log (e.g. the anomaly pass) has taken in."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (f"cursor:{name}",)).fetchone()
        return int(row[0]) if row else 0

    def set_cursor(self, name: str, change_id: int) -> None:
        with self.conn.write():
            self.conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"cursor:{name}", str(change_id))
            )

    def prune(self, upto: int) -> None:
        """Forget changes every reader has taken in (ids up to `upto`)."""
        with self.conn.write():
            self.conn.execute("DELETE FROM changes WHERE id <= ?", (upto,))
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES ('pruned', ?1)"
                " ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), ?1)",
                (upto,),
            )

    def pruned(self) -> int:
        """Changes up to this id may be gone: a reader that took in less must read afresh."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'pruned'").fetchone()
        return int(row[0]) if row else 0

    def newest_change(self) -> int:
        return self.conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0]
