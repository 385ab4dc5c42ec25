from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd.model import CostRecord, FetchResult, Window
from alertd.money import decimal_string, to_micros
from alertd.report import ReportError, build_report
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
