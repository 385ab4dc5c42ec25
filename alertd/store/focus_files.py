"""What each FOCUS feed read of each of its export files, so that a poll parses only what changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from alertd.model import FocusFile

_COLUMNS = "path, size, mtime_ns, digest, reader, span_start, span_end"


class FocusFiles:
    """Writes join the caller's transaction: the states are replaced with the fetch that read them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def of(self, source: str) -> dict[str, FocusFile]:
        """The stored state of each file of `source`, by path."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM focus_files WHERE source = ?", (source,))
        return {row[0]: FocusFile(*row) for row in rows}

    def replace(self, source: str, files: Iterable[FocusFile]) -> None:
        """`files` are all the source's states now: a file no longer listed is forgotten."""
        self.forget(source)
        self.conn.executemany(
            f"INSERT INTO focus_files (source, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((source, f.path, f.size, f.mtime_ns, f.digest, f.reader, f.span_start, f.span_end) for f in files),
        )

    def forget(self, source: str) -> None:
        """After another writer (an import) touched the source: its next poll reads every file."""
        self.conn.execute("DELETE FROM focus_files WHERE source = ?", (source,))
