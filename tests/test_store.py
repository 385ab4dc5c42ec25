from __future__ import annotations

import os
import pwd
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd.model import CostRecord, FetchResult, Window, utc
from alertd.rules.verdicts import AnomalyParams
from alertd.store import Store, StoreError
from alertd.store.connection import Locked
from alertd.store.db import Written
from alertd.store.schema import MIGRATIONS, migrate

H = 3600
T0 = 1_700_000_000 - 1_700_000_000 % H
WINDOW = Window(utc(T0), utc(T0 + 24 * H))


def rec(start: int, item: str, amount: int, source: str = "nf") -> CostRecord:
    return CostRecord(source, start, item, H, amount, "USD")


def costs(store: Store) -> dict[tuple[str, int, str], int]:
    rows = store.conn.execute("SELECT source, bucket_start, line_item, amount FROM costs")
    return {(s, b, i): a for s, b, i, a in rows}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "sub").mkdir()  # the store makes no directory
    s = Store(tmp_path / "sub" / "a.db", ZoneInfo("UTC"))
    yield s
    s.close()


def test_wal_mode_and_migrations_are_idempotent(store: Store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    store.conn.execute("PRAGMA user_version = 0")  # as if a migration was interrupted
    migrate(store.conn)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_scan_checkpoint_outlives_the_migration_that_adds_its_range(store: Store) -> None:
    from alertd.rules.anomaly import fresh, resume

    _, state = resume(fresh(0, 3600), [1_000_000] * 100, ZoneInfo("UTC"), AnomalyParams())
    store.scan_states.save("r", "f", {"s": (0, state)}, {})
    kept = store.scan_states.load("r", ["s"])["s"]
    assert len(state.bounds) == 4 and kept.bounds == state.bounds  # the range kept, as it was
    store.conn.execute("PRAGMA user_version = 13")  # a database from before the range was kept
    migrate(store.conn)
    (old,) = store.scan_states.load("r", ["s"]).values()
    assert len(old.bounds) == 0 and old.values == state.values  # the checkpoint kept; its range looked for again
    after = [list(resume(s, [5_000_000], ZoneInfo("UTC"), AnomalyParams())[0]) for s in (old, state)]
    assert after[0] == after[1] and after[0][0].reason == "peak"


def test_upsert_keeps_revisions_and_counts_changes(store: Store) -> None:
    first = store.record_fetch("nf", "poll", WINDOW, time.time(), FetchResult([rec(T0, "a", 5), rec(T0, "b", 7)], True))
    assert (first.rows, first.changed) == (2, 2)
    again = store.record_fetch("nf", "poll", WINDOW, time.time(), FetchResult([rec(T0, "a", 5), rec(T0, "b", 7)], True))
    assert (again.rows, again.changed) == (2, 0)
    revised = store.record_fetch(
        "nf", "poll", WINDOW, time.time(), FetchResult([rec(T0, "a", 9), rec(T0, "b", 7)], True)
    )
    assert revised.changed == 1
    assert costs(store)[("nf", T0, "a")] == 9
    revisions = store.conn.execute("SELECT line_item, old_amount, new_amount FROM revisions").fetchall()
    assert revisions == [("a", 5, 9)]


def test_a_restated_bucket_without_an_item_revises_it_to_zero(store: Store) -> None:
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 5), rec(T0, "paas.other", 1)], True))
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0 + H, "a", 3)], True))
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 6)], True))
    assert costs(store) == {("nf", T0, "a"): 6, ("nf", T0, "paas.other"): 0, ("nf", T0 + H, "a"): 3}
    # Incomplete results (CSV rows) never zero anything.
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0 + H, "b", 1)], False))
    assert costs(store)[("nf", T0 + H, "a")] == 3


def test_sources_do_not_touch_each_other(store: Store) -> None:
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 5)], True))
    store.record_fetch("other", "poll", WINDOW, 0, FetchResult([rec(T0, "b", 5, source="other")], True))
    assert len(costs(store)) == 2 and costs(store)[("nf", T0, "a")] == 5


def test_an_import_that_fails_midway_stores_nothing(store: Store) -> None:
    def records() -> Iterator[CostRecord]:
        yield rec(T0, "a", 1)
        yield rec(T0 + H, "a", 2)
        raise ValueError("bad row 3")

    with pytest.raises(ValueError):
        store.import_records("nf", records(), 0)
    assert costs(store) == {}
    assert store.conn.execute("SELECT count(*) FROM fetches").fetchone()[0] == 0


