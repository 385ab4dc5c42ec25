"""Feedback from the dashboard, as a user gives it: the form on an anomaly alert's page, filled in
and sent from headless chromium (driven over the DevTools protocol), and the posts a stranger
could send refused: another site's form, a name re-pointed at loopback, no auth, too much."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from alertd.config import Config
from alertd.dashboard.writes import Gate, Refused, take
from alertd.store import Store
from tests.conftest import run_cli
from tests.test_dashboard import PASSWORD, dashboard, security_headers, spiked

CHROMIUM = shutil.which("chromium")
SERIES = "/anomaly/gpu-watch?series=feed%2Fgpu.h100"


def form_of(page: str) -> dict[str, str]:
    """The fields of the first feedback form on a page, as the browser would send them."""
    form = re.search(r'<form method="post" action="/feedback" class="tell">(.*?)</form>', page, re.S)
    assert form, page
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))
    return fields | {"verdict": "expected", "until": "", "note": ""}


def said(path: Path, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    status = run_cli("status", "--json", "-c", str(path), env=env)
    assert status.returncode == 0, status.stderr
    return json.loads(status.stdout)["feedback"]


def test_a_form_posted_records_the_feedback_and_goes_back_to_the_page(tmp_path: Path) -> None:
    path, _, _ = spiked(tmp_path, "")
    with dashboard(path) as (url, _):
        page = httpx.get(url + SERIES).text
        fields = form_of(page)
        until = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(days=30)).date().isoformat()
        sent = httpx.post(url + "/feedback", data=fields | {"until": until, "note": "new <b>cluster</b>"})
        assert sent.status_code == 303 and sent.headers["Location"] == SERIES, sent.text
        security_headers(sent)
        page = httpx.get(url + SERIES).text
        assert (
            f'<td class="feedback">expected until {until}T00:00:00+01:00: new &lt;b&gt;cluster&lt;/b&gt;</td>' in page
        )
        [note] = said(path)
        assert note["verdict"] == "expected" and note["note"] == "new <b>cluster</b>"
        assert note["alert"] == int(fields["alert"]) and note["series"] == "feed/gpu.h100"
        # a second word on the same alert replaces the first, from the dashboard as from the CLI
        again = httpx.post(url + "/feedback", data=fields | {"verdict": "unexpected"})
        assert again.status_code == 303
        assert [n["verdict"] for n in said(path)] == ["unexpected"]


def test_an_incident_is_on_each_member_page_at_its_own_hour_and_feedback_there_covers_all(tmp_path: Path) -> None:
    hour = int(time.time()) // 3600 * 3600
    rows = ["timestamp,line_item,amount"]
    for h in range(hour - 40 * 24 * 3600, hour - 3 * 3600, 3600):
        stamp = datetime.fromtimestamp(h, UTC).isoformat()
        rows += [f"{stamp},gpu.h100,{1 + (h // 3600) % 5}.25", f"{stamp},gpu.a100,{2 + (h // 3600) % 3}.50"]
    feed = tmp_path / "spend.csv"
    feed.write_text("\n".join(rows) + "\n")
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"""timezone: Europe/Berlin
database: {tmp_path}/costs.db
sources: [{{name: feed, provider: csv, path: {feed}}}]
channels: {{ops: "console://"}}
anomalies: [{{name: gpu-watch, line_items: [gpu.*], min_impact: 5, notify: [ops]}}]
"""
    )
    assert run_cli("check", "-c", str(path)).returncode == 0
    first, second = hour - 3 * 3600, hour - 2 * 3600  # h100 runs away, a100 an hour later: one incident
    with feed.open("a") as more:
        for h in range(first, hour, 3600):
            stamp = datetime.fromtimestamp(h, UTC).isoformat()
            usual = 2 + (h // 3600) % 3  # a100 as ever until its own hour
            more.write(f"{stamp},gpu.h100,900.25\n{stamp},gpu.a100,{800 if h >= second else usual}.50\n")
    checked = run_cli("check", "-c", str(path))
    assert checked.returncode == 0 and "1 new alert(s)" in checked.stdout and "2 line items" in checked.stdout
    local = ZoneInfo("Europe/Berlin")
    with dashboard(path) as (url, _):
        lead = httpx.get(url + SERIES).text
        member = httpx.get(url + "/anomaly/gpu-watch?series=feed%2Fgpu.a100").text
        [number] = set(re.findall(r'<tr class="alert"[^>]*><td>(\d+)</td>', lead))
        assert re.findall(r'<tr class="alert"[^>]*><td>(\d+)</td>', member) == [number]
        for page, at in ((lead, first), (member, second)):
            told = datetime.fromtimestamp(at, local).isoformat()
            assert f'<tr class="alert" data-bucket="{told}">' in page
            rings = re.findall(r'<circle class="alerted"[^>]* data-bucket="([^"]+)"', page)
            assert rings == [datetime.fromtimestamp(at, local).isoformat(timespec="minutes")], rings
        sent = httpx.post(url + "/feedback", data=form_of(member) | {"series": "feed/gpu.a100"})
        assert sent.status_code == 303 and sent.headers["Location"] == "/anomaly/gpu-watch?series=feed%2Fgpu.a100"
    notes = {n["series"]: n["bucket"] for n in said(path)}
    assert notes == {
        "feed/gpu.h100": datetime.fromtimestamp(first, local).isoformat(),
        "feed/gpu.a100": datetime.fromtimestamp(second, local).isoformat(),
    }


BAD_FORMS = [
    ({"token": "x" * 43}, 403, "The form is not this dashboard&#39;s"),
    ({"token": ""}, 403, "The form is not this dashboard&#39;s"),
    ({"verdict": "maybe"}, 400, "The verdict is one of expected or unexpected"),
    ({"alert": "999999"}, 400, "No alert 999999"),
    ({"alert": "1" * 40}, 400, "Which alert?"),
    ({"alert": "٣"}, 400, "Which alert?"),
    ({"until": "2020-01-01"}, 400, "Until: the end date is in the past"),
    ({"until": "soon"}, 400, "Until: &#39;soon&#39; is not a date"),
    ({"until": "0001-01-01"}, 400, "Until: &#39;0001-01-01&#39; is not a date"),
    ({"verdict": "unexpected", "until": "2099-01-01"}, 400, "Until: an end date is for a planned change"),
    ({"note": "n" * 501}, 400, "A note is at most 500 characters"),
]


def test_a_bad_form_is_refused_in_plain_words_and_records_nothing(tmp_path: Path) -> None:
    path, _, _ = spiked(tmp_path, "")
    with dashboard(path) as (url, _):
        fields = form_of(httpx.get(url + SERIES).text)
        for change, status, why in BAD_FORMS:
            refused = httpx.post(url + "/feedback", data=fields | change)
            assert refused.status_code == status and why in refused.text, (change, refused.text)
            security_headers(refused)
            if status == 400:  # the way back to the page the form was on
                assert f'<a href="{SERIES}">Back</a>' in refused.text, change
    assert said(path) == []


def test_posts_a_stranger_could_send_are_refused(tmp_path: Path) -> None:
    path, _, _ = spiked(tmp_path, "")
    with dashboard(path) as (url, _):
        fields = form_of(httpx.get(url + SERIES).text)
        # a site whose name now points at 127.0.0.1 reads the page, token and all, as its own
        rebound = httpx.post(url + "/feedback", data=fields, headers={"Host": "evil.example:80"})
        assert rebound.status_code == 403 and "names a host this dashboard is not" in rebound.text
        too_long = httpx.post(url + "/feedback", content=b"a" * 5000, headers={"Content-Type": "text/plain"})
        assert too_long.status_code == 413
        not_a_form = httpx.post(url + "/feedback", json=fields)
        assert not_a_form.status_code == 415
        for method in ("PUT", "DELETE"):
            refused = httpx.request(method, url + "/feedback")
            assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, POST"
        assert httpx.post(url + "/", data=fields).status_code == 405
        assert httpx.get(url + "/feedback").status_code == 404
        # the name in `localhost` works as 127.0.0.1 does
        fine = httpx.post(url + "/feedback", data=fields, headers={"Host": "localhost"})
        assert fine.status_code == 303, fine.text
    assert len(said(path)) == 1


def test_beyond_loopback_without_auth_the_dashboard_takes_no_feedback(tmp_path: Path) -> None:
    path, _, _ = spiked(tmp_path, "")
    with dashboard(path, host="0.0.0.0") as (url, _):
        page = httpx.get(url + SERIES).text
        assert '<form method="post"' not in page and "This dashboard takes no feedback" in page
        refused = httpx.post(url + "/feedback", data={"alert": "1", "verdict": "expected", "token": ""})
        assert refused.status_code == 403 and "only on loopback or with auth" in refused.text
    assert said(path) == []


def test_with_auth_feedback_needs_it_too_and_works_beyond_loopback(tmp_path: Path) -> None:
    env = {"SECRET": PASSWORD}
    path, _, _ = spiked(tmp_path, "web:\n  auth:\n    password: ${SECRET}\n", env=env)
    good = {"Authorization": "Basic " + base64.b64encode(f"me:{PASSWORD}".encode()).decode()}
    with dashboard(path, env, host="0.0.0.0") as (url, _):
        fields = form_of(httpx.get(url + SERIES, headers=good).text)
        assert httpx.post(url + "/feedback", data=fields).status_code == 401
        sent = httpx.post(url + "/feedback", data=fields, headers=good | {"Host": "costs.internal:8080"})
        assert sent.status_code == 303, sent.text
    assert len(said(path, env)) == 1


FIELDS = ("token", "alert", "verdict", "until", "note", "rule", "series", "other")
FORMS = st.one_of(
    st.binary(max_size=200),
    st.dictionaries(
        st.sampled_from(FIELDS),
        st.one_of(
            st.sampled_from(["tok", "1", "expected", "unexpected", "2099-01-01", "0001-01-01", ""]),
            st.text(max_size=30),
        ),
    ).map(lambda form: urlencode(form).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=FORMS, host=st.sampled_from([None, "127.0.0.1:8080", "localhost", "evil.example", "[::1]:1", "\x00"]))
def test_any_form_is_recorded_or_refused_in_plain_words(tmp_path: Path, body: bytes, host: str | None) -> None:
    config = Config.model_validate({"timezone": "Europe/Berlin"})
    database = tmp_path / "costs.db"
    Store(database, config.tz).close()
    try:
        back = take(Gate("tok", frozenset()), host, body, config, database, datetime.now(UTC))
    except Refused as exc:
        assert exc.status in (400, 403) and str(exc)
    else:  # an empty database has no alert to record feedback on
        raise AssertionError(f"recorded {body!r}, back to {back}")


class DevTools:
    """One page of headless chromium, driven over the DevTools protocol: commands, and the events
    they cause (console messages, what the page's policy refused, page loads)."""

    def __init__(self, socket: Any) -> None:
        self.socket, self.events, self.next_id = socket, [], 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]
            self.events.append(message)

    def wait(self, method: str) -> dict[str, Any]:
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            self.events.append(message)
            if message.get("method") == method:
                return message["params"]

    def value(self, expression: str) -> Any:
        return self.send("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


@contextmanager
def browser(profile: Path) -> Iterator[DevTools]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    process = subprocess.Popen(
        [CHROMIUM, *flags, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        active = profile / "DevToolsActivePort"  # chromium writes the port it chose here
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().count("\n") >= 1) and time.monotonic() < deadline:
            time.sleep(0.1)
        port = active.read_text().splitlines()[0]
        [page] = [t for t in httpx.get(f"http://127.0.0.1:{port}/json/list").json() if t["type"] == "page"]
        with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
            tools = DevTools(socket)
            for domain in ("Page", "Runtime", "Log"):
                tools.send(f"{domain}.enable")
            yield tools
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's)")
def test_feedback_given_in_a_real_browser(tmp_path: Path) -> None:
    path, spike, _ = spiked(tmp_path, "")
    with dashboard(path) as (url, _), browser(tmp_path / "chromium") as page:
        page.send("Page.navigate", url=url + SERIES)
        page.wait("Page.loadEventFired")
        assert page.value("document.querySelectorAll('form.tell').length") == 1
        # as a person would: choose, type, click the button
        page.value(
            "const form = document.querySelector('form.tell');"
            "form.verdict.value = 'expected'; form.note.value = 'the nightly export';"
            "form.querySelector('button').click()"
        )
        page.wait("Page.loadEventFired")
        assert page.value("location.href") == url + SERIES
        assert page.value("document.querySelector('td.feedback').textContent") == "expected: the nightly export"
        problems = [
            e
            for e in page.events
            if e.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Log.entryAdded")
        ]
        assert not problems, problems  # nothing the page's policy refused, no script error
    [note] = said(path)
    assert note["verdict"] == "expected" and note["note"] == "the nightly export"
    assert note["bucket"] == datetime.fromtimestamp(spike, UTC).astimezone(ZoneInfo("Europe/Berlin")).isoformat()
