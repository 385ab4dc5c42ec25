"""`alertd check` end to end: e-mail, Friendli daily budgets, budgets over two sources, failing channels."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from alertd.demo import ADJECTIVES, forecast_period
from alertd.money import format_money
from alertd.rules.periods import period_bounds
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.spend import friendli_days, northflank_dollars, northflank_hours
from tests.conftest import run_cli
from tests.receivers import Webhook, mailto_url, smtp_server

HOUR = 3600
NF_TOKEN = "nf-canary-check-8812"
FR_TOKEN = "flp_canary_check_1290"
SMTP_PASSWORD = "smtp-canary-pw-4471"


def month_to_date(usage: dict[int, dict]) -> Decimal:
    start, _ = period_bounds("month", datetime.now(UTC), UTC)
    return northflank_dollars(usage, int(start.timestamp()))


def recent_usage(days: int = 40, seed: int = 3) -> dict[int, dict]:
    hour = int(time.time()) // HOUR * HOUR
    return northflank_hours(hour - days * 24 * HOUR, days * 24 + 1, seed=seed)


def one_budget_rules(api_url: str, channel: str, amount: Decimal, source_extra: str = "") -> str:
    """One Northflank source, one channel `ops`, one monthly budget `cloud` of `amount`."""
    return f"""
database: costs.db
sources:
  - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{api_url}"{source_extra}}}
channels:
  ops: {channel}
budgets:
  - {{name: cloud, amount: {amount.quantize(Decimal("0.01"))}, period: month, notify: [ops]}}
"""


def test_email_alert_arrives_as_html_with_the_figures_and_its_chart(write, tmp_path: Path) -> None:
    usage = recent_usage()
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, smtp_server() as mailbox:
        rules = write(
            "rules.yaml",
            one_budget_rules(api.url, mailto_url(mailbox.port, "${SMTP_PASSWORD}"), spent / Decimal("0.9")),
        )
        result = run_cli("check", "-c", str(rules), env={"SMTP_PASSWORD": SMTP_PASSWORD})
    assert result.returncode == 0, result.stderr
    [mail] = mailbox.mails
    assert "cloud: crossed 80% of budget" in mail["Subject"]
    html = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html")
    assert format_money(int(spent * 1_000_000), "USD") in html and "<table" in html
    assert mailbox.logins == [(b"user", SMTP_PASSWORD.encode())]
    assert SMTP_PASSWORD not in result.stdout + result.stderr
    # The burn-up chart, inline: a PNG part the HTML refers to by its Content-ID, said in words too.
    assert mail.get_content_type() == "multipart/related"
    [chart] = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert chart["Content-ID"] == "<chart.png>" and chart["Content-Disposition"].startswith("inline")
    image = Image.open(io.BytesIO(chart.get_payload(decode=True)))
    image.load()  # decodes every pixel
    assert image.format == "PNG" and image.size == (1280, 520)
    (tmp_path / "chart.png").write_bytes(chart.get_payload(decode=True))  # kept, to look at
    (tmp_path / "alert.eml").write_bytes(mail.as_bytes())  # and the mail, for a mail client
    alt = re.search(r'<img src="cid:chart.png" alt="([^"]+)"', html)
    assert alt and alt.group(1).startswith(f"cloud: {format_money(int(spent * 1_000_000), 'USD')} of ")
    assert html.count("<img") == 1  # Apprise adds none of its own
    # A retry would send it again; a delivered alert's picture is not kept.
    with sqlite3.connect(tmp_path / "costs.db") as db:
        assert db.execute("SELECT count(*) FROM pictures").fetchone() == (0,)


def test_a_chat_target_gets_no_picture(write, tmp_path: Path) -> None:
    usage = recent_usage()
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, month_to_date(usage) / Decimal("0.9")))
        result = run_cli("check", "-c", str(rules))
    assert result.returncode == 0, result.stderr
    assert hook.posts and all("<img" not in p["message"] for p in hook.posts)


def test_friendli_daily_budget_and_a_budget_over_two_sources(write) -> None:
    today = datetime.now(UTC).date()
    days = friendli_days(today - timedelta(days=40), 41, seed=9)
    today_usd = sum((Decimal(str(r["total"])) for r in days.get(today, [])), Decimal(0))
    if today_usd == 0:  # the generator leaves some days empty; make today count
        days[today] = [
            {
                "total": Decimal("12.50"),
                "quantity": Decimal(1),
                "unit_price": Decimal(1250),
                "line_item": "ep, h100, gpu time cost",
            }
        ]
        today_usd = Decimal("12.50")
    usage = recent_usage(seed=4)
    month_start, _ = period_bounds("month", datetime.now(UTC), UTC)
    month_usd = month_to_date(usage) + sum(
        (Decimal(str(r["total"])) for d, rs in days.items() if d >= month_start.date() for r in rs), Decimal(0)
    )
    with (
        FakeNorthflank(usage, token=NF_TOKEN) as nf,
        FakeFriendli(days, token=FR_TOKEN) as fr,
        Webhook() as hook,
    ):
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{nf.url}"}}
              - {{name: fr, provider: friendli, token: {FR_TOKEN}, base_url: "{fr.url}"}}
            channels:
              hook: {hook.url}
            budgets:
              - {{name: inference-today, amount: {(today_usd / Decimal("1.05")).quantize(Decimal("0.01"))}, period: day, sources: [fr], notify: [hook]}}
              - {{name: everything, amount: {(month_usd / Decimal("0.55")).quantize(Decimal("0.01"))}, period: month, notify: [hook]}}
            """,
        )
        result = run_cli("check", "-c", str(rules))
        assert result.returncode == 0, result.stderr
        posts = {p["title"].split(":")[0].removeprefix("[alertd] "): p for p in hook.posts}
    assert set(posts) == {"inference-today", "everything"}
    assert "crossed 100%" in posts["inference-today"]["title"]
    assert "crossed 50%" in posts["everything"]["title"]
    body = posts["everything"]["message"]
    assert "nf / " in body and "fr / " in body  # contributors from both sources
    assert format_money(int(month_usd * 1_000_000), "USD") in body


