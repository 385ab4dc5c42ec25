"""Silences: time-boxed mutes of a rule (or one series of it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alertd.model import utc
from alertd.store.connection import Connection


@dataclass(frozen=True)
class Silence:
    id: int
    rule: str
    series: str | None
    starts: datetime
    ends: datetime
    reason: str | None

    def matches(self, rule: str, series: str | None, at: datetime) -> bool:
        return self.rule == rule and self.series in (None, series) and self.starts <= at < self.ends


def held_until(silences: Sequence[Silence], rule: str, series: str | None, at: datetime) -> datetime | None:
    """When the silences holding (rule, series) at `at` end (the latest, when several overlap); None: none does."""
    return max((s.ends for s in silences if s.matches(rule, series, at)), default=None)


class Silences:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, rule: str, series: str | None, starts: datetime, ends: datetime, reason: str | None) -> int:
        with self.conn.write():
            cursor = self.conn.execute(
                "INSERT INTO silences (rule, series, starts, ends, reason, created) VALUES (?, ?, ?, ?, ?, ?)",
                (rule, series, starts.timestamp(), ends.timestamp(), reason, starts.timestamp()),
            )
        return int(cursor.lastrowid or 0)

    def end(self, silence_id: int, now: datetime) -> bool:
        """End a silence now; False when there is no such silence still running."""
        with self.conn.write():
            cursor = self.conn.execute(
                "UPDATE silences SET ends = ? WHERE id = ? AND ends > ?", (now.timestamp(), silence_id, now.timestamp())
            )
        return cursor.rowcount == 1

    def active(self, now: datetime) -> list[Silence]:
        rows = self.conn.execute(
            "SELECT id, rule, series, starts, ends, reason FROM silences WHERE ends > ? ORDER BY id", (now.timestamp(),)
        )
        return [Silence(i, r, s, utc(a), utc(b), why) for i, r, s, a, b, why in rows]
