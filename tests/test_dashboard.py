"""`alertd dashboard` as a user runs it: a real database made by `alertd check`, the server as a
subprocess, pages read over HTTP and in headless chromium, auth, headers, and a database left as it was."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import run_cli
from tests.receivers import Webhook

HOSTILE = "<script>alert(1)</script>"
TOKEN = "dash-canary-token-5521"
PASSWORD = "dash-canary-pw-7730"
CHROMIUM = shutil.which("chromium")
WATCH = "anomalies:\n  - {name: gpu-watch, line_items: [gpu.*], min_impact: 5, notify: [ops]}\n"
SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rules(
    tmp_path: Path,
    more: str = "",
    env: dict[str, str] | None = None,
    channel: str = "console://",
    down: str | None = None,
    cut: int = 0,
    also: str = "",
) -> Path:
    """40 days of hourly spend in a CSV feed (a hostile line item among them), three budgets and
    `more` (a web: section, rules), checked once; `down`: a second channel's URL, one that refuses
    (the check then exits 1); `also`: another channel; those two hear of the budget that has
    crossed whatever the day (`yearly`: a weekly one has not on a Monday morning); `cut`: the
    last hours left out."""
    hour = int(time.time()) // 3600 * 3600 - cut * 3600
    lines = ["timestamp,line_item,amount"]
    for h in range(hour - 40 * 24 * 3600, hour, 3600):
        stamp = datetime.fromtimestamp(h, UTC).isoformat()
        lines += [f"{stamp},gpu.h100,{1 + (h // 3600) % 5}.25", f'{stamp},"{HOSTILE}",0.5']
    (tmp_path / "spend.csv").write_text("\n".join(lines) + "\n")
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""
timezone: Europe/Berlin
database: {tmp_path}/costs.db
sources:
  - {{name: feed, provider: csv, path: {tmp_path}/spend.csv}}
channels:
  ops: {channel}
{f"  down: {down}" if down else ""}
budgets:
  - {{name: monthly, amount: 2500, period: month, forecast: [100], notify: [ops]}}
  - {{name: weekly, amount: 300, period: week, notify: [ops]}}
  - {{name: yearly, amount: 1, period: year, notify: [{", ".join(["ops", *([also] if also else []), *(["down"] if down else [])])}]}}
{more}"""
    )
    checked = run_cli("check", "-c", str(path), env=env)
    assert checked.returncode == (1 if down else 0), checked.stderr
    return path


