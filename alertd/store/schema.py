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
    # 6: what a cycle reads instead of rows. `daily` sums each line item per local day of the
    # rollup's zone (`meta.rollup_zone`; rebuilt when the zone changes), kept by the writer in the
    # same transaction as the costs; `changes` logs the bucket range each write actually changed,
    # so evaluation reads what changed since its cursor; `budget_state` remembers when each budget
    # was last evaluated (against which change) and when time alone could change its decision.
    """
    CREATE TABLE IF NOT EXISTS daily (
        source TEXT NOT NULL,
        day INTEGER NOT NULL,               -- local date as days since 1970-01-01 in the rollup zone
        line_item TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount INTEGER NOT NULL,
        PRIMARY KEY (source, day, line_item, currency)
    ) WITHOUT ROWID;

    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE IF NOT EXISTS changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after pruning: readers keep ids
        source TEXT NOT NULL,
        first_start INTEGER NOT NULL,       -- buckets starting at or after first_start and ending by
        last_end INTEGER NOT NULL,          -- last_end were new or revised
        at REAL NOT NULL
    );

    CREATE TABLE IF NOT EXISTS budget_state (
        budget TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,          -- the budget's definition and zone: a reload that changes it re-evaluates
        change_id INTEGER NOT NULL,         -- the newest change taken into account
        due REAL                            -- when time alone may change a decision (reminder, summary, new period)
    );
    """,
    # csv_files: what each CSV feed read of its file last time (alertd/store/files.py), saved
    # with the fetch, so that a poll of an unchanged file parses nothing and a grown one its tail.
    """
    CREATE TABLE IF NOT EXISTS csv_files (
        source TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        inode INTEGER NOT NULL,
        size INTEGER NOT NULL,              -- st_size and st_mtime_ns before the read
        mtime_ns INTEGER NOT NULL,
        offset INTEGER NOT NULL,            -- bytes read, through the last complete line
        digest TEXT NOT NULL,               -- blake2b of those bytes
        last_bucket INTEGER,                -- the largest bucket start read
        beyond INTEGER,                     -- the smallest bucket start read past window_end
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        reader TEXT NOT NULL                -- currency and bucket length the rows were read with
    );
    """,
    # 7: where each anomaly series' scan stopped (a checkpoint a few buckets behind the last
    # judged bucket), so that a cycle scores only new or revised buckets. The lists are arrays
    # of int64 ('q': values, expectations; MISSING for none) or float64 ('d'), native order.
    """
    CREATE TABLE IF NOT EXISTS scan_state (
        rule TEXT NOT NULL,
        series TEXT NOT NULL,
        fingerprint TEXT NOT NULL,          -- the rule's definition and zone: a change starts the rule fresh
        origin INTEGER NOT NULL,            -- the series' first bucket: a deep revision rescans from here
        step INTEGER NOT NULL,
        start INTEGER NOT NULL,             -- the checkpoint: next bucket to score
        known INTEGER NOT NULL,
        nonzero INTEGER NOT NULL,
        cusum REAL NOT NULL,
        vals BLOB NOT NULL,
        expected BLOB NOT NULL,
        ratios BLOB NOT NULL,
        residuals BLOB NOT NULL,
        level BLOB NOT NULL,
        recent BLOB NOT NULL,
        noise BLOB NOT NULL,
        PRIMARY KEY (rule, series)
    );
    """,
    # 8: csv_files keeps the line count of what was read (a grown file's new rows are numbered
    # without counting the old ones) and a sha256 instead of a blake2b: every feed reads its file
    # whole once, as after an import. Restated whole, not ALTERed: every step must run again safely.
    """
    DROP TABLE IF EXISTS csv_files;
    CREATE TABLE csv_files (
        source TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        inode INTEGER NOT NULL,
        size INTEGER NOT NULL,              -- st_size and st_mtime_ns before the read
        mtime_ns INTEGER NOT NULL,
        offset INTEGER NOT NULL,            -- bytes read, through the last complete line
        lines INTEGER NOT NULL,             -- newlines in those bytes
        digest TEXT NOT NULL,               -- sha256 of those bytes
        last_bucket INTEGER,                -- the largest bucket start read
        beyond INTEGER,                     -- the smallest bucket start read past window_end
        window_start INTEGER NOT NULL,
        window_end INTEGER NOT NULL,
        reader TEXT NOT NULL                -- currency and bucket length the rows were read with
    );
    """,
    # 9: URLs and errors stored before every URL shape was masked (path tokens, header values,
    # a mistyped scheme's first segments) may hold a secret: keep only the scheme, and say the
    # old error text is gone rather than keep it.
    """
    UPDATE deliveries SET target_masked = CASE WHEN instr(target_masked, '://') > 0
        THEN substr(target_masked, 1, instr(target_masked, '://') + 2) || '***' ELSE '***' END;
    UPDATE deliveries SET last_error = '(not kept: written before alertd masked every URL shape)'
        WHERE last_error IS NOT NULL;
    UPDATE attempts SET error = '(not kept: written before alertd masked every URL shape)' WHERE error IS NOT NULL;
    """,
    # 10: how complete each source's data is (alertd/rules/completeness.py), advanced by the
    # successful fetch that establishes it, in its transaction.
    """
    CREATE TABLE IF NOT EXISTS completeness (
        source TEXT PRIMARY KEY,
        through INTEGER NOT NULL,           -- unix seconds: every bucket ending by then is in
        fetched REAL NOT NULL               -- when the fetch that established it finished
    );
    """,
    # 11: what each FOCUS feed read of each export file (alertd/store/focus_files.py), replaced
    # with the fetch that read them: a poll parses only the files that changed, and the files
    # whose rows reach the same buckets.
    """
    CREATE TABLE IF NOT EXISTS focus_files (
        source TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,              -- st_size and st_mtime_ns before the read
        mtime_ns INTEGER NOT NULL,
        digest TEXT NOT NULL,               -- sha256 of the file
        reader TEXT NOT NULL,               -- the options its rows were read with
        span_start INTEGER,                 -- [span_start, span_end): the bucket starts its rows and
        span_end INTEGER,                   -- their billing periods reach; NULL when no row counted
        PRIMARY KEY (source, path)
    ) WITHOUT ROWID;
    """,
    # 12: the chart a budget alert is sent with to targets that show pictures (HTML e-mail),
    # drawn when the alert is decided (a retry sends what the first attempt would have) and
    # forgotten once no delivery of it waits (Outbox.forget_pictures).
    """
    CREATE TABLE IF NOT EXISTS pictures (
        alert_id INTEGER PRIMARY KEY REFERENCES alerts (id),
        png BLOB NOT NULL,
        alt TEXT NOT NULL                   -- the chart in words
    );
    CREATE INDEX IF NOT EXISTS deliveries_alert ON deliveries (alert_id);
    """,
    # 13: what an anomaly event has cost so far and the incident it belongs to (one message for
    # the line items of a source that went off together); and what people said about an alert.
    # series_state is restated, not ALTERed, so that the step runs again safely.
    """
    DROP TABLE IF EXISTS series_state_13;
    CREATE TABLE series_state_13 (
        rule TEXT NOT NULL,
        series TEXT NOT NULL,
        open_since INTEGER,
        alerted INTEGER NOT NULL DEFAULT 0,
        quiet INTEGER NOT NULL DEFAULT 0,
        last_alert INTEGER,
        last_bucket INTEGER,
        excess INTEGER NOT NULL DEFAULT 0,  -- micro-units
        incident INTEGER,
        PRIMARY KEY (rule, series)
    );
    INSERT INTO series_state_13 (rule, series, open_since, alerted, quiet, last_alert, last_bucket)
        SELECT rule, series, open_since, alerted, quiet, last_alert, last_bucket FROM series_state;
    DROP TABLE series_state;
    ALTER TABLE series_state_13 RENAME TO series_state;
    CREATE TABLE IF NOT EXISTS feedback (
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        rule TEXT NOT NULL,
        series TEXT NOT NULL,               -- source/line item, as series_state names it
        verdict TEXT NOT NULL CHECK (verdict IN ('expected', 'unexpected')),
        bucket_start INTEGER NOT NULL,      -- the bucket alerted on (unix time)
        step INTEGER NOT NULL,
        value INTEGER NOT NULL,             -- micro-units
        expected INTEGER NOT NULL,
        until INTEGER,                      -- a planned change: spend at its level is expected until then
        note TEXT,
        created INTEGER NOT NULL,
        PRIMARY KEY (alert_id, series)      -- an incident's alert: a row per line item; a changed mind replaces
    );
    CREATE INDEX IF NOT EXISTS feedback_rule ON feedback (rule, series);
    """,
    # 14: the range an hourly series' last bucket was judged by (alertd.rules.extremes), kept so
    # that a cycle does not look through two months of buckets for it; empty in older checkpoints,
    # whose next cycle looks for it once. Restated, not ALTERed, so that the step runs again safely.
    """
    DROP TABLE IF EXISTS scan_state_14;
    CREATE TABLE scan_state_14 (
        rule TEXT NOT NULL,
        series TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        origin INTEGER NOT NULL,
        step INTEGER NOT NULL,
        start INTEGER NOT NULL,
        known INTEGER NOT NULL,
        nonzero INTEGER NOT NULL,
        cusum REAL NOT NULL,
        vals BLOB NOT NULL,
        expected BLOB NOT NULL,
        ratios BLOB NOT NULL,
        residuals BLOB NOT NULL,
        level BLOB NOT NULL,
        recent BLOB NOT NULL,
        noise BLOB NOT NULL,
        bounds BLOB NOT NULL DEFAULT x'',   -- int64: peak, its bucket, trough, its bucket
        PRIMARY KEY (rule, series)
    );
    INSERT INTO scan_state_14 (rule, series, fingerprint, origin, step, start, known, nonzero, cusum,
            vals, expected, ratios, residuals, level, recent, noise)
        SELECT rule, series, fingerprint, origin, step, start, known, nonzero, cusum,
            vals, expected, ratios, residuals, level, recent, noise FROM scan_state;
    DROP TABLE scan_state;
    ALTER TABLE scan_state_14 RENAME TO scan_state;
    """,
]


def current(conn: sqlite3.Connection) -> bool:
    """Whether the database has every migration of this alertd."""
    return conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
