"""The outbox: alerts decided, and their deliveries per channel URL."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from alertd.model import Alert, Message, Picture, Sent, Stated, facts_members, facts_series, utc
from alertd.money import to_micros
from alertd.store.connection import Connection


@dataclass(frozen=True)
class Target:
    channel: str
    index: int  # of the URL within the channel
    masked: str


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    channel: str
    target: int
    target_masked: str
    attempts: int
    alert_created: datetime
    severity: str
    facts: dict[str, object]
    message: Message
    picture: Picture | None = None


@dataclass(frozen=True)
class Attempt:
    at: datetime  # when that send ended
    ok: bool
    error: str | None  # masked


@dataclass(frozen=True)
class Logged:
    """One delivery as the log shows it: its alert and target, where it stands now, every attempt in order."""

    id: int
    alert: str  # the title
    rule: str
    series: str | None  # of an anomaly alert: what a silence may name
    channel: str
    url: str  # masked
    status: str  # as stored: pending, sent, failed, silenced, suppressed
    next_attempt: datetime
    attempts: tuple[Attempt, ...]

    @property
    def state(self) -> str:
        """One word, never a failed attempt's: pending, retrying, sent, given_up, silenced or dropped
        (held by a silence that ended after the alert stopped firing)."""
        if self.status == "pending":
            return "retrying" if self.attempts else "pending"
        return {"failed": "given_up", "suppressed": "dropped"}.get(self.status, self.status)

    def as_json(self, tz: tzinfo) -> dict[str, object]:
        def local(moment: datetime) -> str:
            return moment.astimezone(tz).isoformat(timespec="seconds")

        return {
            "id": self.id,
            "alert": self.alert,
            "rule": self.rule,
            "channel": self.channel,
            "url": self.url,
            "state": self.state,
            "next_attempt": local(self.next_attempt) if self.status == "pending" else None,
            "attempts": [
                {"attempt": n, "at": local(a.at), "result": "sent" if a.ok else "failed", "error": a.error}
                for n, a in enumerate(self.attempts, start=1)
            ],
        }


class Outbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def sent(self, rule: str, period_start: datetime) -> list[Sent]:
        rows = self.conn.execute(
            "SELECT kind, threshold, repeat, created FROM alerts WHERE rule = ? AND period_start = ? ORDER BY id",
            (rule, int(period_start.timestamp())),
        )
        return [Sent(kind, Decimal(threshold or 0), repeat, utc(created)) for kind, threshold, repeat, created in rows]

    def stated(self, rule: str, period_start: datetime) -> Stated | None:
        """What the summary of `rule`'s period from `period_start` said, if one was sent."""
        row = self.conn.execute(
            "SELECT facts FROM alerts WHERE rule = ? AND period_start = ? AND kind = 'summary'",
            (rule, int(period_start.timestamp())),
        ).fetchone()
        if row is None:
            return None
        facts = json.loads(row[0])
        by_source = {source: to_micros(amount) for source, amount in facts.get("by_source", {}).items()}
        return Stated(to_micros(facts["spent"]), by_source, bool(facts.get("incomplete")))

    def enqueue(
        self,
        alert: Alert,
        message: Message,
        facts: dict[str, object],
        targets: list[Target],
        now: datetime,
        silenced: bool = False,
        picture: Picture | None = None,
    ) -> bool:
        """Write the alert, its picture and its deliveries in one transaction; False if its key exists."""
        created = now.timestamp()
        with self.conn.write():
            cursor = self.conn.execute(
                "INSERT OR IGNORE INTO alerts (key, rule, kind, period_start, threshold, severity, repeat, created,"
                " title, text, markdown, html, facts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    alert.key,
                    alert.rule,
                    alert.kind,
                    int(alert.period_start.timestamp()),
                    None if alert.threshold is None else str(alert.threshold),
                    alert.severity,
                    alert.repeat,
                    created,
                    message.title,
                    message.text,
                    message.markdown,
                    message.html,
                    json.dumps(facts, sort_keys=True),
                ),
            )
            if cursor.rowcount == 0:
                return False
            if picture is not None:
                self.conn.execute(
                    "INSERT INTO pictures (alert_id, png, alt) VALUES (?, ?, ?)",
                    (cursor.lastrowid, picture.png, picture.alt),
                )
            self.conn.executemany(
                "INSERT INTO deliveries (alert_id, channel, target, target_masked, status, next_attempt)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (cursor.lastrowid, t.channel, t.index, t.masked, "silenced" if silenced else "pending", created)
                    for t in targets
                ],
            )
        return True

    def silenced(self) -> list[tuple[int, str, str, int, dict[str, object]]]:
        """Alerts held by a silence: (alert id, rule, kind, period start, facts)."""
        rows = self.conn.execute(
            "SELECT DISTINCT a.id, a.rule, a.kind, a.period_start, a.facts FROM alerts a"
            " JOIN deliveries d ON d.alert_id = a.id WHERE d.status = 'silenced'"
        )
        return [(i, rule, kind, start, json.loads(facts)) for i, rule, kind, start, facts in rows]

    def release(self, alert_id: int, send: bool, now: datetime) -> None:
        """A silence is over: send the alert's held deliveries now, or drop them (no longer firing)."""
        with self.conn.write():
            self.conn.execute(
                "UPDATE deliveries SET status = ?, next_attempt = ? WHERE alert_id = ? AND status = 'silenced'",
                ("pending" if send else "suppressed", now.timestamp(), alert_id),
            )

    def open_blind_spot(self, rule: str) -> datetime | None:
        """The start of the newest blind spot of a source-rule not followed by its recovery."""
        row = self.conn.execute(
            "SELECT a.period_start FROM alerts a WHERE a.rule = ? AND a.kind = 'stale' AND NOT EXISTS (SELECT 1"
            " FROM alerts r WHERE r.rule = a.rule AND r.kind = 'recovered' AND r.period_start = a.period_start)"
            " ORDER BY a.id DESC LIMIT 1",
            (rule,),
        ).fetchone()
        return utc(row[0]) if row else None

    def due(self, now: datetime) -> list[Delivery]:
        rows = self.conn.execute(
            "SELECT d.id, d.alert_id, d.channel, d.target, d.target_masked, d.attempts, a.created, a.severity,"
            " a.facts, a.title, a.text, a.markdown, a.html, p.png, p.alt"
            " FROM deliveries d JOIN alerts a ON a.id = d.alert_id LEFT JOIN pictures p ON p.alert_id = a.id"
            " WHERE d.status = 'pending' AND d.next_attempt <= ? ORDER BY d.alert_id, d.id",
            (now.timestamp(),),
        )
        return [
            Delivery(
                *row[:6],
                utc(row[6]),
                row[7],
                json.loads(row[8]),
                Message(*row[9:13]),
                None if row[13] is None else Picture(row[13], row[14]),
            )
            for row in rows
        ]

    def forget_pictures(self) -> None:
        """Drop the pictures of alerts none of whose deliveries waits (pending, or held by a silence)."""
        with self.conn.write():
            self.conn.execute(
                "DELETE FROM pictures WHERE NOT EXISTS (SELECT 1 FROM deliveries d"
                " WHERE d.alert_id = pictures.alert_id AND d.status IN ('pending', 'silenced'))"
            )

    def next_due(self) -> datetime | None:
        row = self.conn.execute("SELECT min(next_attempt) FROM deliveries WHERE status = 'pending'").fetchone()
        return utc(row[0]) if row[0] is not None else None

    def claim(self, delivery_id: int, now: datetime, lease: timedelta) -> bool:
        """Take a due delivery for one attempt (compare-and-set, so two senders never both send it).

        The claim pushes its next attempt `lease` ahead: if the sender dies mid-send, the
        delivery becomes due again then. That is the only way one can arrive twice: once per
        crash that came between a successful send and its record.
        """
        with self.conn.write():
            cursor = self.conn.execute(
                "UPDATE deliveries SET next_attempt = ? WHERE id = ? AND status = 'pending' AND next_attempt <= ?",
                ((now + lease).timestamp(), delivery_id, now.timestamp()),
            )
        return cursor.rowcount == 1

    def unclaim(self, delivery_ids: Sequence[int], now: datetime, lease: timedelta) -> None:
        """Give back claims taken at `now` and not tried (a stop came first): due again at once."""
        with self.conn.write():
            self.conn.executemany(
                "UPDATE deliveries SET next_attempt = ? WHERE id = ? AND status = 'pending' AND next_attempt = ?",
                [(now.timestamp(), i, (now + lease).timestamp()) for i in delivery_ids],
            )

    def mark_sent(self, delivery_id: int, at: datetime, told: Sequence[int] = ()) -> None:
        """A successful attempt, sent `at`; `told` are given-up deliveries whose failure this message reported."""
        with self.conn.write():
            self.conn.execute(
                "UPDATE deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL"
                " WHERE id = ?",
                (at.timestamp(), delivery_id),
            )
            self.conn.execute(
                "INSERT INTO attempts (delivery_id, at, ok, error) VALUES (?, ?, 1, NULL)",
                (delivery_id, at.timestamp()),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO failure_notices (delivery_id, told_at) VALUES (?, ?)",
                [(d, at.timestamp()) for d in told],
            )

    def mark_failed(self, delivery_id: int, at: datetime, error: str, retry_at: datetime | None) -> None:
        """A failed attempt, made `at`: retried at `retry_at`, or given up for good when None."""
        with self.conn.write():
            self.conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, status = ?, next_attempt = ?"
                " WHERE id = ?",
                (error, "pending" if retry_at else "failed", retry_at.timestamp() if retry_at else 0, delivery_id),
            )
            self.conn.execute(
                "INSERT INTO attempts (delivery_id, at, ok, error) VALUES (?, ?, 0, ?)",
                (delivery_id, at.timestamp(), error),
            )

    def untold_failures(self, other_than: str) -> list[tuple[int, str, str, str, str]]:
        """Given-up deliveries to other channels not yet reported: (id, title, channel, url, error)."""
        rows = self.conn.execute(
            "SELECT d.id, a.title, d.channel, d.target_masked, coalesce(d.last_error, '')"
            " FROM deliveries d JOIN alerts a ON a.id = d.alert_id"
            " WHERE d.status = 'failed' AND d.channel != ?"
            " AND d.id NOT IN (SELECT delivery_id FROM failure_notices) ORDER BY d.id",
            (other_than,),
        )
        return list(rows)

    def history(self, limit: int, failed: bool = False, channel: str | None = None) -> list[Logged]:
        """Deliveries, newest first, each with its attempts; `failed`: only those with a failed attempt,
        whether or not a later one succeeded; `channel`: only that channel's."""
        conditions = ["EXISTS (SELECT 1 FROM attempts t WHERE t.delivery_id = d.id AND t.ok = 0)"] if failed else []
        if channel is not None:
            conditions.append("d.channel = ?")
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._logged(where, limit, () if channel is None else (channel,))

    def failing(self, limit: int) -> list[Logged]:
        """Deliveries a failed attempt left undelivered (retrying or given up), newest first."""
        return self._logged("WHERE d.status = 'failed' OR (d.status = 'pending' AND d.attempts > 0)", limit)

    def _logged(self, where: str, limit: int, values: tuple[str, ...] = ()) -> list[Logged]:
        rows = self.conn.execute(
            "SELECT d.id, a.title, a.rule, a.facts, d.channel, d.target_masked, d.status, d.next_attempt"
            f" FROM deliveries d JOIN alerts a ON a.id = d.alert_id {where} ORDER BY d.id DESC LIMIT ?",
            (*values, limit),
        ).fetchall()
        attempts: dict[int, list[Attempt]] = {row[0]: [] for row in rows}
        for delivery_id, at, ok, error in self.conn.execute(
            "SELECT delivery_id, at, ok, error FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?))"
            " ORDER BY id",
            (json.dumps(list(attempts)),),
        ):
            attempts[delivery_id].append(Attempt(utc(at), bool(ok), error))
        return [
            Logged(i, title, rule, facts_series(json.loads(facts)), channel, url, status, utc(due), tuple(attempts[i]))
            for i, title, rule, facts, channel, url, status, due in rows
        ]

    def alerts_since(self, since: datetime) -> list[dict[str, object]]:
        """Alerts decided since `since`, with how their deliveries stand (and an anomaly's bucket)."""
        rows = self.conn.execute(
            "SELECT a.rule, a.facts, a.id, a.kind, a.threshold, a.severity, a.repeat, a.created, a.title,"
            " sum(d.status = 'sent'), sum(d.status = 'pending'), sum(d.status = 'failed'),"
            " sum(d.status = 'silenced'), sum(d.status = 'suppressed')"
            " FROM alerts a LEFT JOIN deliveries d ON d.alert_id = a.id"
            " WHERE a.created >= ? GROUP BY a.id ORDER BY a.id",
            (since.timestamp(),),
        )
        keys = ("id", "kind", "threshold", "severity", "repeat", "created", "title")
        counts = ("sent", "pending", "failed", "silenced", "dropped")
        return [
            {"rule": rule, "series": facts_series(told), "bucket": told.get("bucket"), "also": facts_members(told)}
            | dict(zip(keys, row[:7], strict=True))
            | {k: n or 0 for k, n in zip(counts, row[7:], strict=True)}
            for rule, facts, *row in rows
            for told in [json.loads(facts)]
        ]
