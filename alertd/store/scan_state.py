"""What anomaly evaluation reads and keeps: series buckets summed in SQL, and per (rule, series)
the scan's checkpoint (`scan_state`) and the alert lifecycle (`series_state`)."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from alertd.model import SeriesState
from alertd.rules.anomaly import ScanState
from alertd.store.connection import Connection

_INTS = ("vals", "expected", "recent", "bounds")  # int64 lists; the rest are float64
_LISTS = ("vals", "expected", "ratios", "residuals", "level", "recent", "noise", "bounds")
_FIELDS = ("values", "expected", "ratios", "residuals", "level", "recent", "noise", "bounds")  # ScanState's names


@dataclass(frozen=True, slots=True)
class Head:
    """A stored checkpoint without its lists: enough to decide whether a series needs work."""

    fingerprint: str
    origin: int
    step: int
    start: int


class ScanStates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # --- state -------------------------------------------------------------------------------

    def heads(self, rule: str) -> dict[str, Head]:
        sql = "SELECT series, fingerprint, origin, step, start FROM scan_state WHERE rule = ?"
        return {series: Head(*rest) for series, *rest in self.conn.execute(sql, (rule,))}

    def load(self, rule: str, series: Iterable[str]) -> dict[str, ScanState]:
        """The checkpoints of these series of `rule` (only theirs are read: each is tens of KiB)."""
        sql = (
            f"SELECT series, step, start, known, nonzero, cusum, {', '.join(_LISTS)} FROM scan_state"
            " WHERE rule = ? AND series IN (SELECT value FROM json_each(?))"
        )
        found = {}
        for key, step, start, known, nonzero, cusum, *blobs in self.conn.execute(sql, (rule, json.dumps(list(series)))):
            lists = {f: _unpack(c, b) for f, c, b in zip(_FIELDS, _LISTS, blobs, strict=True)}
            found[key] = ScanState(start=start, step=step, known=known, nonzero=nonzero, cusum=cusum, **lists)
        return found

    def lifecycle(self, rule: str) -> dict[str, SeriesState]:
        sql = (
            "SELECT series, open_since, alerted, quiet, last_alert, last_bucket, excess, incident"
            " FROM series_state WHERE rule = ?"
        )
        return {
            series: SeriesState(o, bool(a), q, la, lb, ex, inc)
            for series, o, a, q, la, lb, ex, inc in self.conn.execute(sql, (rule,))
        }

    def save(
        self,
        rule: str,
        fingerprint: str,
        checkpoints: dict[str, tuple[int, ScanState]],
        lifecycle: dict[str, SeriesState],
    ) -> None:
        """Checkpoints (origin, state) and lifecycle states of one rule's series, in one transaction."""
        rows = [
            (
                rule,
                key,
                fingerprint,
                origin,
                s.step,
                s.start,
                s.known,
                s.nonzero,
                s.cusum,
                *(_pack(c, getattr(s, f)) for f, c in zip(_FIELDS, _LISTS, strict=True)),
            )
            for key, (origin, s) in checkpoints.items()
        ]
        with self.conn.write():
            self.conn.executemany(
                "INSERT OR REPLACE INTO scan_state (rule, series, fingerprint, origin, step, start, known, nonzero,"
                f" cusum, {', '.join(_LISTS)}) VALUES ({', '.join('?' * (9 + len(_LISTS)))})",
                rows,
            )
            self.conn.executemany(
                "INSERT OR REPLACE INTO series_state"
                " (rule, series, open_since, alerted, quiet, last_alert, last_bucket, excess, incident)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (rule, key, s.open_since, s.alerted, s.quiet, s.last_alert, s.last_bucket, s.excess, s.incident)
                    for key, s in lifecycle.items()
                ],
            )

    def forget(self, rule: str) -> None:
        """Everything kept for a rule: its definition changed, it starts fresh."""
        with self.conn.write():
            self.conn.execute("DELETE FROM scan_state WHERE rule = ?", (rule,))
            self.conn.execute("DELETE FROM series_state WHERE rule = ?", (rule,))

    # --- cost buckets (over the primary key: source, bucket_start, line_item) ------------------

    def step(self, source: str, since: int, until: int) -> int | None:
        """The longest bucket `source` reported in [since, until), None if it reported nothing."""
        sql = "SELECT max(bucket_seconds) FROM costs WHERE source = ? AND bucket_start >= ? AND bucket_start < ?"
        return self.conn.execute(sql, (source, since, until)).fetchone()[0]

    def reported(self, source: str, since: int, until: int) -> list[tuple[int, int]]:
        """(bucket start, seconds) of every bucket `source` reported anything for."""
        sql = (
            "SELECT bucket_start, max(bucket_seconds) FROM costs"
            " WHERE source = ? AND bucket_start >= ? AND bucket_start < ? GROUP BY bucket_start"
        )
        return self.conn.execute(sql, (source, since, until)).fetchall()

    def item_arrays(
        self, source: str, since: int, until: int, items: Sequence[str] | None, step: int
    ) -> Iterator[tuple[str, list[int], list[int], bool]]:
        """Per line item of `source` (the named ones; None: all) with rows starting in [since,
        until), `since` on the grid of `step`: their buckets' numbers counted from `since` (in the
        order SQLite groups them), their amounts (0 for a row ending after `until`), and whether
        every row starts on a bucket of `step` and lasts at most one. One row per line item."""
        where = "source = ?1 AND bucket_start >= ?2 AND bucket_start < ?3"
        params: list[object] = [source, since, until, step]
        if items is not None:
            where += " AND line_item IN (SELECT value FROM json_each(?5))"
            params.append(json.dumps(list(items)))
        sql = (
            "SELECT line_item, json_group_array((bucket_start - ?2) / ?4),"
            " json_group_array(CASE WHEN bucket_start + bucket_seconds <= ?3 THEN amount ELSE 0 END),"
            f" max(bucket_start % ?4 != 0 OR bucket_seconds > ?4) FROM costs WHERE {where} GROUP BY line_item"
        )
        for item, starts, amounts, odd in self.conn.execute(sql, params):
            yield item, json.loads(starts), json.loads(amounts), not odd

    def buckets(
        self, source: str, since: int, until: int, items: Sequence[str] | None, per_item: bool
    ) -> Iterator[tuple[str | None, int, int, int]]:
        """(line item or None, bucket start, seconds, amount) of `source` in [since, until), of the
        named line items (None: all); summed per bucket in SQL unless `per_item`. Streamed: a
        year of a source's line items is millions of rows."""
        where = "source = ? AND bucket_start >= ? AND bucket_start < ?"
        params: list[object] = [source, since, until]
        if items is not None:
            where += " AND line_item IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(list(items)))
        if per_item:
            sql = f"SELECT line_item, bucket_start, bucket_seconds, amount FROM costs WHERE {where}"
        else:
            sql = (
                f"SELECT NULL, bucket_start, max(bucket_seconds), sum(amount) FROM costs WHERE {where}"
                " GROUP BY bucket_start"
            )
        return self.conn.execute(sql, params)


def _pack(column: str, items: array) -> bytes:
    assert items.typecode == ("q" if column in _INTS else "d"), column
    return items.tobytes()


def _unpack(column: str, blob: bytes) -> array:
    items = array("q" if column in _INTS else "d")
    items.frombytes(blob)
    return items
