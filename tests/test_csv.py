from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from alertd import config as configuration
from alertd.ingest import Outcome, poll, poll_window
from alertd.sources.csvfile import CsvError, CsvFeed, micros, read_costs
from alertd.store import Store
from tests.conftest import run_cli

RULES = """
database: costs.db
sources:
  - {name: aws, provider: csv, path: feed.csv}
"""


def test_rows_become_records(write) -> None:
    path = write(
        "a.csv",
        """
        timestamp,line_item,amount,kind
        2026-11-01T00:00:00Z,ec2,1.25,
        2026-11-01T01:00:00+01:00,ec2,0.000001,charge

        1762000000,s3,-0.5,Credit
        """,
    )
    records = list(read_costs(path, "aws", "USD", timedelta(hours=1)))
    assert [(r.bucket_start, r.line_item, r.bucket_seconds, r.amount) for r in records] == [
        (1793491200, "ec2", 3600, 1_250_000),
        (1793491200, "ec2", 3600, 1),
        (1762000000, "s3", 3600, -500_000),
    ]


def test_end_column_sets_the_bucket_length(write) -> None:
    path = write("a.csv", "line_item,timestamp,end,amount\nx,2026-11-01T00:00:00Z,2026-11-02T00:00:00Z,3\n")
    (record,) = read_costs(path, "s", "USD", timedelta(hours=1))
    assert record.bucket_seconds == 86400 and record.amount == 3_000_000


def _outcome(convert: Callable[[str], int], text: str) -> int | type[Exception]:
    try:
        return convert(text)
    except (ArithmeticError, ValueError) as exc:
        return type(exc)


# Decimal-looking strings: signs, Unicode digits (\d), up to 30 digits before and 9 after the
# point, exponents; and any text made of what amounts are made of.
_DECIMALS = st.from_regex(r"[+-]?\d{0,30}(\.\d{0,9})?([eE][+-]?\d{1,2})?", fullmatch=True)
_AMOUNT_CHARS = st.text(st.sampled_from("0123456789.-+eE _\u0663\u00b2\uff11"), max_size=12)
_ASCII_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")


def _as_decimal_does(text: str) -> int | type[Exception]:
    """The reference: ASCII decimals only, then exactly Decimal's rounding, within a billion."""
    if not _ASCII_DECIMAL.fullmatch(text.strip()) or abs(Decimal(text)) > 10**9:
        return ValueError
    return round(Decimal(text) * Decimal(10**6))


