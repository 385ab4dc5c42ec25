"""What each CSV feed read of its file last time, so that a poll reads only what changed."""

from __future__ import annotations

import sqlite3

from alertd.model import FileState

_COLUMNS = "path, inode, size, mtime_ns, offset, lines, digest, last_bucket, beyond, window_start, window_end, reader"


class Files:
    """Writes join the caller's transaction: a state is saved with the fetch that read it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, source: str) -> FileState | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM csv_files WHERE source = ?", (source,)).fetchone()
        return FileState(*row) if row else None

    def save(self, source: str, state: FileState) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO csv_files (source, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source,
                state.path,
                state.inode,
                state.size,
                state.mtime_ns,
                state.offset,
                state.lines,
                state.digest,
                state.last_bucket,
                state.beyond,
                state.window_start,
                state.window_end,
                state.reader,
            ),
        )

    def forget(self, source: str) -> None:
        """After another writer (an import) touched the source: its next poll reads the file whole."""
        self.conn.execute("DELETE FROM csv_files WHERE source = ?", (source,))
