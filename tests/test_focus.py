from __future__ import annotations

import csv
import gzip
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd import config as configuration
from alertd.ingest import poll, poll_window
from alertd.model import FetchResult, utc
from alertd.report import build_report
from alertd.rules.completeness import reporting_of
from alertd.sources.focus import FocusFeed, merge
from alertd.sources.focus_read import FocusError, Options, read_file, records
from alertd.store import Store
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data" / "focus"
GENERATED = sorted((DATA / "generated").rglob("*.csv"))
APRIL, MAY1, MAY2 = "2026-04/focus-00001", "2026-05/focus-00001", "2026-05/focus-00002"
SPEC_AWS = DATA / "spec" / "aws_savings_plan_all_upfront_100pct.csv"
NOW = datetime(2026, 6, 2, tzinfo=UTC)
FORMATS = ("csv", "csv.gz", "parquet")
MAY = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp())
JUNE = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp())
APR30 = int(datetime(2026, 4, 30, tzinfo=UTC).timestamp())
HOUR = 3600

Row = dict[str, str]


def rows_of(path: Path) -> list[Row]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def column_sum(rows: list[Row], column: str, keep: Callable[[Row], bool] = lambda row: True) -> int:
    """The reference: the column's exact sum, in micro-units (every value here has at most 6 places)."""
    total = sum((Decimal(row[column]) for row in rows if keep(row)), Decimal(0))
    assert total == total.quantize(Decimal("0.000001"))
    return int(total * 10**6)