def test_import_adds_up_rows_of_one_bucket_and_item_and_is_idempotent(store: Store) -> None:
    records = [rec(T0, "a", 3), rec(T0, "a", 4), rec(T0, "b", 1)]
    first = store.import_records("nf", iter(records), 0)
    assert (first.rows, first.changed) == (2, 2)
    assert costs(store) == {("nf", T0, "a"): 7, ("nf", T0, "b"): 1}
    again = store.import_records("nf", iter(records), 0)
    assert (again.rows, again.changed) == (2, 0)
    assert store.conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 0


def _rollup(store: Store) -> dict[tuple[str, int, str, str], int]:
    rows = store.conn.execute("SELECT source, day, line_item, currency, amount FROM daily")
    return {(s, d, i, c): a for s, d, i, c, a in rows}


def _grouped(store: Store, tz: ZoneInfo) -> dict[tuple[str, int, str, str], int]:
    """The rollup as a GROUP BY over `costs` makes it, local days found by datetime."""
    sums: Counter[tuple[str, int, str, str]] = Counter()
    for source, start, item, currency, amount in store.conn.execute(
        "SELECT source, bucket_start, line_item, currency, amount FROM costs"
    ):
        sums[source, (datetime.fromtimestamp(start, tz).date() - date(1970, 1, 1)).days, item, currency] += amount
    return dict(sums)


def test_imports_keep_the_rollup_equal_to_a_group_by_over_costs(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    t = int(datetime(2026, 3, 27, 22, tzinfo=UTC).timestamp())  # 23:00 local; summer time on the 29th

    def hours(first: int, last: int, scale: int = 1, source: str = "nf") -> list[CostRecord]:
        rows = [
            CostRecord(source, t + h * H, item, H, (h + 1) * scale, "USD") for h in range(first, last) for item in "ab"
        ]
        rows.append(CostRecord(source, t + first * H, "a", H, 7, "USD"))  # a second row of one bucket: added up
        rows.append(CostRecord(source, t + first * H, "daily", 86400, 1000, "USD"))  # crosses midnight
        return rows

    with Store(tmp_path / "r.db", berlin) as store:
        sql: list[str] = []
        store.conn.set_trace_callback(sql.append)

        def imported(records: list[CostRecord]) -> tuple[Written, bool]:
            """What the import wrote, and whether it refreshed days from `costs` (a GROUP BY)."""
            sql.clear()
            written = store.import_records(records[0].source, iter(records), 0)
            assert _rollup(store) == _grouped(store, berlin)
            return written, any("GROUP BY" in s for s in sql)

        assert imported(hours(0, 30)) == (Written(61, 61), False)  # first import: sums taken while staging
        assert store.rollup.changes_since(0)[0] == {"nf": (t, t + 30 * H)}
        newest = store.rollup.newest_change()
        assert imported(hours(0, 30)) == (Written(61, 0), False)  # re-import: nothing changed, nothing to refresh
        assert store.rollup.newest_change() == newest
        assert imported(hours(30, 60)) == (Written(61, 61), False)  # after it, sharing its last day
        assert imported(hours(20, 40, scale=3)) == (Written(41, 41), True)  # overlapping, revising
        assert store.rollup.changes_since(newest + 1)[0] == {
            "nf": (t + 20 * H, t + 44 * H)
        }  # the daily bucket ends last
        # New hours first, then revisions of stored ones: the whole range is probed, not the first row's.
        assert imported(hours(60, 66) + hours(50, 55, scale=2)) == (Written(24, 24), True)
        assert imported(hours(0, 60, source="other"))[1] is False  # another source's rows are no overlap
        assert len({day for _, day, _, _ in _rollup(store)}) == 4


def test_an_import_takes_records_of_its_source_only(store: Store) -> None:
    with pytest.raises(ValueError, match="given a row of other"):
        store.import_records("nf", iter([rec(T0, "a", 1), rec(T0, "b", 2, source="other")]), 0)
    assert costs(store) == {} and _rollup(store) == {}


def test_a_failed_import_leaves_the_store_usable(store: Store) -> None:
    def broken() -> Iterator[CostRecord]:
        yield rec(T0, "a", 1)
        raise ValueError("bad row")

    with pytest.raises(ValueError):
        store.import_records("nf", broken(), 0)
    assert store.import_records("nf", iter([rec(T0, "b", 2)]), 0).rows == 1
    assert costs(store) == {("nf", T0, "b"): 2}


def test_fetch_log_records_success_and_failure(store: Store) -> None:
    store.record_fetch("nf", "backfill", WINDOW, 1.0, FetchResult([rec(T0, "a", 5)], True))
    store.record_failure("nf", "poll", WINDOW, 2.0, "nf: HTTP 500")
    newest, ok = store.last_fetch("nf"), store.last_fetch("nf", status="ok")
    assert store.conn.execute("SELECT count(*) FROM fetches").fetchone()[0] == 2
    assert newest is not None and (newest.status, newest.error, newest.rows) == ("error", "nf: HTTP 500", 0)
    assert ok is not None and (ok.status, ok.kind, ok.rows, ok.window_start) == ("ok", "backfill", 1, T0)


def test_amounts_are_integers_in_the_file(store: Store, tmp_path: Path) -> None:
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 1_234_567)], True))
    raw = sqlite3.connect(store.path)
    assert raw.execute("SELECT typeof(amount) FROM costs").fetchone()[0] == "integer"