@contextmanager
def dashboard(
    path: Path, env: dict[str, str] | None = None, stop: signal.Signals = signal.SIGTERM, host: str = "127.0.0.1"
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The dashboard as a subprocess on `host` (its URL is 127.0.0.1's all the same)."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")} | (env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "alertd", "dashboard", "-c", str(path), "--listen", f"{host}:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(f"dashboard at http://{host}:{port}/"), first + process.stderr.read()
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(stop)
        process.wait(timeout=10)
    assert process.returncode == 0


def untouched(directory: Path) -> dict[str, tuple[str, int]]:
    """Each file of the database's directory with its digest and mtime, but SQLite's WAL index
    (-shm), which a reader of a WAL database maps, and may create, to know where to read."""
    return {
        f.name: (hashlib.sha256(f.read_bytes()).hexdigest(), f.stat().st_mtime_ns)
        for f in sorted(directory.iterdir())
        if f.is_file() and not f.name.endswith("-shm") and not (f.name.endswith("-wal") and f.stat().st_size == 0)
    }


def security_headers(response: httpx.Response) -> None:
    assert response.headers["Content-Security-Policy"] == SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_say_what_status_says_and_write_nothing(tmp_path: Path) -> None:
    path = rules(tmp_path)
    status = json.loads(run_cli("status", "--json", "-c", str(path)).stdout)
    silenced = run_cli("silence", "weekly", "--for", "2h", "--reason", '"quiet" <b>please</b>', "-c", str(path))
    assert silenced.returncode == 0, silenced.stderr
    before = untouched(tmp_path)
    with dashboard(path) as (url, _):
        overview = httpx.get(url + "/")
        assert overview.status_code == 200
        security_headers(overview)
        rows = re.findall(
            r'data-name="([^"]+)" data-spent="([^"]+)" data-amount="([^"]+)" data-percent="([^"]+)"', overview.text
        )
        expected = [(b["name"], b["spent"], b["amount"], b["percent"]) for b in status["budgets"]]
        assert rows == expected and len(rows) == 3
        assert overview.text.count("<svg") == 3
        assert overview.text.count('<tr class="source healthy">') == 1 and '<tr class="alert">' in overview.text
        assert '<tr class="silence">' in overview.text and "&#34;quiet&#34; &lt;b&gt;please&lt;/b&gt;" in overview.text
        assert httpx.head(url + "/").status_code == 200
        page = httpx.get(url + "/budget/monthly")
        assert page.status_code == 200
        standing = re.search(r'id="standing" data-spent="([^"]+)" data-amount="([^"]+)"', page.text)
        assert standing and standing.groups() == expected[0][1:3]
        today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).day
        assert len(re.findall(r'<circle class="day"', page.text)) == today  # a point per day of the month so far
        assert len(re.findall(r'<rect class="bar"', page.text)) == today  # and a bar
        assert "gpu.h100" in page.text
        assert HOSTILE not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        assert re.search(r'id="previous">\$[\d,.]+</span>', page.text)
        # the months before, each total what `report` says of it
        periods = re.findall(r'<tr class="period" data-start="([^"]+)" data-total="([^"]+)"', page.text)
        assert len(periods) == 12 and periods == sorted(periods, reverse=True)
        month, total = periods[0]
        until = (datetime.fromisoformat(month).replace(day=28) + timedelta(days=4)).replace(day=1).date().isoformat()
        report = run_cli("report", "-c", str(path), "--since", month, "--until", until, "--json")
        assert json.loads(report.stdout)["total"] == total and Decimal(total) > 0
        assert page.text.count('<rect class="period') == 13  # and the current month so far
        assert httpx.get(url + "/deliveries").status_code == 200
        assert httpx.get(url + "/deliveries?channel=ops&failed=1").status_code == 200
        missing = httpx.get(url + "/budget/" + "%3Cb%3Enope")
        assert missing.status_code == 404 and "<b>nope" not in missing.text and "&lt;b&gt;nope" in missing.text
        security_headers(missing)
        assert httpx.get(url + "/nothing-here").status_code == 404
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "BREW"):
            refused = httpx.request(method, url + "/")
            assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD", method
            security_headers(refused)
        style = httpx.get(url + "/static/style.css")
        assert style.status_code == 200 and style.headers["Content-Type"] == "text/css"
        security_headers(style)
    assert untouched(tmp_path) == before


def test_the_delivery_log_filters_and_masks(tmp_path: Path) -> None:
    path = rules(tmp_path, down=f"json://127.0.0.1:{free_port()}/hooks/{TOKEN}")
    with dashboard(path, stop=signal.SIGINT) as (url, _):
        every = httpx.get(url + "/deliveries").text
        failed = httpx.get(url + "/deliveries?channel=down&failed=1").text
        calm = httpx.get(url + "/deliveries?channel=ops&failed=1").text
    channels = re.findall(r'<tr class="delivery" data-channel="([^"]+)" data-state="([^"]+)"', every)
    assert {c for c, _ in channels} == {"ops", "down"}
    shown = re.findall(r'<tr class="delivery" data-channel="([^"]+)" data-state="([^"]+)"', failed)
    assert shown and shown == [(c, s) for c, s in channels if c == "down"]
    assert all(state == "retrying" for _, state in shown)
    assert '<tr class="delivery"' not in calm and "None." in calm
    assert TOKEN not in every + failed and "json://127.0.0.1:" in failed  # the URL masked, as `deliveries` shows it


