from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from alertd.sources.csvfile import CsvError, read_costs
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
        timestamp,line_item,amount
        2026-11-01T00:00:00Z,ec2,1.25
        2026-11-01T01:00:00+01:00,ec2,0.000001

        1762000000,s3,-0.5
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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "time,line_item,amount\n",
            "a.csv:1: header must be timestamp,line_item,amount[,end]: missing column(s) timestamp",
        ),
        ("timestamp,line_item,amount,cost\n", "unknown column(s) cost"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\n2026-11-01T00:00:00,x,1\n", "a.csv:3: timestamp"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\nyesterday,x,1\n", "a.csv:3: bad timestamp 'yesterday'"),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,12,5\n", "a.csv:2: expected 3 fields, found 4"),
        (
            "timestamp,line_item,amount\n2026-11-01T00:00:00Z,x,1\n\n2026-11-01T00:00:00Z,y,1.2.3\n",
            "a.csv:4: amount is not",
        ),
        ("timestamp,line_item,amount\n2026-11-01T00:00:00Z, ,1\n", "a.csv:2: empty line_item"),
        (
            "timestamp,end,line_item,amount\n2026-11-01T00:00:00Z,2026-11-01T00:00:00Z,x,1\n",
            "a.csv:2: end must be after timestamp",
        ),
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
    assert f"{bad}:3: amount is not a decimal number" in result.stderr
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