def test_a_failing_url_does_not_stop_the_others_and_is_retried(write, tmp_path: Path) -> None:
    usage = recent_usage(seed=5)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as good, Webhook() as flaky:
        flaky.fail_next = 1
        rules = write("rules.yaml", one_budget_rules(api.url, f"[{good.url}, {flaky.url}]", spent / Decimal("0.6")))
        first = run_cli("check", "-c", str(rules))
        assert first.returncode == 1  # a delivery failed
        assert "1 delivered, 1 failed (will retry)" in first.stdout
        assert len(good.posts) == 1 and flaky.posts == []
        status = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)
        assert [(a["sent"], a["pending"]) for a in status["alerts"]] == [(1, 1)]

        time.sleep(6)  # the first retry is due within seconds
        second = run_cli("check", "-c", str(rules))
        assert second.returncode == 0, second.stdout + second.stderr
        assert len(flaky.posts) == 1 and len(good.posts) == 1  # retried where it failed, nowhere else
        assert flaky.posts[0]["title"] == good.posts[0]["title"]


def test_notify_test_reports_each_url(write) -> None:
    with Webhook() as hook:
        rules = write(
            "rules.yaml",
            f"""
            channels:
              ops: [{hook.url}, "json://user:canary-pw-5150@127.0.0.1:9/down?cto=1"]
              other: {hook.url}
            """,
        )
        result = run_cli("notify-test", "-c", str(rules), "ops")
        assert result.returncode == 1
        lines = result.stdout.splitlines()
        assert lines[0].startswith("ops: json://127.0.0.1:") and lines[0].endswith(": ok")
        assert "FAILED" in lines[1] and "canary-pw-5150" not in result.stdout + result.stderr
        assert len(hook.posts) == 1 and "test" in hook.posts[0]["title"].lower()
        unknown = run_cli("notify-test", "-c", str(rules), "nope")
        assert unknown.returncode == 2 and "unknown channel" in unknown.stderr


def test_status_shows_sources_budgets_and_alerts(write) -> None:
    usage = recent_usage(seed=6)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write("rules.yaml", one_budget_rules(api.url, hook.url, spent / Decimal("0.6")))
        assert run_cli("check", "-c", str(rules)).returncode == 0
        text = run_cli("status", "-c", str(rules))
        data = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)
    assert text.returncode == 0 and "cloud (month" in text.stdout and "crossed 50%" in text.stdout
    (source,) = data["sources"]
    assert source["name"] == "nf" and source["last_success"] and source["last_error"] is None
    (budget,) = data["budgets"]
    assert Decimal(budget["spent"]) == spent and budget["percent"].startswith("60.")
    exact = Decimal(budget["spent"]) * 100 / Decimal(budget["amount"])
    assert budget["percent"] == str(exact.quantize(Decimal("0.1"), ROUND_HALF_UP))  # a string, half-up
    assert budget["projected"] is not None
    assert [a["threshold"] for a in data["alerts"]] == ["50"]