def write_export(path: Path, rows: list[Row], fmt: str = "csv") -> Path:
    """`rows` as an export in `fmt`: CSV, gzip CSV, or Parquet with the types exporters write
    (timestamps, a decimal BilledCost, double EffectiveCost and ListCost, Tags as a map)."""
    path = path.with_name(f"{path.name}.{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        _write_parquet(path, rows)
    else:
        text = _csv_text(rows)
        path.write_bytes(gzip.compress(text.encode(), mtime=0) if fmt == "csv.gz" else text.encode())
    return path


def _csv_text(rows: list[Row]) -> str:
    with tempfile.SpooledTemporaryFile(mode="w+", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        handle.seek(0)
        return handle.read()


def _write_parquet(path: Path, rows: list[Row]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def column(name: str) -> pa.Array:
        values = [row[name] for row in rows]
        if name.endswith(("PeriodStart", "PeriodEnd")):
            return pa.array([datetime.fromisoformat(v) for v in values], pa.timestamp("s", tz="UTC"))
        if name == "BilledCost":
            return pa.array([Decimal(v) for v in values], pa.decimal128(20, 6))
        if name.endswith("Cost"):
            return pa.array([float(v) for v in values], pa.float64())
        if name == "Tags":
            return pa.array([list(json.loads(v or "{}").items()) for v in values], pa.map_(pa.string(), pa.string()))
        return pa.array(values, pa.string())

    pq.write_table(pa.table({name: column(name) for name in rows[0]}), path, row_group_size=16)


class Exports:
    """A focus source over tmp_path/exports, polled into a real store as ingest polls it."""

    def __init__(self, tmp_path: Path, **options: object) -> None:
        self.dir = tmp_path / "exports"
        self.dir.mkdir(exist_ok=True)
        source = {"name": "aws", "provider": "focus", "path": "exports", **options}
        rules = tmp_path / "rules.yaml"
        rules.write_text(json.dumps({"database": "costs.db", "sources": [source]}))  # JSON is YAML
        self.rules = rules
        self.config = configuration.load(rules, {}).config
        self.store = Store(tmp_path / "costs.db", self.config.tz)
        self.mtime = 1_780_000_000 * 10**9
        self.parsed: set[str] = set()

    def put(self, name: str, rows: list[Row], fmt: str = "csv") -> Path:
        """Write an export; each write a later mtime, as an exporter's writes are minutes apart."""
        path = write_export(self.dir / name, rows, fmt)
        self.mtime += 60 * 10**9
        os.utime(path, ns=(self.mtime, self.mtime))
        return path

    def put_generated(self, fmt: str = "csv") -> None:
        for path in GENERATED:
            self.put(str(path.relative_to(DATA / "generated").with_suffix("")), rows_of(path), fmt)

    def poll(self) -> FetchResult:
        """One fetch and its store, as `alertd.ingest` does them; `parsed`: the files it read."""
        feed = FocusFeed(self.config.source("aws"), "USD")
        result = feed.fetch(poll_window(self.config.source("aws"), None, NOW, NOW), self.store.focus_files.of("aws"))
        self.store.record_fetch("aws", "poll", None, time.time(), result, reporting_of("focus"))
        self.parsed = {str(Path(p).relative_to(self.dir)).split(".")[0] for p in feed.parsed}
        return result

    def stored(self) -> dict[tuple[int, str], int]:
        rows = self.store.conn.execute("SELECT bucket_start, line_item, amount FROM costs WHERE source = 'aws'")
        return {(b, i): a for b, i, a in rows}

    def revisions(self) -> list[tuple[int, str, int, int]]:
        sql = "SELECT bucket_start, line_item, old_amount, new_amount FROM revisions ORDER BY id"
        return self.store.conn.execute(sql).fetchall()

    def total(self) -> int:
        report = build_report(self.store, utc(0), utc(4_000_000_000), (), self.config.tz, "USD")
        return report.total


@pytest.fixture
def exports(tmp_path: Path) -> Iterator[Exports]:
    e = Exports(tmp_path)
    yield e
    e.store.close()


def every_row() -> list[Row]:
    return [row for path in [*GENERATED, SPEC_AWS] for row in rows_of(path)]


# --- what a report says -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("cost", ["BilledCost", "EffectiveCost"])
def test_report_total_is_the_cost_column_sum_to_the_digit(tmp_path: Path, cost: str, fmt: str) -> None:
    exports = Exports(tmp_path, cost=cost)
    exports.put_generated(fmt)
    exports.put("spec/aws_savings_plan", rows_of(SPEC_AWS), fmt)  # the FOCUS specification's own example
    (outcome,) = poll(exports.config, exports.store, ["aws"], NOW)
    assert outcome.error is None and outcome.rows > 0
    assert exports.total() == column_sum(every_row(), cost)
    exports.store.close()


def test_report_cli_total_matches_the_column(tmp_path: Path) -> None:
    exports = Exports(tmp_path, cost="EffectiveCost")
    exports.put_generated()
    exports.store.close()
    assert run_cli("check", "-c", str(exports.rules)).returncode == 0
    report = run_cli("report", "-c", str(exports.rules), "--since", "2026-01-01", "--until", "2028-01-01", "--json")
    assert Decimal(json.loads(report.stdout)["total"]) * 10**6 == column_sum(
        [r for p in GENERATED for r in rows_of(p)], "EffectiveCost"
    )


def test_rows_become_buckets_of_their_charge_period(exports: Exports) -> None:
    exports.put_generated()
    exports.poll()
    rows = {
        (b, i): (s, a)
        for b, i, s, a in exports.store.conn.execute(
            "SELECT bucket_start, line_item, bucket_seconds, amount FROM costs"
        )
    }
    ec2, s3 = "Amazon Elastic Compute Cloud", "Amazon Simple Storage Service"
    assert rows[MAY + HOUR, ec2] == (HOUR, 420_007 + 83_200)  # hourly: two sub-accounts' instances, added up
    assert rows[MAY + 86400, s3] == (86400, 1_290_001)  # daily
    assert rows[MAY, "Savings Plans for AWS Compute usage"] == (365 * 86400, 8_760_000_000)  # upfront, a year long
    assert rows[MAY, "(no ServiceName)"] == (31 * 86400, -25_000_000)  # a credit counts, negative
    # May's tax row starts with its first hour: one bucket of the longer length holds both
    assert rows[MAY, ec2] == (31 * 86400, 420_000 + 83_200 + 12_345_678)
    # the correction billed in May lands on the April hour it corrects
    assert rows[APR30 + 10 * HOUR, ec2] == (HOUR, 416_000 + 10 * 123 - 200_000)


def test_costs_finer_than_a_micro_unit_are_added_up_first_and_rounded_once_half_even(exports: Exports) -> None:
    (base,) = [r for r in rows_of(GENERATED[0]) if r["ChargeCategory"] == "Tax"]
    costs = {"a": ["0.0000004", "0.0000004"], "b": ["0.0000005"], "c": ["0.0000015"], "d": ["-0.00000251"]}
    exports.put("tiny", [{**base, "ServiceName": item, "BilledCost": c} for item, cs in costs.items() for c in cs])
    exports.poll()
    assert {item: a for (_, item), a in exports.stored().items()} == {"a": 1, "b": 0, "c": 2, "d": -3}


# --- restatement ---------------------------------------------------------------------------------------


def test_a_rewritten_file_restates_its_billing_period_and_nothing_else(tmp_path: Path) -> None:
    exports = Exports(tmp_path, line_item=["SubAccountName", "ServiceName"])
    exports.put_generated()
    exports.poll()
    before = exports.stored()
    may = rows_of(DATA / "generated" / f"{MAY1}.csv")
    # the exporter rewrites May's first part: search's instance rows are gone, one hour is revised
    rewritten = [r for r in may if r["SubAccountName"] != "search-prod"]
    hour5 = next(r for r in rewritten if r["ChargePeriodStart"] == "2026-05-01T05:00:00Z" and r["BilledCost"] != "0")
    hour5["BilledCost"] = "0.5"
    exports.put(MAY1, rewritten)

    result = exports.poll()
    assert exports.parsed == {MAY1, MAY2}  # May's parts, not April's
    assert result.restated == ((MAY, JUNE),)  # the billing period of the file rewritten
    after = exports.stored()
    search_ec2 = "search-prod, Amazon Elastic Compute Cloud"
    gone = {k for k in before if k[1] == search_ec2 and k[0] >= MAY}
    assert len(gone) == 12 and all(after[k] == 0 for k in gone)
    assert after[MAY + 5 * HOUR, "payments-prod, Amazon Elastic Compute Cloud"] == 500_000
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == gone | {(MAY + 5 * HOUR, "payments-prod, Amazon Elastic Compute Cloud")}
    assert sorted((b, i, old, new) for b, i, old, new in exports.revisions()) == sorted(
        [(b, i, before[b, i], 0) for b, i in gone]
        + [(MAY + 5 * HOUR, "payments-prod, Amazon Elastic Compute Cloud", 420_035, 500_000)]
    )
    rows = [r for p in GENERATED if MAY1 not in str(p) for r in rows_of(p)] + rewritten
    assert exports.total() == column_sum(rows, "BilledCost")
    exports.store.close()


def test_a_new_part_of_a_period_is_added_to_the_others(exports: Exports) -> None:
    exports.put_generated()
    exports.poll()
    (extra,) = [
        r for r in rows_of(DATA / "generated" / f"{MAY2}.csv") if r["ChargePeriodStart"].startswith("2026-05-02")
    ]
    exports.put("2026-05/focus-00003", [{**extra, "BilledCost": "2.5"}])
    exports.poll()
    assert exports.parsed == {MAY1, MAY2, "2026-05/focus-00003"}
    assert exports.stored()[MAY + 86400, "Amazon Simple Storage Service"] == 1_290_001 + 2_500_000


def test_unchanged_files_are_not_parsed(tmp_path: Path) -> None:
    exports = Exports(tmp_path)
    (base,) = [r for r in rows_of(GENERATED[0]) if r["ChargeCategory"] == "Tax"]
    for month in range(1, 13):  # a year of monthly exports
        start, end = f"2025-{month:02d}-01T00:00:00Z", f"{2025 + month // 12}-{month % 12 + 1:02d}-01T00:00:00Z"
        period = {"BillingPeriodStart": start, "BillingPeriodEnd": end, "ChargePeriodStart": start}
        exports.put(f"2025-{month:02d}", [{**base, **period, "ChargePeriodEnd": end}], "csv.gz")
    exports.poll()
    assert len(exports.parsed) == 12
    result = exports.poll()
    assert exports.parsed == set() and result.records == [] and result.focus_files is None
    assert exports.store.last_fetch("aws").changed == 0

    path = exports.dir / "2025-03.csv.gz"
    os.utime(path, ns=(exports.mtime + 1, exports.mtime + 1))  # touched, not changed: hashed only
    result = exports.poll()
    assert exports.parsed == set() and result.focus_files is not None
    assert exports.poll().focus_files is None
    exports.store.close()

    other = Exports(tmp_path, cost="EffectiveCost")  # read with other options: every file again
    other.poll()
    assert len(other.parsed) == 12
    other.store.close()


def test_a_file_that_disappears_keeps_its_rows(exports: Exports) -> None:
    exports.put_generated()
    exports.poll()
    before = exports.stored()
    (exports.dir / f"{APRIL}.csv").unlink()
    exports.poll()
    assert exports.parsed == set() and exports.stored() == before
    assert len(exports.store.focus_files.of("aws")) == 2


def test_an_import_makes_the_next_poll_read_every_file(exports: Exports) -> None:
    exports.put_generated()
    exports.poll()
    exports.store.import_records("aws", [], time.time())
    exports.poll()
    assert exports.parsed == {APRIL, MAY1, MAY2}


# --- failures --------------------------------------------------------------------------------------------


def test_a_bad_row_fails_its_file_only(tmp_path: Path) -> None:
    exports = Exports(tmp_path)
    exports.put_generated()
    april = rows_of(DATA / "generated" / f"{APRIL}.csv")
    april[3]["BilledCost"] = "lots"
    bad = exports.put(APRIL, april)
    (outcome,) = poll(exports.config, exports.store, ["aws"], NOW)
    assert outcome.error is not None
    assert outcome.error.startswith(f"1 of 3 files failed: {bad}:5: BilledCost is 'lots', not an amount")
    # May's correction of April 30 10:00 adds up with April's row of that hour: that bucket waits
    assert outcome.error.endswith(
        "(buckets 2026-04-30T10:00Z..2026-05-01T00:00Z keep what was last read: their files add up with a failed one)"
    )
    may = [r for p in GENERATED[1:] for r in rows_of(p) if r["ChargePeriodStart"] >= "2026-05"]
    assert min(b for b, _ in exports.stored()) == MAY
    assert exports.total() == column_sum(may, "BilledCost")
    last = exports.store.last_fetch("aws")
    assert last is not None and last.status == "error" and last.rows > 0  # stored, and a failure: it can go stale

    april[3]["BilledCost"] = "0.5"
    exports.put(APRIL, april)
    (outcome,) = poll(exports.config, exports.store, ["aws"], NOW)
    assert outcome.error is None
    assert exports.total() == column_sum([*april, *(r for p in GENERATED[1:] for r in rows_of(p))], "BilledCost")
    exports.store.close()


def test_a_bad_file_holds_back_the_period_it_shares_with_a_changed_file(exports: Exports) -> None:
    exports.put_generated()
    exports.poll()
    before = exports.stored()
    may1 = rows_of(DATA / "generated" / f"{MAY1}.csv")
    exports.put(MAY1, [{**r, "BilledCost": "1"} for r in may1])  # a rewrite of May...
    partial = rows_of(DATA / "generated" / f"{MAY2}.csv")
    exports.put(MAY2, [*partial[:1], {**partial[1], "ChargePeriodEnd": "2026-05-01T00:00:00Z"}])  # ...half written
    result = exports.poll()
    assert (
        result.error is not None
        and "focus-00002.csv:3: ChargePeriodEnd must be after ChargePeriodStart" in result.error
    )
    assert "keep what was last read" in result.error
    assert exports.stored() == before and result.restated == ()
    exports.put(MAY2, partial)
    assert exports.poll().error is None
    assert exports.total() == column_sum(
        [r for r in rows_of(GENERATED[0])] + [{**r, "BilledCost": "1"} for r in may1] + partial, "BilledCost"
    )


def test_another_currency_is_an_error_naming_file_line_and_currency(exports: Exports) -> None:
    rows = rows_of(DATA / "generated" / f"{MAY2}.csv")
    rows[1]["BillingCurrency"] = "EUR"
    path = exports.put(MAY2, rows)
    result = exports.poll()
    assert result.error == f"1 of 1 files failed: {path}:3: BillingCurrency is 'EUR': this source counts USD only"
    assert exports.stored() == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ChargePeriodStart": "2026-05-01T00:00:00"}, "ChargePeriodStart '2026-05-01T00:00:00' has no UTC offset"),
        ({"ChargePeriodStart": "5/1/26"}, "ChargePeriodStart is '5/1/26', not an ISO 8601 time"),
        ({"BillingPeriodEnd": "2026-04-01T00:00:00Z"}, "BillingPeriodEnd must be after BillingPeriodStart"),
        ({"BilledCost": ""}, "BilledCost is empty, not an amount"),
        ({"BilledCost": "1e10"}, "BilledCost is 1e10, not an amount (at most 1,000,000,000 a row)"),
        ({"BilledCost": "$1.00"}, "BilledCost is '$1.00', not an amount"),
        ({"BilledCost": "1." + "1" * 31}, "BilledCost has more than 30 decimal places"),
        ({"BillingCurrency": ""}, "BillingCurrency is empty: this source counts USD only"),
        ({"Tags": "{nope"}, "Tags is '{nope', not a JSON object"),
    ],
)
def test_bad_values_name_file_and_line(tmp_path: Path, change: Row, message: str) -> None:
    rows = rows_of(DATA / "generated" / f"{MAY2}.csv")
    rows[2].update(change)
    path = write_export(tmp_path / "x", rows)
    source = configuration.FocusSource(name="s", provider="focus", path="x", line_item=["ServiceName", "Tags.team"])
    with pytest.raises(FocusError) as caught:
        read_file(path, Options.of(source, "USD"))
    assert str(caught.value).startswith(f"{path}:4: {message}")


def test_the_specification_examples_that_are_not_exports_are_clean_errors() -> None:
    source = configuration.FocusSource(name="s", provider="focus", path="x")
    spec = DATA / "spec"
    with pytest.raises(FocusError, match=r"saas_spend_agreements_a1.csv:2: ChargePeriodStart is '4/1/25', not an"):
        read_file(spec / "saas_spend_agreements_a1.csv", Options.of(source, "USD"))
    with pytest.raises(FocusError, match=r"original.csv:1: missing column\(s\) BillingCurrency, ServiceName$"):
        read_file(spec / "scenario_1_partial_reallocation_original.csv", Options.of(source, "USD"))


def test_damaged_files_are_clean_errors(tmp_path: Path) -> None:
    source = configuration.FocusSource(name="s", provider="focus", path="x")
    good = write_export(tmp_path / "good", rows_of(GENERATED[0]), "csv.gz").read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(good[: len(good) // 2])
    not_gzip = tmp_path / "plain.csv.gz"
    not_gzip.write_text("BillingPeriodStart\n")
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("BillingPeriodStart\n")
    for path, message in [
        (cut, "a damaged or partly written gzip file"),
        (not_gzip, "Not a gzipped file"),
        (not_parquet, "x.parquet: "),
    ]:
        with pytest.raises(FocusError, match=message):
            read_file(path, Options.of(source, "USD"))


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_export(tmp_path / "may", rows_of(GENERATED[1]), "parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    source = configuration.FocusSource(name="s", provider="focus", path="x")
    with pytest.raises(FocusError) as caught:
        read_file(path, Options.of(source, "USD"))
    assert str(caught.value) == f"{path}: reading Parquet needs the parquet extra: pip install 'alertd[parquet]'"


def test_no_files_is_an_error(exports: Exports) -> None:
    (outcome,) = poll(exports.config, exports.store, ["aws"], NOW)
    assert outcome.error == f"{exports.dir}: no FOCUS export files (*.csv, *.csv.gz, *.parquet)"


# --- options ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_filters_and_line_items_with_tags(tmp_path: Path, fmt: str) -> None:
    exports = Exports(
        tmp_path,
        line_item=["ServiceName", "Tags.team"],
        filter={"ChargeCategory": ["Usage", "Tax"], "SubAccountId": 100000000001},  # a YAML number: its text
    )
    exports.put_generated(fmt)
    eur = {**rows_of(GENERATED[0])[0], "SubAccountId": "300000000003", "BillingCurrency": "EUR"}
    exports.put("other-account", [eur], fmt)  # filtered out before its currency matters
    result = exports.poll()
    assert result.error is None
    items = {item for _, item in exports.stored()}
    assert items == {
        "Amazon Elastic Compute Cloud, payments",
        "Amazon Elastic Compute Cloud, (no team)",  # the tax rows carry no tags
    }

    def kept(row: Row) -> bool:
        return row["ChargeCategory"] in ("Usage", "Tax") and row["SubAccountId"] == "100000000001"

    assert exports.total() == column_sum([r for p in GENERATED for r in rows_of(p)], "BilledCost", kept)
    exports.store.close()


def test_a_single_line_item_column_and_scalar_filter(tmp_path: Path) -> None:
    exports = Exports(tmp_path, line_item="SubAccountName", filter={"ChargeCategory": "Usage"})
    source = exports.config.source("aws")
    assert source.line_item == ("SubAccountName",) and source.filter == {"ChargeCategory": ("Usage",)}
    exports.put_generated()
    exports.poll()
    assert {item for _, item in exports.stored()} == {"payments-prod", "search-prod"}
    exports.store.close()


def test_import_command_reads_a_focus_export(tmp_path: Path) -> None:
    exports = Exports(tmp_path)
    exports.store.close()
    parquet = write_export(tmp_path / "may", rows_of(GENERATED[1]), "parquet")
    result = run_cli("import", "-c", str(exports.rules), "--source", "aws", str(parquet))
    assert result.returncode == 0, result.stderr
    report = run_cli("report", "-c", str(exports.rules), "--since", "2026-05-01", "--until", "2026-06-01", "--json")
    assert Decimal(json.loads(report.stdout)["total"]) * 10**6 == column_sum(rows_of(GENERATED[1]), "BilledCost")

    rows = rows_of(GENERATED[2])
    rows[0]["BillingCurrency"] = "GBP"
    bad = write_export(tmp_path / "bad", rows)
    result = run_cli("import", "-c", str(exports.rules), "--source", "aws", str(bad))
    assert result.returncode == 2 and f"{bad}:2: BillingCurrency is 'GBP'" in result.stderr
    assert "nothing was imported" in result.stderr and "Traceback" not in result.stderr


def test_the_rules_example_focus_entry_is_valid(tmp_path: Path) -> None:
    """The example's commented-out entry, uncommented, validates."""
    text = (Path(__file__).parent.parent / "rules.example.yaml").read_text()
    match = re.search(r"  # - name: aws-focus\n(?:  #   .*\n)+", text)
    assert match is not None
    rules = tmp_path / "rules.yaml"
    rules.write_text(text.replace(match.group(0), re.sub(r"^  # ", "  ", match.group(0), flags=re.M)))
    result = run_cli("validate", "-c", str(rules), "--allow-missing-env")
    assert result.returncode == 0, result.stderr
    assert "aws-focus (focus)" in result.stdout


# --- properties --------------------------------------------------------------------------------------------

# Per column, values a FOCUS export may hold (and some it should not); any cell is now and then
# something else entirely.
_VALUES = {
    "BillingPeriodStart": ["2026-05-01T00:00:00Z"],
    "BillingPeriodEnd": ["2026-06-01T00:00:00Z", "2026-05-01T00:00:00Z"],
    "ChargePeriodStart": ["2026-05-01T00:00:00Z", "2026-05-01 01:00:00 UTC", "2026-04-30T23:00:00-01:00"],
    "ChargePeriodEnd": ["2026-05-01T01:00:00Z", "2026-05-02T00:00:00.000Z", "2026-05-01T00:00:00Z"],
    "BillingCurrency": ["USD", " USD "],
    "BilledCost": ["0", "1.5", "-2.25", "1e3", "0.0000005", "999999999.9999999", "1E-31", "123.456789012345"],
    "ServiceName": ["Amazon EC2", "", "S3"],
    "Tags": ["{}", '{"team": "x"}', '{"team": 1}', '{"team": null}', ""],
}
_HOSTILE = st.one_of(
    st.sampled_from(["EUR", "5/1/25", "2026-05-01", "9999-12-31T00:00:00Z", "NaN", "1e400", "[1]", "{", "\x00"]),
    st.text(max_size=6),
)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    header = draw(st.permutations(list(_VALUES)))
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        cells = [draw(_HOSTILE if draw(st.integers(0, 15)) == 0 else st.sampled_from(_VALUES[c])) for c in header]
        rows.append(
            cells + ([draw(_HOSTILE)] if draw(st.integers(0, 20)) == 0 else [])
        )  # now and then a field too many
    return "".join(_csv_line(row) for row in [header, *rows])


def _csv_line(cells: list[str]) -> str:
    with tempfile.SpooledTemporaryFile(mode="w+", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(cells)
        handle.seek(0)
        return handle.read()


@settings(max_examples=300, deadline=None)
@given(csv_texts(), st.sampled_from(["csv", "csv.gz"]))
def test_any_csv_gives_records_or_a_clean_error(text: str, fmt: str) -> None:
    source = configuration.FocusSource(name="s", provider="focus", path="x", line_item=["ServiceName", "Tags.team"])
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"any.{fmt}"
        data = text.encode("utf-8", "surrogatepass")
        path.write_bytes(gzip.compress(data) if fmt == "csv.gz" else data)
        try:
            read = read_file(path, Options.of(source, "USD"))
        except FocusError as exc:
            assert str(exc).startswith(f"{path}:") and "\n" not in str(exc).strip()
            return
    for record in records(read.sums.items(), "s", "USD"):
        assert record.bucket_seconds > 0 and abs(record.amount) <= 10**15
        assert read.span is not None and read.span[0] <= record.bucket_start < read.span[1]


_PERIODS = ["2026-04", "2026-05", "2026-06"]


@st.composite
def export_files(draw: st.DrawFn) -> list[Row]:
    """A small export: rows of one billing period, hours and a day, a few items, now and then a
    correction of the previous period."""
    month = draw(st.sampled_from(_PERIODS))
    (base,) = [r for r in rows_of(GENERATED[0]) if r["ChargeCategory"] == "Tax"]
    start, end = f"{month}-01T00:00:00Z", f"2026-{int(month[5:]) + 1:02d}-01T00:00:00Z"
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        day = draw(st.integers(1, 2))
        hour = draw(st.integers(-1, 2))  # -1: the whole day; the day before the period: a correction
        if hour == -1:
            begin, finish = f"{month}-{day:02d}T00:00:00Z", f"{month}-{day + 1:02d}T00:00:00Z"
        else:
            begin, finish = f"{month}-{day:02d}T{hour:02d}:00:00Z", f"{month}-{day:02d}T{hour + 1:02d}:00:00Z"
        if draw(st.integers(0, 5)) == 0:
            begin, finish = "2026-03-31T10:00:00Z", "2026-03-31T11:00:00Z"
        cost = draw(st.sampled_from(["1", "0.25", "-0.1", "2.000001", "0"]))
        item = draw(st.sampled_from(["ec2", "s3", "rds"]))
        rows.append(
            {
                **base,
                "BillingPeriodStart": start,
                "BillingPeriodEnd": end,
                "ChargePeriodStart": begin,
                "ChargePeriodEnd": finish,
                "BilledCost": cost,
                "ServiceName": item,
            }
        )
    return rows


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), export_files(), st.integers(0, 4)), min_size=1, max_size=8))
def test_after_any_rewrites_the_store_holds_what_reading_every_file_gives(
    steps: list[tuple[str, list[Row], int]],
) -> None:
    """Files written and rewritten, now and then half written (a bad last row), polled after each
    step: while no file is bad, what is stored equals one fresh read of every file (buckets no
    file lists any more: zero); once the bad ones are written whole, again."""
    with tempfile.TemporaryDirectory() as directory:
        exports = Exports(Path(directory))
        current: dict[str, list[Row]] = {}
        bad: set[str] = set()

        def check() -> None:
            fresh: dict[tuple[int, str], int] = {}
            for row in (row for file_rows in current.values() for row in file_rows):
                key = (int(datetime.fromisoformat(row["ChargePeriodStart"]).timestamp()), row["ServiceName"])
                fresh[key] = fresh.get(key, 0) + int(Decimal(row["BilledCost"]) * 10**6)
            assert {k: a for k, a in exports.stored().items() if a} == {k: a for k, a in fresh.items() if a}

        for name, rows, broken in steps:
            current[name] = rows
            if broken == 0:  # the exporter is still writing it
                exports.put(name, [*rows, {**rows[-1], "BilledCost": ""}])
                bad.add(name)
            else:
                exports.put(name, rows)
                bad.discard(name)
            result = exports.poll()
            assert (result.error is None) == (not bad)
            if not bad:
                check()
        for name in bad:
            exports.put(name, current[name])
        assert exports.poll().error is None
        check()
        exports.store.close()


def test_merge_joins_touching_spans() -> None:
    assert merge([(5, 7), (1, 3), (3, 4), (10, 12), (11, 20)]) == [(1, 4), (5, 7), (10, 20)]
