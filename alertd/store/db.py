"""Reads and writes of cost observations and the fetch log."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from alertd.model import CostRecord, FetchResult, SeriesState, Window
from alertd.rules.completeness import DEFAULT, Reporting
from alertd.store.budget_state import BudgetStates
from alertd.store.completeness import Completeness
from alertd.store.connection import Connection, Locked, StoreError, is_locked, unwritable
from alertd.store.feedback import Feedbacks
from alertd.store.files import Files
from alertd.store.focus_files import FocusFiles
from alertd.store.hours import Hours
from alertd.store.outbox import Outbox
from alertd.store.rollup import Rollup
from alertd.store.scan_state import ScanStates
from alertd.store.schema import current, migrate
from alertd.store.silences import Silences
from alertd.store.sums import Sums
from alertd.store.tally import Tally

_UPSERT = """
INSERT INTO costs (source, bucket_start, line_item, bucket_seconds, amount, currency, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, unixepoch(), unixepoch())
ON CONFLICT (source, bucket_start, line_item) DO UPDATE SET
    bucket_seconds = excluded.bucket_seconds,
    amount = excluded.amount,
    currency = excluded.currency,
    last_seen = excluded.last_seen
"""

# An import is staged keyed by bucket and line item, adding up rows of one key as they come: the
# staged rows are then summed and in key order for the one upsert into costs (faster than a
# GROUP BY, which sorts them all again). The import's one source and currency are bound once, in
# the upsert: four integer-led columns stage in about half the time of a CostRecord's six.
_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS staging (
    bucket_start INTEGER, line_item TEXT, bucket_seconds INTEGER, amount INTEGER,
    PRIMARY KEY (bucket_start, line_item)
) WITHOUT ROWID
"""

_STAGE = """
INSERT INTO temp.staging VALUES (?, ?, ?, ?)
ON CONFLICT DO UPDATE SET
    amount = amount + excluded.amount,
    bucket_seconds = max(bucket_seconds, excluded.bucket_seconds)
"""

# `WHERE true` tells SQLite's parser the ON CONFLICT belongs to the INSERT, not to a join.
_UPSERT_STAGED = """
INSERT INTO costs (source, bucket_start, line_item, bucket_seconds, amount, currency, first_seen, last_seen)
SELECT :source, bucket_start, line_item, bucket_seconds, amount, :currency, unixepoch(), unixepoch()
FROM temp.staging WHERE true
ON CONFLICT (source, bucket_start, line_item) DO UPDATE SET
    bucket_seconds = excluded.bucket_seconds,
    amount = excluded.amount,
    currency = excluded.currency,
    last_seen = excluded.last_seen
"""

# Staged rows that are stored as they are (one key probe each).
_DROP_STORED = """
DELETE FROM temp.staging WHERE EXISTS (
    SELECT 1 FROM costs c WHERE c.source = ? AND c.bucket_start = staging.bucket_start
    AND c.line_item = staging.line_item AND c.amount = staging.amount AND c.bucket_seconds = staging.bucket_seconds
)
"""

# What the upsert of the staged rows will change: new rows, and amounts it revises (the trigger's rows).
_NEW_OR_REVISED = """
SELECT count(*) FROM temp.staging s
LEFT JOIN costs c ON c.source = ? AND c.bucket_start = s.bucket_start AND c.line_item = s.line_item
WHERE c.amount IS NOT s.amount
"""

# A line item the provider no longer lists for a bucket it restated in full went to zero.
_ZERO_ABSENT = """
UPDATE costs SET amount = 0, last_seen = unixepoch()
WHERE source = ? AND bucket_start = ? AND amount != 0
  AND line_item NOT IN (SELECT value FROM json_each(?))
"""

# A FOCUS feed restates whole ranges: its stored rows there, and a row it no longer lists going to zero.
_STORED_IN = """
SELECT bucket_start, line_item, bucket_seconds FROM costs
WHERE source = ? AND bucket_start >= ? AND bucket_start < ? AND amount != 0
"""
_ZERO = "UPDATE costs SET amount = 0, last_seen = unixepoch() WHERE source = ? AND bucket_start = ? AND line_item = ?"


