"""Feedback on anomaly alerts (see `alerts.feedback`): a row per alerted series, read back per rule."""

from __future__ import annotations

import json
from dataclasses import astuple, fields
from datetime import datetime

from alertd.alerts.feedback import Feedback
from alertd.model import series_key
from alertd.money import to_micros
from alertd.store.connection import Connection

_COLUMNS = "alert_id, rule, series, verdict, bucket_start, step, value, expected, until, note, created"


class NotAnAnomaly(LookupError):
    """The alert does not exist, or is not about one anomaly of a series."""


class Feedbacks:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def record(
        self, alert_id: int, verdict: str, until: datetime | None, note: str | None, now: datetime
    ) -> list[Feedback]:
        """Store what was said about alert `alert_id`, for each series it was about (an incident's
        alert: each line item); a second word on the same alert replaces the first."""
        row = self.conn.execute("SELECT rule, kind, facts FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise NotAnAnomaly(f"no alert {alert_id}")
        rule, kind, text = row
        facts = json.loads(text)
        if kind != "anomaly":
            raise NotAnAnomaly(f"alert {alert_id} is not an anomaly of a series (it is a {kind} alert)")
        if "step" not in facts:
            raise NotAnAnomaly(f"alert {alert_id} was decided by an older alertd, without what feedback needs")
        notes = [
            Feedback(
                alert_id,
                rule,
                series_key(told["series"]["source"], told["series"]["line_item"]),
                verdict,
                int(datetime.fromisoformat(told.get("bucket", facts["bucket"])).timestamp()),  # older: the lead's
                facts["step"],
                to_micros(told["value"]),
                to_micros(told["expected"]),
                None if until is None else int(until.timestamp()),
                note,
                int(now.timestamp()),
            )
            for told in (facts, *facts.get("also", ()))
        ]
        with self.conn.write():
            self.conn.executemany(
                f"INSERT OR REPLACE INTO feedback ({_COLUMNS}) VALUES ({', '.join('?' * len(fields(Feedback)))})",
                [astuple(n) for n in notes],  # the fields in the columns' order
            )
        return notes

    def of_rule(self, rule: str) -> dict[str, list[Feedback]]:
        """A rule's feedback per series, oldest first."""
        found: dict[str, list[Feedback]] = {}
        sql = f"SELECT {_COLUMNS} FROM feedback WHERE rule = ? ORDER BY created, alert_id"
        for row in self.conn.execute(sql, (rule,)):
            found.setdefault(row[2], []).append(Feedback(*row))
        return found

    def recent(self, limit: int) -> list[Feedback]:
        sql = f"SELECT {_COLUMNS} FROM feedback ORDER BY created DESC, alert_id DESC, series LIMIT ?"
        return [Feedback(*row) for row in self.conn.execute(sql, (limit,))]