def test_spend_groups(store: Store) -> None:
    store.record_fetch(
        "nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 1), rec(T0, "b", 2), rec(T0 + H, "a", 4)], True)
    )
    by_item: Counter[tuple[object, ...]] = Counter()
    for *key, amount in store.sums.totals(T0, T0 + 2 * H, by_day=False):
        by_item[tuple(key)] += amount
    assert by_item == {("nf", "a", None, "USD"): 5, ("nf", "b", None, "USD"): 2}
    assert [r[-1] for r in store.sums.totals(T0 + H, T0 + 2 * H, by_day=True)] == [4]
    # Whole days come from the rollup, the same sums as the rows.
    assert sorted(store.sums.totals(T0 - T0 % 86400, T0 - T0 % 86400 + 2 * 86400, by_day=True)) == [
        ("nf", "a", 19675, "USD", 5),
        ("nf", "b", 19675, "USD", 2),
    ]


def test_change_ids_never_go_back_after_pruning(store: Store) -> None:
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 1)], True))
    first = store.rollup.newest_change()
    store.rollup.prune(first)
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 2)], True))
    changed, newest = store.rollup.changes_since(first)
    assert newest > first and changed == {"nf": (T0, T0 + H)}
    # A poll that brings nothing new logs no change.
    store.record_fetch("nf", "poll", WINDOW, 0, FetchResult([rec(T0, "a", 2)], True))
    assert store.rollup.newest_change() == newest


