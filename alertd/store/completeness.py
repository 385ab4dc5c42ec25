"""Through which instant each source's data is complete, advanced with its successful fetches."""

from __future__ import annotations

from alertd.rules.completeness import Reporting, advanced, established
from alertd.store.connection import Connection

# The newest bucket of a source that started by then: one probe of the primary key.
_NEWEST = """
SELECT bucket_start + bucket_seconds FROM costs
WHERE source = ? AND bucket_start <= ? ORDER BY bucket_start DESC LIMIT 1
"""


class Completeness:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, int]:
        """Per source that ever fetched successfully, the unix time its data is complete through."""
        return dict(self.conn.execute("SELECT source, through FROM completeness").fetchall())

    def advance(
        self, source: str, reporting: Reporting, window_start: int | None, window_end: int | None, finished: float
    ) -> None:
        """After a successful fetch of `source`, inside its write transaction."""
        row = self.conn.execute("SELECT through FROM completeness WHERE source = ?", (source,)).fetchone()
        current = row[0] if row else None
        newest = None
        if reporting.from_data:  # the data says how far it reaches, whatever window was read
            found = self.conn.execute(_NEWEST, (source, int(finished))).fetchone()
            newest, window_start = (found[0] if found else None), None
        through = advanced(current, window_start, established(reporting, window_end, finished, newest))
        if through is not None and through != current:
            self.conn.execute(
                "INSERT OR REPLACE INTO completeness (source, through, fetched) VALUES (?, ?, ?)",
                (source, through, finished),
            )
