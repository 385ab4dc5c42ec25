"""The store's connection: write transactions that wait their turn for the database's write lock.

The daemon and the user's commands beside it (import, silence, check, ...) write one database,
and SQLite lets one of them write at a time. A transaction that begins deferred and reads before
it writes cannot wait for the lock once another has written meanwhile (its snapshot is stale:
"database is locked" at once, whatever the busy timeout). So the connection runs in autocommit
mode and every write is a `write()` block, which takes the lock up front (BEGIN IMMEDIATE) and
waits for it. The BEGIN is the one statement of the block that meets another's lock, and nothing
is done before it, so trying it again is always safe.

A user's command waits one busy timeout and then says who holds the database. The daemon, which
has nobody to tell and has already fetched what it is about to write, keeps trying for several
(`patient`), in slices short enough to feed the watchdog and to stop within its promised 10 s.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alertd import lifecycle

# Seconds a write waits for another's lock; ALERTD_BUSY_TIMEOUT overrides it (tests shorten it).
BUSY_TIMEOUT = 10.0
PATIENCE = 6  # busy timeouts the daemon waits before it gives a write up for this cycle


class StoreError(Exception):
    pass


class Locked(StoreError):
    """Another process held the write lock for longer than this one would wait."""

    def __init__(self, path: Path, waited: float) -> None:
        super().__init__(f"database {path} is locked: another alertd holds it (waited {round(waited, 1):g} s)")


def unwritable(path: Path) -> str | None:
    """Why this process could not write the database at `path`, in words, or None.

    SQLite says only "unable to open database file" when it may not create the file, or the
    -wal and -shm files it keeps beside it, in the directory; and it opens a read-only file
    read-only without a word, for the first write to fail. Every command writes (a migration,
    the WAL's shared-memory index, even to read).
    """
    directory = path.parent
    if not directory.is_dir():
        return f"there is no directory {directory}"
    files = [path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")]
    for file in files:
        if file.exists() and not _may(file, os.R_OK | os.W_OK):
            return f"permission denied (the file {file} is not writable by user {_user()})"
    if not all(f.exists() for f in files) and not _may(directory, os.W_OK | os.X_OK):
        return f"permission denied (the directory {directory} is not writable by user {_user()})"
    return None


def _may(path: Path, mode: int) -> bool:
    """os.access as the process's effective user (the one SQLite opens files as)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def _user() -> str:
    import pwd  # only when there is a refusal to explain

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a name (a container's)
        return str(os.geteuid())


def is_locked(exc: BaseException) -> bool:
    """Whether `exc` is another process's lock outlasting the wait (SQLITE_BUSY, extended codes too)."""
    if isinstance(exc, Locked):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


class Connection(sqlite3.Connection):
    path: Path  # absolute, for messages
    wait: float  # seconds a write waits for the lock in all
    slice: float  # of which one attempt (SQLite's own busy timeout)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Connection:
        timeout = float(os.environ.get("ALERTD_BUSY_TIMEOUT", BUSY_TIMEOUT))
        target = f"{path.absolute().as_uri()}?mode=ro" if read_only else path
        # A read-only connection may pass between threads that take turns (the dashboard's pages).
        conn = sqlite3.connect(
            target, timeout=timeout, isolation_level=None, factory=cls, uri=read_only, check_same_thread=not read_only
        )
        conn.path, conn.wait, conn.slice = path.absolute(), timeout, timeout
        return conn

    def patient(self) -> None:
        """From now on a write waits PATIENCE busy timeouts for the lock, then raises Locked. It
        tries in attempts of at most lifecycle.TICK, each telling the watchdog how long it may be
        quiet; after a stop request it raises lifecycle.Stopped instead of trying again."""
        self.wait, self.slice = PATIENCE * self.wait, min(lifecycle.TICK, self.slice)
        self.execute(f"PRAGMA busy_timeout = {int(self.slice * 1000)}")

    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction, holding the write lock from its start; rolled back on any error."""
        began = time.monotonic()
        while True:
            lifecycle.beat(allow=self.slice)
            try:
                self.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if not is_locked(exc):
                    raise
                if lifecycle.stop_requested():  # nothing was written: the step is done again at the next start
                    raise lifecycle.Stopped from None
                waited = time.monotonic() - began
                if waited + self.slice > self.wait:
                    raise Locked(self.path, waited) from None
        with self._ending():
            yield

    @contextmanager
    def private(self) -> Iterator[None]:
        """A transaction that writes only TEMP tables: those are this connection's own, so it takes
        no lock on the database and waits for nobody (a long one starves no other writer)."""
        self.execute("BEGIN")
        with self._ending():
            yield

    @contextmanager
    def _ending(self) -> Iterator[None]:
        try:
            yield
            self.execute("COMMIT")
        except BaseException:
            if self.in_transaction:  # SQLite may have rolled back already (a full disk, say)
                self.execute("ROLLBACK")
            raise
