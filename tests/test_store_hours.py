"""The hours a store holds between evaluations equal a fresh read, whatever was written between.

Random sequences of writes (new hours, revisions of old ones, line items dropped to zero, day-long
and month-long buckets, buckets off the hour) and reads over a window that slides forward, on a
real SQLite file: after each step the store that kept its hours and a store opened afresh on the
same file return the same series, hour for hour."""

from __future__ import annotations

import time
from pathlib import Path
from tempfile import TemporaryDirectory
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.model import CostRecord, FetchResult
from alertd.store import Store

H = 3600
T0 = 1_764_547_200  # 2025-12-01T00:00Z
TZ = ZoneInfo("Europe/Berlin")
ITEMS = ["a", "b", "c"]

bucket = st.sampled_from([H, H, H, 86400, 31 * 86400, 1800])
write = st.tuples(
    st.sampled_from(["nf", "fr"]),
    st.integers(-60, 200),  # hour of the bucket's start, from T0
    st.sampled_from([0, 0, 900]),  # seconds off the hour
    st.sampled_from(ITEMS),
    bucket,
    st.integers(0, 5_000_000),
    st.booleans(),  # complete buckets: a line item absent from the write is zeroed
)
step = st.tuples(st.lists(write, max_size=6), st.integers(0, 30), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(step, min_size=1, max_size=8), st.integers(48, 200))
def test_held_hours_equal_a_fresh_read(steps: list, span: int) -> None:
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.db"
        now = T0 + 100 * H + 1234
        with Store(path, TZ) as kept:
            for writes, advance, prune in steps:
                for source, hour, off, item, seconds, amount, complete in writes:
                    start = T0 + hour * H + off
                    records = [CostRecord(source, start, item, seconds, amount, "USD")]
                    kept.record_fetch(source, "poll", None, time.time(), FetchResult(records, complete))
                now += advance * H
                if prune:
                    kept.rollup.prune(kept.rollup.newest_change())
                first = (now - span * H) // H * H
                count = -(-now // H) - first // H
                held = kept.hours.series(["nf", "fr"], first, count, now)
                with Store(path, TZ) as fresh:
                    assert held == fresh.hours.series(["nf", "fr"], first, count, now)


def test_a_second_read_takes_in_only_what_changed(tmp_path: Path) -> None:
    """Rows written behind the store's back with no change logged are not seen again: what is held
    is reused, and a logged change is read."""
    with Store(tmp_path / "a.db", TZ) as store:
        rec = [CostRecord("nf", T0 + h * H, "a", H, 1_000_000, "USD") for h in range(48)]
        store.record_fetch("nf", "poll", None, time.time(), FetchResult(rec, True))
        first, count, now = T0, 49, T0 + 48 * H + 60
        ((values, end),) = store.hours.series(["nf"], first, count, now).values()
        assert (sum(values), end) == (48_000_000, T0 + 48 * H)
        store.conn.execute("UPDATE costs SET amount = 9 WHERE bucket_start = ?", (T0,))  # no change logged
        assert sum(store.hours.series(["nf"], first, count, now)["nf", "a"][0]) == 48_000_000
        store.record_fetch("nf", "poll", None, time.time(), FetchResult([rec[1], rec[2]._replace(amount=3)], True))
        values = store.hours.series(["nf"], first, count, now)["nf", "a"][0]
        assert (values[0], values[2], sum(values)) == (1_000_000, 3, 47_000_003)  # hour 0 as held, hour 2 re-read