def test_demo_runs_the_pipeline_and_leaves_nothing_behind(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli("demo", cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    out = result.stdout
    # The cloud budget's period is one far enough in for a forecast alert (a month, else a week, else a day).
    period = forecast_period(datetime.now(UTC), ZoneInfo("UTC"))
    cloud = f"{ADJECTIVES[period or 'month']}-cloud"
    assert f"{cloud}: crossed 80% of budget" in out
    assert "daily-burn: crossed 120% of budget" in out
    if period is not None:
        assert f"{cloud}: forecast to cross 100%" in out
    else:  # rare: early or late in the month, the week and the day at once
        assert "forecast to cross" not in out and "no forecast alert now" in out
    assert "monthly-reserve: crossed" not in out
    assert "second check: 0 alerts" in out
    # Alert and summary round alike: the same spend never reads 84.9% in one and 85.0% in the other.
    alerts, _, summary = out.partition("\nSummary\n")
    said = set(re.findall(r"(\$[\d,.]+ of \$[\d,.]+) \(([\d.]+%)\)", alerts))
    both = [s for s in re.findall(r"(\$[\d,.]+ of \$[\d,.]+) \(([\d.]+%)\)", summary) if s[0] in dict(said)]
    assert both and all(s in said for s in both) and len(said) == len(dict(said))
    assert list(tmp_path.iterdir()) == []


def test_a_kept_demo_is_there_for_status_and_the_dashboard(tmp_path: Path) -> None:
    kept = tmp_path / "demo"
    result = run_cli("demo", "--keep", str(kept), timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"alertd dashboard -c {kept / 'rules.yaml'}" in result.stdout
    status = run_cli("status", "--json", "-c", str(kept / "rules.yaml"))
    assert status.returncode == 0, status.stderr
    names = [b["name"] for b in json.loads(status.stdout)["budgets"]]
    assert "daily-burn" in names and len(json.loads(status.stdout)["alerts"]) >= 2
    again = run_cli("demo", "--keep", str(kept), timeout=60)  # not over the first one's data
    assert again.returncode == 2 and "give a new or empty directory" in again.stderr


def test_a_channel_template_shapes_its_messages(write) -> None:
    usage = recent_usage(seed=15)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        text = one_budget_rules(api.url, hook.url, spent / Decimal("0.6"))
        text += 'templates:\n  ops: {title: "{{ rule }} at {{ percent }}%", body: "Custom.\\n{{ text }}"}\n'
        rules = write("rules.yaml", text)
        assert run_cli("check", "-c", str(rules)).returncode == 0
    (post,) = hook.posts
    assert post["title"] == "cloud at 60.0%"
    assert post["message"].startswith("Custom.\n") and "crossed 50% of its budget" in post["message"]


def test_template_errors_are_config_errors(write) -> None:
    rules = write(
        "rules.yaml",
        'channels:\n  ops: json://127.0.0.1:9/x\ntemplates:\n  opz: {title: "x"}\n  ops: {body: "{% if %}"}\n',
    )
    result = run_cli("validate", "-c", str(rules))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{rules}:4:3: templates: unknown channel 'opz'")
    assert lines[1].startswith(f"{rules}:5:15: templates.ops.body: body template, line 1:")


def test_a_bad_day_is_one_digest_message(write) -> None:
    usage = recent_usage(seed=18)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        text = one_budget_rules(api.url, hook.url, spent / Decimal("0.6"))
        text += "".join(
            f"  - {{name: b{i}, amount: {(spent / Decimal('0.9')).quantize(Decimal('0.01'))}, period: month, notify: [ops]}}\n"
            for i in range(4)
        )
        rules = write("rules.yaml", text)
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
    (post,) = hook.posts
    assert post["title"] == "[alertd] 5 alerts (4 warning, 1 info)"
    for name in ("cloud: crossed 50%", "b0: crossed 80%", "b3: crossed 80%"):
        assert name in post["message"]
    # The most severe first: the four warnings before the info.
    assert post["message"].index("b3: crossed 80%") < post["message"].index("cloud: crossed 50%")


def test_a_closed_period_is_summed_up_once(write) -> None:
    usage = recent_usage(seed=19)
    # A zone where it is about noon now: yesterday has closed and its late data has settled.
    offset = 12 - datetime.now(UTC).hour
    offset = offset - 24 if offset > 12 else offset
    zone = f"Etc/GMT{-offset:+d}"  # (Etc/GMT-5 is UTC+5)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        text = one_budget_rules(api.url, hook.url, Decimal(100000)).replace(
            "period: month,", "period: day, summary: true,"
        )
        rules = write("rules.yaml", f"timezone: {zone}\n{text}")
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert run_cli("check", "-c", str(rules)).returncode == 0
    (post,) = hook.posts  # yesterday closed: one summary, once
    assert " closed at $" in post["title"] and "of $100,000.00" in post["title"]


def test_failed_csv_poll_logged_once_without_1970_window(write, tmp_path: Path) -> None:
    with FakeNorthflank(recent_usage(days=2), token=NF_TOKEN) as api:
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: feed, provider: csv, path: missing.csv}}
              - {{name: nf, provider: northflank, token: wrong-token-31, base_url: "{api.url}"}}
            """,
        )
        result = run_cli("check", "-c", str(rules), "--log-format", "json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    failed = [m for m in (json.loads(line)["msg"] for line in result.stderr.splitlines()) if "failed" in m]
    assert len(failed) == 2, failed  # once per source
    feed, nf = sorted(failed)
    assert feed == f"poll feed failed: {tmp_path / 'missing.csv'}: cannot read: No such file or directory (whole file)"
    assert "1970" not in result.stderr
    # An API source's line says the window it asked for: hours, ending with the current one.
    match = re.fullmatch(r"poll nf failed: nf: HTTP 401.* \((\S+Z)\.\.(\S+Z)\)", nf)
    assert match, nf
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in match.groups())
    assert start.year >= 2000 and timedelta(0) < end - datetime.now(UTC) <= timedelta(hours=1)
    windows = dict(
        sqlite3.connect(tmp_path / "costs.db").execute("SELECT source, window_end IS NULL FROM fetches").fetchall()
    )
    assert windows == {"feed": 1, "nf": 0}  # a whole-file read is recorded without a window, as it is logged