@pytest.mark.parametrize(
    ("auth", "good", "bad"),
    [
        (f"token: {TOKEN}", {"Authorization": f"Bearer {TOKEN}"}, {"Authorization": "Bearer wrong"}),
        (
            f"password: {PASSWORD}",
            {"Authorization": "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()},
            {"Authorization": "Basic !!"},
        ),
    ],
    ids=["bearer", "basic"],
)
def test_with_auth_a_request_without_it_is_refused(tmp_path: Path, auth: str, good: dict, bad: dict) -> None:
    secret = auth.split(": ")[1]
    path = rules(tmp_path, f"web:\n  auth:\n    {auth.split(':')[0]}: ${{SECRET}}\n", {"SECRET": secret})
    with dashboard(path, {"SECRET": secret}) as (url, process):
        for address in ("/", "/static/style.css", "/deliveries", "/budget/nope"):
            assert httpx.get(url + address).status_code == 401, address
        refused = httpx.get(url + "/budget/monthly", headers=bad)
        assert refused.status_code == 401 and "WWW-Authenticate" in refused.headers
        assert secret not in refused.text
        security_headers(refused)
        assert httpx.get(url + "/", headers={"Authorization": good["Authorization"][:-1]}).status_code == 401
        allowed = httpx.get(url + "/", headers=good)
        assert allowed.status_code == 200 and secret not in allowed.text
        assert httpx.get(url + "/budget/monthly", headers=good).status_code == 200
    assert process.stderr is not None
    assert secret not in process.stderr.read()


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's)")
def test_pages_in_a_real_browser(tmp_path: Path) -> None:
    path = rules(tmp_path, WATCH)
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",  # the page's console (errors, refused loads) as INFO:CONSOLE lines
        "--v=0",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ]

    def browse(*args: str) -> subprocess.CompletedProcess[str]:
        assert CHROMIUM is not None
        done = subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=60)
        console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
        assert not console, console  # no script error, nothing the policy refused
        return done

    local = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin"))
    with dashboard(path) as (url, _):
        dom = browse("--dump-dom", url + "/").stdout
        rows = re.findall(r'<tr class="budget" data-name="([^"]+)"', dom)
        assert rows == ["monthly", "weekly", "yearly"] and dom.count("<svg") == 3
        # a point per local day of each period so far: the month's, the week's (from Monday), the year's
        assert dom.count('<circle class="day"') == local.day + local.weekday() + 1 + local.timetuple().tm_yday
        link = re.search(r'href="(/budget/monthly)"', dom)
        assert link
        page = browse("--dump-dom", url + link.group(1)).stdout
        assert 'id="standing"' in page
        points = re.findall(r'<circle class="day"[^>]* data-day="([^"]+)" data-spent="([^"]+)"', page)
        assert len(points) == local.day and points[-1][0] == local.date().isoformat()
        spent = [Decimal(v) for _, v in points]
        assert spent == sorted(spent)  # cumulative
        standing = re.search(r'id="standing" data-spent="([^"]+)"', page)
        assert standing and Decimal(standing.group(1)) == spent[-1]
        assert page.count('<rect class="bar"') == local.day
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
        # the anomaly rule's page links to its series; the series' chart has a point per hour of its window
        listing = browse("--dump-dom", url + "/anomaly/gpu-watch").stdout
        series = re.search(r'href="(/anomaly/gpu-watch\?series=[^"]+)"', listing)
        assert series and series.group(1).endswith("?series=feed/gpu.h100")
        chart = browse("--dump-dom", url + series.group(1).replace("&amp;", "&")).stdout
        line = re.search(r'<polyline class="series" points="([^"]+)"', chart)
        assert line and len(line.group(1).split()) == 28 * 24  # the rule's baseline: four weeks of hours
        pages = {
            "overview": "/",
            "budget": "/budget/monthly",
            "anomaly": series.group(1),
            "deliveries": "/deliveries",
        }
        for name, address in pages.items():
            shot = tmp_path / f"{name}.png"
            browse(f"--screenshot={shot}", f"--window-size=1280,{2200 if name == 'budget' else 900}", url + address)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000


