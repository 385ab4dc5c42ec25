"""Schema migrations, applied in order and tracked by `PRAGMA user_version`.

Each step is idempotent (IF NOT EXISTS), so a step interrupted before its version was
written is simply run again.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: cost observations, their revisions, and the fetch log.
    """
    CREATE TABLE IF NOT EXISTS costs (
        source TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,      -- unix seconds, UTC
        line_item TEXT NOT NULL,
        bucket_seconds INTEGER NOT NULL,
        amount INTEGER NOT NULL,            -- micro-units of currency, never a float
        currency TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (source, bucket_start, line_item)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS revisions (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,
        line_item TEXT NOT NULL,
        old_amount INTEGER NOT NULL,
        new_amount INTEGER NOT NULL,
        revised_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS revisions_bucket ON revisions (source, bucket_start);

    -- A revision is recorded by the database itself, so no writer can forget it.
    CREATE TRIGGER IF NOT EXISTS costs_revised AFTER UPDATE OF amount ON costs
    WHEN old.amount != new.amount
    BEGIN
        INSERT INTO revisions (source, bucket_start, line_item, old_amount, new_amount, revised_at)
        VALUES (old.source, old.bucket_start, old.line_item, old.amount, new.amount, new.last_seen);
    END;

    CREATE TABLE IF NOT EXISTS fetches (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,                 -- poll, backfill, import
        window_start INTEGER,
        window_end INTEGER,
        started REAL NOT NULL,              -- unix seconds
        finished REAL NOT NULL,
        status TEXT NOT NULL,               -- ok, error
        rows INTEGER NOT NULL DEFAULT 0,
        changed INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS fetches_source ON fetches (source, finished);
    """,
    # 2: the outbox. An alert is written with one delivery row per channel URL, in one
    # transaction, before anything is sent; `key` makes "say it once" a database constraint.
    """
    CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        kind TEXT NOT NULL,                 -- budget, forecast
        period_start INTEGER,
        threshold TEXT,                     -- percent, a decimal string
        severity TEXT NOT NULL,
        repeat INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        title TEXT NOT NULL,
        text TEXT NOT NULL,
        markdown TEXT NOT NULL,
        html TEXT NOT NULL,
        facts TEXT NOT NULL                 -- JSON: the figures, for status and tooling
    );
    CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule, period_start);

    CREATE TABLE IF NOT EXISTS deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        channel TEXT NOT NULL,
        target INTEGER NOT NULL,            -- index of the URL within the channel
        target_masked TEXT NOT NULL,        -- for people; the URL itself is never stored
        status TEXT NOT NULL,               -- pending, sent, failed
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt REAL NOT NULL,
        last_error TEXT,
        sent_at REAL,
        UNIQUE (alert_id, channel, target)
    );
    CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt);
    """,
    # 3: the anomaly lifecycle of each series, so that a restart neither repeats nor forgets.
    """
    CREATE TABLE IF NOT EXISTS series_state (
        rule TEXT NOT NULL,
        series TEXT NOT NULL,
        open_since INTEGER,
        alerted INTEGER NOT NULL DEFAULT 0,
        quiet INTEGER NOT NULL DEFAULT 0,
        last_alert INTEGER,
        last_bucket INTEGER,
        PRIMARY KEY (rule, series)
    );
    """,
    # 4: every delivery attempt, and which given-up deliveries have been told about elsewhere.
    """
    CREATE TABLE IF NOT EXISTS attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
        at REAL NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts (delivery_id);

    CREATE TABLE IF NOT EXISTS failure_notices (
        delivery_id INTEGER PRIMARY KEY REFERENCES deliveries (id),
        told_at REAL NOT NULL
    );
    """,
    # 5: silences. Alerts they match are recorded with their deliveries 'silenced', not sent.
    """
    CREATE TABLE IF NOT EXISTS silences (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        series TEXT,                        -- an anomaly series key (source/line_item), or any
        starts REAL NOT NULL,
        ends REAL NOT NULL,
        reason TEXT,
        created REAL NOT NULL
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
