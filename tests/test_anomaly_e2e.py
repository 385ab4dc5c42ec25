"""Anomalies as a user meets them: import labelled series, `alertd replay --json`, `alertd check`."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import run_cli
from tests.receivers import Webhook

H = 3600


def write_feed(path: Path, start: datetime, hours: int, anomalies: dict[str, tuple[str, int]], seed: int = 7) -> None:
    """A CSV of hourly line items with office hours, quiet weekends and noise; `anomalies` maps
    a line item to (kind, hour index) with kind spike, shift or new."""
    rng = random.Random(seed)
    items = ["compute", "storage", "gpu", "egress", "db"]
    lines = ["timestamp,line_item,amount"]
    for h in range(hours):
        moment = start + timedelta(hours=h)
        office = (1.3 if 8 <= moment.hour < 19 else 0.7) * (0.6 if moment.weekday() >= 5 else 1.0)
        for n, item in enumerate(items):
            level = (1 + n) * office * math.exp(rng.gauss(0, 0.07))
            kind, at = anomalies.get(item, ("", -1))
            if kind == "spike" and at <= h < at + 2:
                level *= 4
            elif kind == "shift" and h >= at:
                level *= 2.5
            elif kind == "new":
                level = 0.0 if h < at else 6 * math.exp(rng.gauss(0, 0.05))
            lines.append(f"{moment.isoformat()},{item},{Decimal(level).quantize(Decimal('0.000001'))}")
    path.write_text("\n".join(lines) + "\n")


RULES = """
database: costs.db
sources:
  - {name: feed, provider: csv, path: feed.csv}
channels:
  out: OUT
anomalies:
  - {name: spend, notify: [out]}
