from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from alertd.charts.png import png
from alertd.charts.spend import spend_chart
from alertd.charts.svg import svg
from alertd.model import CostRecord, FetchResult, Window
from alertd.money import decimal_string, to_micros
from alertd.report import Report, ReportError, build_report
from alertd.store import Store
from tests.conftest import ROOT, run_cli

BERLIN = ZoneInfo("Europe/Berlin")


def ts(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "costs.db", BERLIN)  # days are the configured zone's
    records = [
        CostRecord("nf", ts("2026-10-31T22:00:00+00:00"), "paas.cpu", 3600, 1_000_000, "USD"),  # Oct 31 in Berlin
        CostRecord("nf", ts("2026-10-31T23:00:00+00:00"), "paas.cpu", 3600, 2_000_000, "USD"),  # Nov 1 in Berlin
        CostRecord("nf", ts("2026-11-01T10:00:00+00:00"), "paas.gpu", 3600, 4_000_000, "USD"),
        CostRecord("fr", ts("2026-11-01T00:00:00+00:00"), "h100", 86400, 8_000_005, "USD"),
    ]
    window = Window(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    s.record_fetch("x", "import", window, 0, FetchResult(records, False))
    return s


def test_groups_by_day_and_month_in_the_configured_zone(store: Store) -> None:
    since, until = datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)
    report = build_report(store, since, until, ("month", "source"), BERLIN, "USD")
    assert report.as_json()["rows"] == [
        {"month": "2026-10", "source": "nf", "amount": "1.00"},
        {"month": "2026-11", "source": "fr", "amount": "8.000005"},
        {"month": "2026-11", "source": "nf", "amount": "6.00"},
    ]
    assert report.as_json()["total"] == "15.000005"
    by_day = build_report(store, since, until, ("day",), BERLIN, "USD")
    assert [r["day"] for r in by_day.as_json()["rows"]] == ["2026-10-31", "2026-11-01"]
    assert report.as_json()["since"] == "2026-10-01T00:00:00+02:00"


def test_range_is_by_bucket_start(store: Store) -> None:
    since = datetime(2026, 11, 1, tzinfo=BERLIN)  # 2026-10-31T23:00Z
    report = build_report(store, since, datetime(2026, 11, 2, tzinfo=BERLIN), (), BERLIN, "USD")
    assert report.total == 2_000_000 + 4_000_000 + 8_000_005
    assert "total" in report.as_table() and "$14.00" in report.as_table()


def test_table_lists_every_group(store: Store) -> None:
    table = build_report(
        store, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC), ("source", "line_item"), UTC, "USD"
    ).as_table()
    lines = table.splitlines()
    assert lines[1].split() == ["source", "line_item", "amount"]
    assert any(line.split() == ["nf", "paas.cpu", "$3.00"] for line in lines)
    assert lines[-1].split() == ["total", "$15.00"]