@given(st.one_of(_DECIMALS, _AMOUNT_CHARS, st.decimals(allow_nan=True).map(str)))
@example("0.0000005")  # a tie: to even, 0
@example("0.0000015")  # a tie: to even, 2
@example("999999999.999999")  # the most the integer path takes
@example("1000000000.000001")  # just past the bound
@example("1" * 29 + ".5")
@example("\u0663.\u0665")  # Arabic-Indic digits: Decimal would read them, a bill never writes them
@example("\uff11\uff12")  # full-width digits
@example("1_000")  # Decimal reads it as 1000
@example("\u00b2")  # a digit that is not decimal
@example("1e308")
def test_amounts_are_ascii_decimals_converted_as_decimal_does(text: str) -> None:
    assert _outcome(micros, text) == _as_decimal_does(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,line_item,amount\n",
            "a.csv:1: header must be timestamp,line_item,amount[,end][,kind]: missing column(s) timestamp",
        ),
        ("timestamp,line_item,amount,cost\n", "unknown column(s) cost"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\n2026-11-01T00:00:00,x,1\n", "a.csv:3: timestamp"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\nyesterday,x,1\n", "a.csv:3: bad timestamp 'yesterday'"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,12,5\n", "a.csv:2: expected 3 fields, found 4"),
        (
            "timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\n\n2026-11-01T00:00:00Z,y,1.2.3\n",
            "a.csv:4: amount is '1.2.3', not an amount",
        ),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z, ,1\n", "a.csv:2: empty line_item"),
        (
            "timestamp,end,line_item,amount\n2026-11-01T00:00:00Z,2026-11-01T00:00:00Z,x,1\n",
            "a.csv:2: end must be after timestamp",
        ),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,-1\n", "a.csv:2: a negative amount is a credit"),
        ("timestamp,line_item,amount,kind\n2026-11-01T00:00:00Z,x,1,credit\n", "a.csv:2: a credit is a negative"),
        ("timestamp,line_item,amount,kind\n2026-11-01T00:00:00Z,x,1,refund\n", "a.csv:2: kind must be charge or"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1_000\n", "a.csv:2: amount is '1_000', not an amount"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,\uff11\n", "a.csv:2: amount is"),
        (
            "timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,9300000000000\n",
            "a.csv:2: amount is '9300000000000', not an amount (at most",
        ),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1e308\n", "a.csv:2: amount is '1e308', not an"),
        ("timestamp,line_item,amount\n9223372036854775808,x,1\n", "a.csv:2: timestamp '9223372036854775808' is not"),
        ("timestamp,line_item,amount\n0001-01-01T00:00:00Z,x,1\n", "a.csv:2: timestamp '0001-01-01T00:00:00Z' is no"),
        ("timestamp,line_item,amount\n9999-12-31T00:00:00Z,x,1\n", "a.csv:2: timestamp '9999-12-31T00:00:00Z' is no"),
        ("timestamp,line_item,amount\n\uff11\uff17\uff16\uff12,x,1\n", "a.csv:2: bad timestamp"),
    ],
)
def test_bad_rows_name_their_line(write, text: str, message: str) -> None:
    path = write("a.csv", text)
    with pytest.raises(CsvError) as caught:
        list(read_costs(path, "s", "USD", timedelta(hours=1)))
    assert message in str(caught.value)


def test_import_cli_is_all_or_nothing_and_idempotent(write, tmp_path: Path) -> None:
    rules = write("rules.yaml", RULES)
    write("feed.csv", "")
    good = write(
        "good.csv", "timestamp,line_item,amount\n2026-11-01T00:00:00Z,ec2,1.10\n2026-11-01T01:00:00Z,ec2,2.20\n"
    )
    bad = write("bad.csv", "timestamp,line_item,amount\n2026-11-02T00:00:00Z,ec2,1\n2026-11-02T01:00:00Z,ec2,lots\n")

    result = run_cli("import", "-c", str(rules), "--source", "aws", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3: amount is 'lots', not an amount" in result.stderr
    assert "nothing was imported" in result.stderr and "Traceback" not in result.stderr

    first = run_cli("import", "-c", str(rules), "--source", "aws", str(good))
    assert first.returncode == 0, first.stderr
    assert "imported 2 rows into aws (2 new or revised)" in first.stdout
    second = run_cli("import", "-c", str(rules), "--source", "aws", str(good))
    assert "(0 new or revised)" in second.stdout

    db = sqlite3.connect(tmp_path / "costs.db")
    assert db.execute("SELECT count(*), sum(amount) FROM costs").fetchone() == (2, 3_300_000)

    report = run_cli("report", "-c", str(rules), "--since", "2026-11-01", "--until", "2026-11-03", "--json")
    assert json.loads(report.stdout)["total"] == "3.30"


def test_import_into_an_undeclared_source_is_refused(write) -> None:
    rules = write("rules.yaml", RULES)
    good = write("good.csv", "timestamp,line_item,amount\n2026-11-01T00:00:00Z,ec2,1\n")
    result = run_cli("import", "-c", str(rules), "--source", "gcp", str(good))
    assert result.returncode == 2 and "unknown source 'gcp'" in result.stderr


# --- provider: csv polls read what changed ---------------------------------------------------------

HEADER = "timestamp,line_item,amount\n"
NOW = datetime(2026, 11, 2, tzinfo=UTC)
T0 = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def hour_rows(hour: int, amounts: tuple[str, ...] = ("1.25", "0.50")) -> str:
    """Rows of the hour `hour` of 2026-11-01 (UTC): one per line item."""
    stamp = (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=hour)).isoformat()
    return "".join(f"{stamp},item-{i},{a}\n" for i, a in enumerate(amounts))