"""


def test_replay_flags_the_labelled_windows_and_is_quiet_elsewhere(write, tmp_path: Path) -> None:
    start = datetime(2026, 5, 4, tzinfo=UTC)
    labels = {"gpu": ("new", 60 * 24 + 9), "egress": ("spike", 70 * 24 + 14), "db": ("shift", 80 * 24 + 3)}
    write_feed(tmp_path / "data.csv", start, 100 * 24, labels)
    write("feed.csv", "timestamp,line_item,amount\n")
    rules = write("rules.yaml", RULES.replace("OUT", "console://"))
    imported = run_cli("import", "-c", str(rules), "--source", "feed", str(tmp_path / "data.csv"))
    assert imported.returncode == 0, imported.stderr

    result = run_cli("replay", "-c", str(rules), "--json")
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    # what the rule would cost its readers: 3 alerts in 100 days, and the middle one's excess over a day
    excess = sorted((Decimal(a["value"]) - Decimal(a["expected"])) * 24 for a in alerts)
    said = f"spend: 3 alert(s) would have been sent (3 anomaly); 2.7 per 90 days, median excess ${excess[1]:,.2f} a day"
    assert said in result.stderr, result.stderr
    by_item = {a["series"]["line_item"]: a for a in alerts}
    assert set(by_item) == set(labels)  # compute and storage stay quiet
    for item, (_, at) in labels.items():
        alert = by_item[item]
        bucket = datetime.fromisoformat(alert["bucket"])
        assert bucket - start == timedelta(hours=at), item  # the very first anomalous hour
        assert datetime.fromisoformat(alert["at"]) == bucket + timedelta(hours=1)  # seen when the hour ended
        assert alert["rule"] == "spend" and alert["kind"] == "anomaly"
        assert alert["series"]["source"] == "feed"
        assert Decimal(alert["value"]) > Decimal(alert["expected"])

    since = (start + timedelta(days=75)).date().isoformat()
    later = run_cli("replay", "-c", str(rules), "--json", "--since", since)
    assert [json.loads(line)["series"]["line_item"] for line in later.stdout.splitlines()] == ["db"]


def test_check_alerts_on_a_fresh_anomaly_once_and_says_what_drove_it(write, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=40)
    write_feed(tmp_path / "feed.csv", start, 40 * 24, {"egress": ("spike", 40 * 24 - 3)}, seed=11)
    with Webhook() as hook:
        rules = write(
            "rules.yaml", RULES.replace("OUT", hook.url).replace("{name: spend,", "{name: spend, by: source,")
        )
        first = run_cli("check", "-c", str(rules))
        assert first.returncode == 0, first.stderr
        second = run_cli("check", "-c", str(rules))
        assert second.returncode == 0, second.stderr
    assert len(hook.posts) == 1, [p["title"] for p in hook.posts]
    post = hook.posts[0]
    assert "spend: unusual spend on feed (all line items)" in post["title"]
    body = post["message"]
    assert "Usual range" in body and "If it continues" in body
    assert "feed / egress" in body.split("What drove it")[1]  # the line item behind the deviation


def test_feedback_expected_stops_the_same_shape_coming_back(write, tmp_path: Path) -> None:
    """A weekly batch on gpu (x4 for two hours) alerts the first time; `alertd feedback ID
    expected` makes the next week's run normal, where without it that run alerts again. Status
    shows the feedback, replay honours it, and a wrong alert number is a clean error."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=50)
    hours = 50 * 24
    weekly = {"gpu": ("spike", hours - 3 - 168)}
    write_feed(tmp_path / "all.csv", start, hours, weekly, seed=5)
    rows = (tmp_path / "all.csv").read_text().splitlines()
    second = rows[1 + (hours - 3) * 5 : 1 + (hours - 1) * 5]
    for row in second:  # next week's run, at the same hour of the week
        moment, item, amount = row.split(",")
        if item == "gpu":
            rows[rows.index(row)] = f"{moment},{item},{Decimal(amount) * 4}"

    def checked(folder: str, feedback: bool) -> tuple[list[str], Path]:
        root = tmp_path / folder
        root.mkdir()
        rules = root / "rules.yaml"
        rules.write_text(RULES.replace("OUT", "json://127.0.0.1:9/").replace("costs.db", str(root / "costs.db")))
        rules.write_text(rules.read_text().replace("path: feed.csv", f"path: {root / 'feed.csv'}"))
        # the history (judged silently at the rule's first look), then the day of the first run
        for until in (hours - 168 - 24, hours - 168):
            (root / "feed.csv").write_text("\n".join(rows[: 1 + until * 5]) + "\n")
            assert run_cli("check", "-c", str(rules)).returncode in (0, 1)  # no receiver there: retried later
        told = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)["alerts"]
        titles = [a["title"] for a in told]
        if feedback:
            said = run_cli("feedback", "-c", str(rules), str(told[0]["id"]), "expected", "--note", "weekly batch")
            assert said.returncode == 0, said.stderr
            assert "feed/gpu" in said.stdout and "no longer alerts" in said.stdout
        (root / "feed.csv").write_text("\n".join(rows) + "\n")
        assert run_cli("check", "-c", str(rules)).returncode in (0, 1)
        told = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)["alerts"]
        return titles + [a["title"] for a in told[len(titles) :]], rules

    plain, _ = checked("plain", feedback=False)
    assert len(plain) == 2 and all("feed / gpu" in t for t in plain), plain
    quiet, rules = checked("told", feedback=True)
    assert len(quiet) == 1, quiet
    status = run_cli("status", "-c", str(rules))
    assert "feed/gpu" in status.stdout.split("Feedback on anomaly alerts")[1] and "weekly batch" in status.stdout
    replayed = run_cli("replay", "-c", str(rules), "--json")
    gpu = [json.loads(line) for line in replayed.stdout.splitlines() if '"gpu"' in line]
    assert len(gpu) == 1, gpu  # the first run only: replay honours the feedback
    wrong = run_cli("feedback", "-c", str(rules), "999", "expected")
    assert wrong.returncode == 2 and "no alert 999" in wrong.stderr and "Traceback" not in wrong.stderr