def _hold_lock(path: Path, seconds: float, then: str | None = None) -> threading.Thread:
    """Another writer takes the write lock and keeps it `seconds` (then runs `then`, if given, and
    commits); started, with the lock taken, when this returns."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        if then:
            conn.execute(then)
        conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait()
    return thread


def test_an_import_that_reads_before_it_writes_waits_for_another_writer(store: Store) -> None:
    store.import_records("nf", iter([rec(T0, "a", 1)]), 0)
    # The other writer commits while this import looks at what is stored: it waits, not fails.
    holder = _hold_lock(store.path, 0.3, then="INSERT INTO meta VALUES ('other', 'x')")
    written = store.import_records("nf", iter([rec(T0, "a", 2), rec(T0 + H, "a", 3)]), 0)
    holder.join()
    assert written == Written(2, 2) and costs(store) == {("nf", T0, "a"): 2, ("nf", T0 + H, "a"): 3}


def test_a_write_kept_waiting_too_long_says_who_holds_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALERTD_BUSY_TIMEOUT", "0.2")
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as store:
        holder = _hold_lock(store.path, 1.0)
        with pytest.raises(Locked, match=rf"database {tmp_path / 'a.db'} is locked: another alertd holds it"):
            store.record_failure("nf", "poll", None, 0, "x")
        assert not store.conn.in_transaction
        holder.join()
        store.record_failure("nf", "poll", None, 0, "x")  # the lock is free: it writes
        assert store.last_fetch("nf") is not None


def test_a_patient_store_waits_several_busy_timeouts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTD_BUSY_TIMEOUT", "0.2")
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as store:
        store.patient()  # 6 x 0.2 s
        holder = _hold_lock(store.path, 0.6)
        store.record_failure("nf", "poll", None, 0, "x")
        holder.join()
        holder = _hold_lock(store.path, 2.0)
        began = time.monotonic()
        with pytest.raises(Locked):
            store.record_failure("nf", "poll", None, 0, "x")
        assert 1.0 <= time.monotonic() - began < 1.9
        holder.join()


def test_a_failed_write_is_rolled_back_whole(store: Store) -> None:
    with pytest.raises(ZeroDivisionError), store.conn.write():
        store.silences.conn.execute("INSERT INTO meta VALUES ('half', 'done')")
        raise ZeroDivisionError
    assert not store.conn.in_transaction
    assert store.conn.execute("SELECT count(*) FROM meta WHERE key = 'half'").fetchone()[0] == 0


def test_a_reimport_writes_only_what_is_new_or_revised(store: Store) -> None:
    store.import_records("nf", iter([rec(T0, "a", 1), rec(T0, "b", 2), rec(T0 + H, "a", 3)]), 0)
    newest = store.rollup.newest_change()
    again = [rec(T0, "a", 1), rec(T0, "b", 5), rec(T0 + H, "a", 3), rec(T0 + 2 * H, "c", 4)]
    assert store.import_records("nf", iter(again), 0) == Written(4, 2)  # b revised, c new
    assert store.conn.execute("SELECT line_item, old_amount, new_amount FROM revisions").fetchall() == [("b", 2, 5)]
    assert store.rollup.changes_since(newest)[0] == {"nf": (T0, T0 + 3 * H)}
    assert _rollup(store) == _grouped(store, ZoneInfo("UTC"))
    assert costs(store)[("nf", T0, "b")] == 5 and len(costs(store)) == 4


def test_urls_and_errors_stored_before_the_masking_lose_what_may_be_secret(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Store(path, ZoneInfo("UTC")).close()
    conn = sqlite3.connect(path)
    conn.executescript(  # as the masking before migration 9 left them
        "INSERT INTO deliveries (id, alert_id, channel, target, target_masked, status, next_attempt, last_error)"
        " VALUES (1, 1, 'ops', 0, 'json://host/hooks/oldcanary42', 'failed', 0, 'slak://T1oldcanary42 unknown');"
        "INSERT INTO attempts (delivery_id, at, ok, error) VALUES (1, 0, 0, 'json://host/hooks/oldcanary42');"
        "PRAGMA user_version = 8;"
    )
    conn.close()
    Store(path, ZoneInfo("UTC")).close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT target_masked FROM deliveries").fetchone() == ("json://***",)
    kept = conn.execute("SELECT last_error FROM deliveries UNION SELECT error FROM attempts").fetchall()
    assert "oldcanary42" not in str(kept)


def test_a_store_makes_no_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such"
    with pytest.raises(StoreError, match=rf"^cannot open database {missing}/a.db: there is no directory {missing}$"):
        Store(missing / "a.db", ZoneInfo("UTC"))
    assert not (tmp_path / "no").exists()


as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")


@as_root
def test_readonly_directory_says_permission(tmp_path: Path) -> None:
    tmp_path.chmod(0o555)  # SQLite could create neither the file nor its -wal and -shm files
    try:
        with pytest.raises(StoreError) as refused:
            Store(tmp_path / "a.db", ZoneInfo("UTC"))
    finally:
        tmp_path.chmod(0o755)
    user = pwd.getpwuid(os.geteuid()).pw_name
    expected = f"cannot open database {tmp_path}/a.db: permission denied (the directory {tmp_path} is not writable by user {user})"
    assert str(refused.value) == expected


@as_root
def test_readonly_database_file_says_permission(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    Store(path, ZoneInfo("UTC")).close()
    path.chmod(0o444)  # SQLite would open it read-only without a word, for the first write to fail
    with pytest.raises(StoreError, match=r"permission denied \(the file .*/a\.db is not writable by user "):
        Store(path, ZoneInfo("UTC"))


def test_arrivals_of_more_sources_than_one_compound_query_holds_come_in_the_order_they_end(store: Store) -> None:
    """A replay over 501 sources: SQLite's compound SELECT holds 500 arms, the rest merge in order."""
    records = [
        CostRecord(f"s{n:03}", T0 + (n % 7) * 3600, "item", 3600 * (1 + n % 3), n + 1, "USD") for n in range(501)
    ]
    store.record_fetch("s000", "poll", WINDOW, time.time(), FetchResult(records, True))
    series = [(r.source, r.line_item) for r in records]
    arrived = list(store.sums.arrivals(series, T0, T0 + 86400))
    assert sorted(arrived) == sorted(
        (r.source, r.line_item, r.bucket_start, r.bucket_seconds, r.amount) for r in records
    )
    ends = [start + seconds for _, _, start, seconds, _ in arrived]
    assert ends == sorted(ends)