def test_unknown_key_and_other_currency_are_errors(store: Store) -> None:
    args = (store, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    with pytest.raises(ReportError, match="unknown --by key"):
        build_report(*args, ("week",), UTC, "USD")
    with pytest.raises(ReportError, match="stored costs are in USD"):
        build_report(*args, (), UTC, "EUR")


def test_report_cli_errors(write, tmp_path: Path) -> None:
    rules = write("rules.yaml", "database: costs.db\n")
    missing = run_cli("report", "-c", str(rules))
    assert missing.returncode == 1 and "run `alertd backfill` first" in missing.stderr
    Store(tmp_path / "costs.db", ZoneInfo("UTC")).close()
    bad_date = run_cli("report", "-c", str(rules), "--since", "last week")
    assert bad_date.returncode == 2 and "'last week' is not a date" in bad_date.stderr
    berlin = write("berlin.yaml", "timezone: Europe/Berlin\ndatabase: costs.db\n")
    ancient = run_cli("report", "-c", str(berlin), "--since", "0001-01-01")  # before year 1 in UTC
    assert ancient.returncode == 2 and "'0001-01-01' is not a date" in ancient.stderr, ancient.stderr
    backwards = run_cli("report", "-c", str(rules), "--since", "2026-11-02", "--until", "2026-11-01")
    assert backwards.returncode == 2 and "must be after" in backwards.stderr
    empty = run_cli("report", "-c", str(rules), "--json", "--since", "2026-11-01", "--until", "2026-11-02")
    assert empty.returncode == 0 and '"total": "0.00"' in empty.stdout


def readme_json_section() -> tuple[list[str], str, str]:
    """The README's `report --json` example: its arguments, its JSON block, and the rule after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, found, rest = readme.partition("`report --json` prints exactly one object; here `")
    assert found, "the README's report --json example moved"
    args, _, rest = rest.partition("`:\n\n```json\n")
    block, _, rule = rest.partition("```\n")
    return args.split(), block.strip(), rule.partition("\n\n")[0]


def test_json_amount_rule_matches_readme(write, tmp_path: Path) -> None:
    args, block, rule = readme_json_section()
    write(
        "nf.csv",
        "timestamp,line_item,amount\n2026-11-03T09:00:00Z,paas.cpu,500.25\n2026-11-12T14:00:00Z,paas.cpu,312.15\n",
    )
    write("fr.csv", "timestamp,line_item,amount\n2026-11-20T10:00:00Z,llama-3 output tokens,0.001875\n")
    rules = write(
        "rules.yaml",
        """
        timezone: Europe/Berlin
        database: costs.db
        sources:
          - {name: northflank, provider: csv, path: nf.csv}
          - {name: friendli, provider: csv, path: fr.csv}
        """,
    )
    for source, feed in (("northflank", "nf.csv"), ("friendli", "fr.csv")):
        assert run_cli("import", "-c", str(rules), "--source", source, str(tmp_path / feed)).returncode == 0
    result = run_cli("report", "-c", str(rules), "--json", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == block  # the example is exactly what the program prints
    # The rule's own examples are what the one formatter makes of their exact values.
    examples = re.findall(r'`"(-?[0-9.]+)"`', rule.partition("A percentage")[0])
    assert examples == ["812.40", "0.001875", "-3.00"]
    assert [decimal_string(to_micros(e)) for e in examples] == examples
    amounts = [r["amount"] for r in json.loads(block)["rows"]] + [json.loads(block)["total"]]
    assert all(re.fullmatch(r"-?[0-9]+\.[0-9]{2}([0-9]{0,4}[1-9])?", a) for a in amounts), amounts


def bars(svg_text: str) -> list[tuple[str, str, str]]:
    root = ET.fromstring(svg_text)
    return [
        (r.get("data-bucket", ""), r.get("data-group", ""), r.get("data-amount", ""))
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.get("data-bucket")
    ]


def test_the_chart_stacks_each_day_by_the_other_keys(store: Store) -> None:
    since, until = datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)
    chart = spend_chart(build_report(store, since, until, ("source", "day"), BERLIN, "USD"))
    assert bars(svg(chart)) == [
        ("2026-10-31", "nf", "1.00"),
        ("2026-11-01", "fr", "8.000005"),  # the larger group first, at the bottom
        ("2026-11-01", "nf", "6.00"),
    ]
    assert chart.words.startswith("Spend per day, 2026-10-01 to 2026-12-01: $15.00 in all")


def test_past_six_groups_the_rest_is_other(tmp_path: Path) -> None:
    s = Store(tmp_path / "many.db", ZoneInfo("UTC"))
    start = ts("2026-11-01T00:00:00+00:00")
    records = [CostRecord("nf", start, f"item{i}", 3600, (i + 1) * 1_000_000, "USD") for i in range(9)]
    s.record_fetch("x", "import", Window(utc_at(start), utc_at(start + 86400)), 0, FetchResult(records, False))
    report = build_report(s, utc_at(start), utc_at(start + 86400), ("line_item", "month"), ZoneInfo("UTC"), "USD")
    shown = bars(svg(spend_chart(report)))
    assert [g for _, g, _ in shown] == ["item8", "item7", "item6", "item5", "item4", "item3", "other"]
    assert shown[-1][2] == "6.00"  # items 0, 1 and 2: $1 + $2 + $3
    png_image = Image.open(io.BytesIO(png(spend_chart(report))))
    png_image.load()


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_report_plot_writes_the_chart(write, tmp_path: Path, suffix: str) -> None:
    rules = write("rules.yaml", "database: costs.db\ntimezone: Europe/Berlin\n")
    seeded = Store(tmp_path / "costs.db", BERLIN)
    start = ts("2026-11-01T00:00:00+01:00")
    records = [CostRecord("nf", start + h * 3600, "cpu", 3600, 1_000_000, "USD") for h in range(48)]
    seeded.record_fetch(
        "nf", "import", Window(utc_at(start), utc_at(start + 2 * 86400)), 0, FetchResult(records, False)
    )
    seeded.close()
    out = tmp_path / f"chart.{suffix}"
    args = ("report", "-c", str(rules), "--since", "2026-11-01", "--until", "2026-11-03", "--json", "--plot", str(out))
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "48.00"  # stdout stays one JSON object
    assert f"chart written to {out}" in result.stderr
    if suffix == "svg":
        assert bars(out.read_text()) == [("2026-11-01", "nf", "24.00"), ("2026-11-02", "nf", "24.00")]
    else:
        assert Image.open(out).size == (1280, 520)


def test_report_plot_refuses_what_it_cannot_write(write, tmp_path: Path) -> None:
    rules = write("rules.yaml", "database: costs.db\n")
    Store(tmp_path / "costs.db", ZoneInfo("UTC")).close()
    other = run_cli("report", "-c", str(rules), "--plot", str(tmp_path / "chart.gif"))
    assert other.returncode == 2 and "written as .svg or .png" in other.stderr
    nowhere = run_cli("report", "-c", str(rules), "--plot", str(tmp_path / "missing" / "chart.png"))
    assert nowhere.returncode == 1 and "cannot write the chart to" in nowhere.stderr
    assert "Traceback" not in other.stderr + nowhere.stderr


def utc_at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b<", "c&", "d", "e", "f", "g", "h"]),
            st.integers(0, 40),
            st.integers(-(10**12), 10**13),
        ),
        max_size=60,
    ),
    st.booleans(),
)
def test_any_report_charts_inside_its_box(rows: list[tuple[str, int, int]], monthly: bool) -> None:
    sums: dict[tuple[str, str], int] = {}
    for group, day, amount in rows:
        bucket = f"2026-{1 + day % 12:02d}" if monthly else f"2026-11-{1 + day % 30:02d}"
        sums[group, bucket] = sums.get((group, bucket), 0) + amount
    keys = ("line_item", "month" if monthly else "day")
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    report = Report("USD", since, until, keys, sorted(sums.items()), sum(sums.values()))
    root = ET.fromstring(svg(spend_chart(report)))
    for rect in root.iter("{http://www.w3.org/2000/svg}rect"):
        assert 0 <= float(rect.get("x", "-1")) <= 640 and float(rect.get("height", "-1")) >= 0
    assert (
        sum(Decimal(a) for _, _, a in bars(ET.tostring(root, encoding="unicode")))
        == sum(Decimal(a) / 10**6 for a in sums.values() if a > 0)
        or len({g for g, _ in sums}) > 7
    )