@dataclass(frozen=True)
class FetchLog:
    source: str
    kind: str
    window_start: int | None
    window_end: int | None
    started: float
    finished: float
    status: str
    rows: int
    changed: int
    error: str | None


@dataclass(frozen=True)
class Written:
    rows: int  # records written
    changed: int  # of which new or with a different amount


class Store:
    def __init__(self, path: Path, tz: ZoneInfo, *, read_only: bool = False) -> None:
        """`tz`: the zone whose local days the rollup sums, the configured `timezone` (opening a
        database kept in another zone rebuilds the rollup). `read_only` (the dashboard): SQLite
        refuses every write, so the database must be as this alertd left it: migrated, in `tz`."""
        path = Path(path)
        if read_only and not path.is_file():
            raise StoreError(f"no database at {path}: run `alertd backfill` first")
        if not read_only and (problem := unwritable(path)):  # a missing directory is not made (a typo would hide it)
            raise StoreError(f"cannot open database {path}: {problem}")
        try:
            self.conn = Connection.open(path, read_only=read_only)
            self.rollup = Rollup(self.conn, tz)
            if read_only:
                if not current(self.conn) or not self.rollup.kept_in_zone():
                    self.conn.close()
                    raise StoreError(
                        f"the database {path} is not up to date with this alertd and its rules: run `alertd check` once"
                    )
            else:
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable at each checkpoint
                migrate(self.conn)
                self.rollup.adopt_zone()
        except (OSError, sqlite3.Error) as exc:
            if is_locked(exc):  # a migration, which waits like any write
                raise Locked(self.conn.path, self.conn.wait) from None
            # in words, if that is why: the -wal and -shm files may have gone since the check
            raise StoreError(f"cannot open database {path}: {unwritable(path) or exc}") from None
        self.path = path
        self.outbox = Outbox(self.conn)
        self.silences = Silences(self.conn)
        self.files = Files(self.conn)
        self.focus_files = FocusFiles(self.conn)
        self.sums = Sums(self.conn, tz)
        self.hours = Hours(self.sums, self.rollup)  # held while the store is open
        self.budget_states = BudgetStates(self.conn)
        self.scan_states = ScanStates(self.conn)
        self.feedback = Feedbacks(self.conn)
        self.completeness = Completeness(self.conn)

    def patient(self) -> None:
        """Writes wait longer for another's lock, feeding the watchdog (the daemon's: see `Connection.patient`)."""
        self.conn.patient()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ----------------------------------------------------------------------------

    def record_fetch(
        self,
        source: str,
        kind: str,
        window: Window | None,
        started: float,
        result: FetchResult,
        reporting: Reporting = DEFAULT,
    ) -> Written:
        """Store one fetch's records, its log entry and the completeness it establishes (by how
        the provider `reporting`) in one transaction. `window`: None for a whole file read."""
        with self.conn.write():
            # Restated first: against the rows stored before, none on a first read (after the write,
            # a year of FOCUS buckets would be read back and matched against itself).
            zeroed = self._restate(source, result.records, result.restated) if result.restated else 0
            written = self._write(result.records, zero_absent_of=source if result.complete_buckets else None)
            written = Written(written.rows, written.changed + zeroed)
            if result.file is not None:
                self.files.save(source, result.file)
            if result.focus_files is not None:
                self.focus_files.replace(source, result.focus_files)
            start, end = _bounds(window)
            status = "ok" if result.error is None else "error"  # an error with records: stored, still a failure
            finished = self._log(source, kind, start, end, started, status, written, result.error)
            self.completeness.advance(source, reporting, start, end, finished)
        return written

    def record_failure(self, source: str, kind: str, window: Window | None, started: float, error: str) -> None:
        with self.conn.write():
            self._log(source, kind, *_bounds(window), started, "error", Written(0, 0), error)

    def import_records(self, source: str, records: Iterable[CostRecord], started: float) -> Written:
        """All of `records` (of `source`, in one currency) or, if iterating them raises, none of them.

        Rows of one bucket and line item are added up (a CSV may list several costs under one
        line item), so that importing the same file again changes nothing.

        The records are staged first, into this connection's own TEMP table: reading the file
        holds no lock, however long it is, and an import killed meanwhile leaves nothing (the
        table goes with the connection). The write lock is held only to copy what is new or
        different into `costs`, with the bookkeeping: about 0.6 s per million new rows, nothing
        for rows stored as they are, a few seconds per million revised ones (each is a revision).
        """
        self.conn.execute(_STAGING)
        tally = Tally(source, self.rollup.tz)
        with self.conn.private():
            # Emptied here rather than after: a command's one import leaves it to the connection's close.
            self.conn.execute("DELETE FROM temp.staging")
            self.conn.executemany(_STAGE, tally.staged(records))
            staged = self._drop_stored(source, tally)
        with self.conn.write():
            written = self._apply_staged(source, tally, staged)
            self.files.forget(source)  # its CSV feed's next poll reads the file whole, over the imported rows
            self.focus_files.forget(source)  # and a FOCUS feed's every file, restating what they cover
            self._log(source, "import", None, None, started, "ok", written, None)
        return written

    def _drop_stored(self, source: str, tally: Tally) -> int | None:
        """Before the lock: staged rows stored as they are leave staging (all of a file imported
        again), so that the write lock is held for what is new or different only. How many rows
        were staged, or None when no row of `source` was stored in their range (all are new)."""
        if tally.currency is None or not self._stored_between(source, tally.first, tally.last):
            return None
        staged = self.conn.execute("SELECT count(*) FROM temp.staging").fetchone()[0]
        self.conn.execute(_DROP_STORED, (source,))
        return staged

    def _apply_staged(self, source: str, tally: Tally, staged: int | None) -> Written:
        """Inside the write lock: the staged rows into `costs`, the rollup and the change log.

        A row that another writer stores or changes between `_drop_stored` and this is handled
        as if that writer came after the import: it keeps its amount where the import's was
        dropped as unchanged, and the count of what changed is taken here, against what is stored.
        """
        if tally.currency is None:
            return Written(0, 0)
        params = {"source": source, "currency": tally.currency}
        if staged is None and not self._stored_between(source, tally.first, tally.last):
            # Every row is new: the rollup adds the sums taken while staging.
            rows = self.conn.execute(_UPSERT_STAGED, params).rowcount
            self.rollup.track_added(source, tally.first, tally.end, tally.currency, tally.days)
            return Written(rows, rows)
        changed = self.conn.execute(_NEW_OR_REVISED, (source,)).fetchone()[0]
        first, end = self.conn.execute(
            "SELECT min(bucket_start), max(bucket_start + bucket_seconds) FROM temp.staging"
        ).fetchone()
        rows = self.conn.execute(_UPSERT_STAGED, params).rowcount
        if changed:
            self._track(source, first, end)
        return Written(rows if staged is None else staged, changed)

    def _stored_between(self, source: str, first_start: int, last_start: int) -> bool:
        """Whether a row of `source` starting in [first_start, last_start] is stored (one index probe)."""
        sql = "SELECT EXISTS (SELECT 1 FROM costs WHERE source = ? AND bucket_start BETWEEN ? AND ?)"
        return bool(self.conn.execute(sql, (source, first_start, last_start)).fetchone()[0])

    def _track(self, source: str, first_start: int, last_end: int) -> None:
        """Every write that changed buckets of `source` in [first_start, last_end) calls this in its
        transaction: the change log and the rollup follow. (An import into a range holding no
        stored row of its source calls `rollup.track_added` instead, with the sums it took.)"""
        self.rollup.track(source, first_start, last_end)

    def _write(self, records: Sequence[CostRecord], zero_absent_of: str | None) -> Written:
        """Upsert `records` (of one fetch). What is new or revised is found against the stored rows
        of the same range, so that the change log and the rollup see exactly what changed."""
        by_source: dict[str, list[CostRecord]] = {}
        for record in records:
            by_source.setdefault(record.source, []).append(record)
        changed = 0
        for source, rows in by_source.items():
            first, last = min(r.bucket_start for r in rows), max(r.bucket_start for r in rows)
            stored = {
                (start, item): (amount, seconds)
                for start, item, amount, seconds in self.conn.execute(
                    "SELECT bucket_start, line_item, amount, bucket_seconds FROM costs"
                    " WHERE source = ? AND bucket_start >= ? AND bucket_start <= ?",
                    (source, first, last),
                )
            }
            touched = [r for r in rows if stored.get((r.bucket_start, r.line_item)) != (r.amount, r.bucket_seconds)]
            if zero_absent_of == source:
                fresh = {(r.bucket_start, r.line_item) for r in rows}
                starts = {r.bucket_start for r in rows}
                zeroed = [
                    (start, seconds)
                    for (start, item), (amount, seconds) in stored.items()
                    if start in starts and amount != 0 and (start, item) not in fresh
                ]
            else:
                zeroed = []
            self.conn.executemany(_UPSERT, rows)
            if zeroed:
                self._zero_absent(source, rows)
            spans = [(start, start + seconds) for start, seconds in zeroed]
            if touched:  # its hull, without a tuple per row (a FOCUS year is a million of them)
                spans.append(
                    (min(r.bucket_start for r in touched), max(r.bucket_start + r.bucket_seconds for r in touched))
                )
            if spans:
                self._track(source, min(a for a, _ in spans), max(b for _, b in spans))
            changed += len(touched) + len(zeroed)
        return Written(len(records), changed)

    def _restate(self, source: str, records: Sequence[CostRecord], ranges: Sequence[tuple[int, int]]) -> int:
        """Stored rows of `source` starting in the [start, end) `ranges`, which `records` state in
        full, that `records` do not list went to zero (a revision each); how many."""
        stored = [row for span in ranges for row in self.conn.execute(_STORED_IN, (source, *span)).fetchall()]
        if not stored:  # a first read: nothing to zero, and no set of every record
            return 0
        fresh = {(r.bucket_start, r.line_item) for r in records}
        zeroed = [(start, item, seconds) for start, item, seconds in stored if (start, item) not in fresh]
        self.conn.executemany(_ZERO, ((source, start, item) for start, item, _ in zeroed))
        if zeroed:
            self._track(source, min(z[0] for z in zeroed), max(z[0] + z[2] for z in zeroed))
        return len(zeroed)

    def _zero_absent(self, source: str, records: Sequence[CostRecord]) -> None:
        items: dict[int, list[str]] = {}
        for record in records:
            items.setdefault(record.bucket_start, []).append(record.line_item)
        self.conn.executemany(_ZERO_ABSENT, ((source, start, json.dumps(names)) for start, names in items.items()))

    def _log(
        self,
        source: str,
        kind: str,
        start: int | None,
        end: int | None,
        started: float,
        status: str,
        written: Written,
        error: str | None,
    ) -> float:
        """Log a fetch; when it finished."""
        finished = time.time()
        self.conn.execute(
            "INSERT INTO fetches (source, kind, window_start, window_end, started, finished, status, rows, changed,"
            " error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                kind,
                start,
                end,
                started,
                finished,
                status,
                written.rows,
                written.changed,
                error,
            ),
        )
        return finished

    # --- reads -----------------------------------------------------------------------------

    def first_fetch_started(self, source: str) -> float | None:
        return self.conn.execute("SELECT min(started) FROM fetches WHERE source = ?", (source,)).fetchone()[0]

    def data_range(self) -> tuple[int, int] | None:
        """(first bucket start, last bucket end) of everything stored, or None when empty."""
        row = self.conn.execute("SELECT min(bucket_start), max(bucket_start + bucket_seconds) FROM costs").fetchone()
        return None if row[0] is None else (row[0], row[1])

    def last_fetch(self, source: str, status: str | None = None) -> FetchLog | None:
        """The newest fetch of `source` (of that status, if given)."""
        sql = (
            "SELECT source, kind, window_start, window_end, started, finished, status, rows, changed, error"
            " FROM fetches WHERE source = ?"
        )
        params: list[object] = [source]
        if status:
            sql += " AND status = ?"
            params.append(status)
        row = self.conn.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
        return FetchLog(*row) if row else None

    def series_states(self, rule: str) -> dict[str, SeriesState]:
        """The anomaly lifecycle of each series of `rule` (kept with its scan by `scan_states`)."""
        return self.scan_states.lifecycle(rule)


def _bounds(window: Window | None) -> tuple[int | None, int | None]:
    return (window.start_ts, window.end_ts) if window else (None, None)
