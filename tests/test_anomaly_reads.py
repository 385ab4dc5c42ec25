"""The anomaly pass's shared reads against SQL's arithmetic on the same rows: a group's series is
the per-bucket sum of its rows (counted when the bucket, at its longest row, ended by `until`), a
line item's series its own rows; drivers' parts as `dense` of the rows, in SQL's row order."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alertd.evaluate.anomaly_reads import Reads
from alertd.model import CostRecord
from alertd.rules.series import DAY, HOUR, dense
from alertd.store import Store

T0 = 1_767_225_600  # 2026-01-01T00:00Z
UNTIL = T0 + 3 * DAY + 5 * 60  # just past a bucket's end
ITEMS = ["a", "b", "c"]
SOURCES = ["s1", "s2"]

# (source, hours from T0, item, length in hours, amount): hourly rows, and rows that start off the
# hour or outlast it (then sums fall back to SQL), some ending after `until`.
rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(SOURCES),
        st.integers(0, 71),
        st.sampled_from(ITEMS),
        st.sampled_from([1, 1, 1, 1, 2, 24]),
        st.integers(0, 5_000_000),
    ),
    max_size=60,
)


def stored(tmp: Path, rows: list[tuple[str, int, str, int, int]], half: bool) -> Store:
    path = tmp / f"reads-{abs(hash((tuple(rows), half)))}.db"
    path.unlink(missing_ok=True)
    store = Store(path, ZoneInfo("Europe/Berlin"))
    for source in SOURCES:
        unique = {(h, item): (length, amount) for s, h, item, length, amount in rows if s == source}
        records = [
            CostRecord(source, T0 + h * HOUR + (1800 if half and i == "c" and h % 5 == 0 else 0), i, n * HOUR, a, "USD")
            for (h, i), (n, a) in sorted(unique.items())
        ]
        store.import_records(source, records, 0.0)
    return store


def sql_sum(store: Store, sources: list[str], items: list[str], first: int, count: int, step: int) -> list[int | None]:
    scans = store.scan_states
    seen = [r for s in sources for r in scans.reported(s, first, UNTIL)]
    grouped = [
        (start, sec, amt) for s in sources for _, start, sec, amt in scans.buckets(s, first, UNTIL, items, False)
    ]
    return dense(first, count, step, UNTIL, seen, grouped)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=rows_strategy,
    half=st.booleans(),
    step=st.sampled_from([HOUR, DAY]),
    skip=st.integers(0, 30),
    back=st.integers(0, 3),
)
# A 2-hour row in the last hour ends after `until`: SQL's sum drops the whole bucket, b's hour too.
@example(rows=[("s1", 71, "a", 2, 5), ("s1", 71, "b", 1, 7)], half=False, step=HOUR, skip=0, back=0)
# A row outlasting the drivers' last bucket (which ended before `until`) is not counted there.
@example(rows=[("s1", 69, "a", 2, 5), ("s1", 69, "c", 1, 7)], half=False, step=HOUR, skip=0, back=2)
# c's half-hour rows come after a's of the same hour, in SQL's order: a tie between drivers.
@example(rows=[("s1", 65, "c", 1, 9), ("s1", 65, "a", 1, 9)], half=True, step=HOUR, skip=0, back=0)
def test_series_and_parts_are_what_sql_says(
    tmp_path: Path, rows: list, half: bool, step: int, skip: int, back: int
) -> None:
    with stored(tmp_path, rows, half) as store:
        first = (T0 + skip * HOUR) // step * step
        count = (UNTIL - first) // step
        reads = Reads(store, UNTIL)
        for source in SOURCES:
            reads.want(source, step, first, None)
        reads.load()
        for sources in (["s1"], SOURCES):
            for items in (ITEMS, ["a", "c"], []):
                selected = [(s, [i for i in items if i in reads.grid(s, step).items]) for s in sources]
                assert reads.series(selected, first, count, step, False) == sql_sum(
                    store, sources, items, first, count, step
                )
            for item in ITEMS:  # one line item: its own rows, each counted if it ended by `until`
                scans = store.scan_states
                seen = [r for s in sources for r in scans.reported(s, first, UNTIL)]
                own = [
                    (st_, sec, a) for s in sources for _, st_, sec, a in scans.buckets(s, first, UNTIL, [item], True)
                ]
                selected = [(s, [item] if item in reads.grid(s, step).items else []) for s in sources]
                assert reads.series(selected, first, count, step, True) == dense(first, count, step, UNTIL, seen, own)
            # Drivers: a bucket and the ones before it, rows counted if they ended by its end.
            shown = count - min(back, count - 1)
            end = first + shown * step
            expected: dict[str, list[tuple[int, int, int]]] = {}
            for s in sources:
                for name, start, sec, amount in store.scan_states.buckets(s, first, end, None, True):
                    if name != "b":
                        expected.setdefault(name, []).append((start, sec, amount))
            want = {n: [v or 0 for v in dense(first, shown, step, end, (), r)] for n, r in expected.items()}
            got = reads.parts(sources, lambda n: n != "b", None, first, shown, step)
            assert list(got.items()) == list(want.items())


def test_a_grid_of_whole_buckets_is_exact_and_one_that_outlasts_them_is_not(tmp_path: Path) -> None:
    cases = [  # (row lengths in hours, step, exact)
        ([1, 1, 1], HOUR, True),
        ([1, 2, 1], HOUR, False),
        ([24, 24], DAY, True),
        ([1, 1], DAY, False),  # hours on a daily grid: summed by SQL's rule
    ]
    for n, (lengths, step, exact) in enumerate(cases):
        with Store(tmp_path / f"g{n}.db", ZoneInfo("UTC")) as store:
            at = T0
            records = []
            for length in lengths:
                records.append(CostRecord("s1", at, "a", length * HOUR, 1_000_000, "USD"))
                at += length * HOUR
            store.import_records("s1", records, 0.0)
            reads = Reads(store, T0 + 10 * DAY)
            reads.want("s1", step, T0, ["a"])
            reads.load()
            assert reads.grid("s1", step).exact is exact, (lengths, step)
            assert sum(reads.grid("s1", step).items["a"]) == 1_000_000 * len(lengths)