class Feed:
    """A csv source polled through alertd's ingest into a real store, and the file it reads."""

    def __init__(self, tmp_path: Path) -> None:
        rules = tmp_path / "rules.yaml"
        rules.write_text(RULES)
        self.path = tmp_path / "feed.csv"
        self.config = configuration.load(rules, {}).config
        self.store = Store(tmp_path / "costs.db", self.config.tz)

    def write(self, text: str, mode: str = "w") -> None:
        with open(self.path, mode, encoding="utf-8", newline="") as handle:
            handle.write(text)

    def poll(self, now: datetime = NOW) -> Outcome:
        (outcome,) = poll(self.config, self.store, ["aws"], now)
        assert outcome.error is None, outcome.error
        return outcome

    def stored(self) -> dict[tuple[int, str], int]:
        rows = self.store.conn.execute("SELECT bucket_start, line_item, amount FROM costs WHERE source = 'aws'")
        return {(b, i): a for b, i, a in rows}

    def full_read(self, now: datetime = NOW) -> dict[tuple[int, str], int]:
        """What one read of the whole file gives, as the store would keep it."""
        result = CsvFeed(self.config.source("aws"), "USD").fetch(poll_window(self.config.source("aws"), None, now, now))
        return {(r.bucket_start, r.line_item): r.amount for r in result.records}


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    f = Feed(tmp_path)
    yield f
    f.store.close()