def test_messages_link_to_their_budget_page_when_the_dashboard_is_public(tmp_path: Path) -> None:
    with Webhook() as hook, Webhook() as templated:
        more = """web: {public_url: "https://costs.example.com/alertd/"}
templates:
  mine: {body: "{{ rule }} at {{ dashboard_url }}"}
"""
        rules(tmp_path, more, channel=f"{hook.url}\n  mine: {templated.url}", also="mine")
    bodies = [post["message"] for post in hook.posts]
    assert bodies and all("https://costs.example.com/alertd/budget/" in body for body in bodies)
    assert any("/budget/yearly" in body for body in bodies)
    # a channel's own template has the link as a fact
    assert {post["message"] for post in templated.posts} >= {"yearly at https://costs.example.com/alertd/budget/yearly"}


def test_the_daemon_serves_the_dashboard_when_web_is_set(tmp_path: Path) -> None:
    port = free_port()
    path = rules(tmp_path, f"web: {{listen: 127.0.0.1:{port}}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "alertd", "run", "-c", str(path)], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        deadline, page = time.monotonic() + 30, None
        while time.monotonic() < deadline and page is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/budget/weekly")
            except httpx.TransportError:
                time.sleep(0.1)
        assert page is not None and page.status_code == 200 and 'id="standing"' in page.text
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=15)
    assert daemon.returncode == 0


def spiked(tmp_path: Path, more: str, env: dict[str, str] | None = None) -> tuple[Path, int, list[dict]]:
    """`rules` with WATCH and `more`, then a spike of gpu.h100 two hours ago that a second check
    alerts on: the rules, the spike's hour and what the webhook channel got."""
    with Webhook() as hook:
        path = rules(tmp_path, WATCH + more, env=env, channel=hook.url, cut=3)
        hour = int(time.time()) // 3600 * 3600
        spike = hour - 2 * 3600  # among the hours the first check did not see
        with (tmp_path / "spend.csv").open("a") as feed:
            for h in range(hour - 3 * 3600, hour, 3600):
                feed.write(f"{datetime.fromtimestamp(h, UTC).isoformat()},gpu.h100,{900 if h == spike else 2}.25\n")
        checked = run_cli("check", "-c", str(path), env=env)
        assert checked.returncode == 0, checked.stderr
    return path, spike, hook.posts


def test_an_anomaly_series_page_shows_its_band_its_flagged_bucket_and_its_alert(tmp_path: Path) -> None:
    path, spike, posts = spiked(tmp_path, 'web: {public_url: "https://costs.example.com/"}\n')
    [alert] = [p for p in posts if "gpu-watch" in p["title"]]
    link = "https://costs.example.com/anomaly/gpu-watch?series=feed%2Fgpu.h100"
    assert link in alert["message"]
    with dashboard(path) as (url, _):
        overview = httpx.get(url + "/").text
        assert '<tr class="anomaly" data-name="gpu-watch">' in overview
        listing = httpx.get(url + "/anomaly/gpu-watch").text
        assert re.findall(r'<tr class="series[^"]*" data-series="([^"]+)"', listing) == ["feed/gpu.h100"]
        page = httpx.get(url + link.removeprefix("https://costs.example.com"))
        assert page.status_code == 200, page.text
        security_headers(page)
        flagged = re.findall(r'<circle class="flagged"[^>]* data-bucket="([^"]+)" data-value="([^"]+)"', page.text)
        spiked_at = datetime.fromtimestamp(spike, ZoneInfo("Europe/Berlin")).isoformat(timespec="minutes")
        assert (spiked_at, "900.25") in flagged
        assert '<circle class="alerted"' in page.text and '<polygon class="band"' in page.text
        assert re.search(rf'<tr class="alert" data-bucket="{re.escape(spiked_at[:16])}:00', page.text)
        assert '<td class="feedback"></td>' in page.text
        number = re.search(r'<tr class="alert"[^>]*><td>(\d+)</td>', page.text).group(1)
        said = run_cli("feedback", "-c", str(path), number, "expected", "--note", "load test")
        assert said.returncode == 0, said.stderr
        page = httpx.get(url + link.removeprefix("https://costs.example.com"))
        assert '<td class="feedback">expected: load test</td>' in page.text
        assert httpx.get(url + "/anomaly/nope").status_code == 404
        assert httpx.get(url + "/anomaly/gpu-watch?series=feed/none").status_code == 404