def test_an_unchanged_file_is_not_parsed_and_changes_nothing(feed: Feed) -> None:
    feed.write(HEADER + hour_rows(0) + hour_rows(1))
    assert feed.poll().rows == 4
    before = feed.stored()
    # Same inode, size and mtime, but content that could not be parsed: only a skip gets through.
    stat = feed.path.stat()
    feed.write(feed.path.read_text().replace("1.25", "x.yz"))
    os.utime(feed.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = feed.poll()
    assert (again.rows, again.changed, again.fetches) == (0, 0, 1)
    assert feed.stored() == before
    log = feed.store.last_fetch("aws")
    assert log is not None and (log.status, log.rows) == ("ok", 0)


def test_appended_rows_are_the_only_ones_read_and_totals_equal_a_full_read(feed: Feed) -> None:
    feed.write(HEADER + hour_rows(0) + hour_rows(1))
    feed.poll()
    feed.write(hour_rows(2, ("2.00", "0.10", "7")), "a")
    appended = feed.poll()
    assert (appended.rows, appended.changed) == (3, 3)  # a whole read would give 7
    feed.write(hour_rows(3) + hour_rows(4), "a")
    assert feed.poll().rows == 4
    assert feed.stored() == feed.full_read() and len(feed.stored()) == 11


def test_an_appended_row_with_a_bad_amount_names_its_line(feed: Feed) -> None:
    feed.write(HEADER + hour_rows(0))
    feed.poll()
    feed.write(hour_rows(1), "a")
    feed.poll()  # the second tail read numbers its lines on from the first's
    feed.write(hour_rows(2, ("1", "lots")), "a")
    (outcome,) = poll(feed.config, feed.store, ["aws"], NOW)
    assert outcome.error is not None and outcome.error.endswith("feed.csv:7: amount is 'lots', not an amount")


@pytest.mark.parametrize(
    "change",
    [
        "rewritten",  # new content, another size
        "same size",  # one amount changed in place, a new mtime
        "truncated",  # the last hour gone, then another amount changed
        "replaced",  # the same content written to a new file renamed over the old one, then grown
    ],
)
def test_a_file_changed_other_than_by_appending_is_read_whole(feed: Feed, change: str) -> None:
    feed.write(HEADER + hour_rows(0) + hour_rows(1))
    feed.poll()
    text = feed.path.read_text()
    if change == "rewritten":
        feed.write(HEADER + hour_rows(0, ("9.99", "0.50", "3")) + hour_rows(1))
        expected_rows = 5
    elif change == "same size":
        feed.write(text.replace("1.25", "1.35", 1))
        expected_rows = 4
    elif change == "truncated":
        feed.write(HEADER + hour_rows(0, ("1.25", "0.40")))
        expected_rows = 2
    else:
        tmp = feed.path.with_suffix(".new")
        tmp.write_text(text + hour_rows(2))
        tmp.replace(feed.path)
        expected_rows = 2  # the prefix is the same bytes: the new file's tail is all that is read
    assert feed.poll().rows == expected_rows
    assert feed.stored().items() >= feed.full_read().items()
    if change != "truncated":  # a truncated file's lost rows stay stored, as with every read
        assert feed.stored() == feed.full_read()


def test_an_appended_row_for_a_bucket_already_read_is_read_whole(feed: Feed) -> None:
    feed.write(HEADER + hour_rows(0) + hour_rows(1))
    feed.poll()
    feed.write(hour_rows(1, ("0.75",)), "a")  # a second cost of item-0 in hour 1: they add up
    assert feed.poll().rows == 4
    assert feed.stored()[(T0 + 3600, "item-0")] == 2_000_000
    assert feed.stored() == feed.full_read()


def test_a_partial_last_line_is_stored_once_completed(feed: Feed) -> None:
    feed.write(HEADER + hour_rows(0))
    feed.poll()
    hour_1 = hour_rows(1)
    feed.write(hour_1[:30], "a")  # the writer is mid-line
    assert feed.poll().rows == 0 and len(feed.stored()) == 2
    assert feed.poll().rows == 0  # unchanged since
    feed.write(hour_1[30:-3], "a")  # "...,item-0,1.25\n...,item-1,0."
    assert feed.poll().rows == 1  # read from where the last read stopped
    assert feed.stored()[(T0 + 3600, "item-0")] == 1_250_000 and (T0 + 3600, "item-1") not in feed.stored()
    feed.write("50\n", "a")
    # A row for hour 1, which was read before: the file is read whole, and item-1 is right.
    assert feed.poll().rows == 4
    assert feed.stored()[(T0 + 3600, "item-1")] == 500_000
    assert feed.stored() == feed.full_read()


def test_rows_beyond_the_window_are_read_once_the_window_reaches_them(feed: Feed) -> None:
    far = datetime(2028, 6, 1, tzinfo=UTC)  # past now + 366 days
    feed.write(HEADER + hour_rows(0) + f"{far.isoformat()},later,4\n")
    assert feed.poll().rows == 2
    assert feed.poll().rows == 0  # unchanged, and the far row still beyond
    assert feed.poll(far - timedelta(days=30)).rows == 3  # unchanged, but the window reaches it now
    assert feed.stored()[(int(far.timestamp()), "later")] == 4_000_000
    feed.write(hour_rows(1), "a")  # hour 1 is before the far row's bucket: read whole
    assert feed.poll(far - timedelta(days=30)).rows == 5
    assert feed.stored() == feed.full_read(far - timedelta(days=30))


def test_an_import_into_the_source_makes_its_next_poll_read_whole(feed: Feed, write) -> None:
    feed.write(HEADER + hour_rows(0))
    feed.poll()
    other = write("other.csv", HEADER + hour_rows(0, ("5", "5")))
    feed.store.import_records("aws", read_costs(other, "aws", "USD", timedelta(hours=1)), 0)
    assert feed.poll().rows == 2  # the file is the truth again
    assert feed.stored() == feed.full_read()


@pytest.mark.parametrize(("older_rows", "read_again"), [(False, 0), (True, 6)])
def test_a_poll_after_a_backfill_since_a_date_reads_the_file_only_if_the_backfill_skipped_rows(
    feed: Feed, older_rows: bool, read_again: int
) -> None:
    from alertd.ingest import backfill
    from alertd.model import Window

    feed.write(HEADER + (hour_rows(-48) if older_rows else "") + hour_rows(0) + hour_rows(1))
    since = datetime(2026, 10, 31, tzinfo=UTC)  # after the older rows, before the others
    (done,) = backfill(feed.config, feed.store, Window(since, NOW), ["aws"])
    assert done.rows == 4
    # A poll reads from 1970: the file again only when the backfill left rows out.
    assert feed.poll().rows == read_again
    assert feed.stored() == feed.full_read()
