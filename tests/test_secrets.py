"""Secrets are never shown, whatever the URL's shape: canaries in every part of every kind of channel URL
and in the heartbeat URL, then the real commands against real receivers, then a search for the canaries
in everything alertd wrote or sent: the database file and its WAL, every log line (text and JSON, at
debug level), every command's output, every alert body any receiver got."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import run_cli, wait_for
from tests.receivers import Webhook, closed_port, mailto_url, smtp_server
from tests.test_check_e2e import NF_TOKEN, month_to_date, recent_usage

# Each canary has digits and capitals, as tokens do, and a shape of its own to search for.
USER, PASSWORD = "cnryUser1x", "cnryPw!7Q2x"  # written percent-encoded
PATH, HEADER, PLUS, QUERY = "cnryPathTok3n", "cnryHdr-9K4", "cnryPlus-4M7", "cnryQuery-5Z1"
DOWN_PATH, LOWER_PATH, COLON, BEARER = "cnryDownTok-8R", "cnry-lower-path-token", "cnryColon-2P", "cnryBearer-3J"
SLACK = ("TCNRY0001", "BCNRY0002", "cnrySlackC6Y")
NATIVE = ("TCNRY0005", "BCNRY0006", "cnryNativeC2D")
TYPO = ("TCNRY0003", "BCNRY0004", "cnrySlakC-1W")
TELEGRAM = "cnryTgramBotTok-0V"
SMTP_PASSWORD = "cnrySmtpPw-6T"
HEARTBEAT, HEARTBEAT_KEY, MOVED = "cnryHbUuid-4f1c", "cnryHbKey-8B5", "cnryHbMoved-3C"
CANARIES = [
    NF_TOKEN,
    USER,
    PASSWORD,
    PATH,
    HEADER,
    PLUS,
    QUERY,
    DOWN_PATH,
    LOWER_PATH,
    COLON,
    BEARER,
    *SLACK,
    *NATIVE,
    *TYPO,
    TELEGRAM,
    SMTP_PASSWORD,
    HEARTBEAT,
    HEARTBEAT_KEY,
    MOVED,
]
LOG = ["--log-level", "debug"]


class Heartbeat:
    """A dead man's switch that has moved: every ping is answered 302 to a URL with a token of its own,
    under an upper-case host."""

    def __init__(self) -> None:
        self.pings = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.pings += 1
                self.send_response(302)
                port = self.server.server_address[1]
                self.send_header("Location", f"http://LOCALHOST:{port}/moved/{MOVED}/{HEARTBEAT}%20x2")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/ping/{HEARTBEAT}%20x2?key={HEARTBEAT_KEY}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def port_of(hook: Webhook) -> int:
    return int(hook.url.split(":")[2].split("/")[0])


def rules(
    api_url: str, good: Webhook, smtp_port: int, down_port: int, heartbeat: str, amount: Decimal, *, typo: bool = True
) -> str:
    ok = [
        f"json://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port_of(good)}/hooks/{PATH}"
        f"?-X-Api-Key={HEADER}&+X-Token={PLUS}&token={QUERY}&format=text",
        mailto_url(smtp_port, SMTP_PASSWORD),
    ]
    down = [
        f"json://127.0.0.1:{down_port}/webhooks/{DOWN_PATH}/{LOWER_PATH}"
        f"?cto=1&:extra={COLON}&+Authorization=Bearer%20{BEARER}",
        "slack://{}/{}/{}".format(*SLACK),
        "https://hooks.slack.com/services/{}/{}/{}".format(*NATIVE),
        f"tgram://123456789:{TELEGRAM}/-100123",
        *(["slak://{}/{}/{}".format(*TYPO)] if typo else []),  # a mistyped scheme
    ]
    return f"""
database: costs.db
sources:
  - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{api_url}", every: 1s}}
channels:
  ops: {json.dumps(ok)}
  down: {json.dumps(down)}
budgets:
  - {{name: cloud, amount: {amount.quantize(Decimal("0.01"))}, period: month, notify: [ops, down]}}
delivery:
  give_up_after: 1s
monitoring:
  heartbeat_url: "{heartbeat}"
"""


@pytest.fixture
def heartbeat() -> Iterator[Heartbeat]:
    server = Heartbeat()
    yield server
    server.close()


# No test may reach Slack or Telegram: their URLs go through a proxy that is not there.
OFFLINE = {"HTTP_PROXY": f"http://127.0.0.1:{closed_port()}", "NO_PROXY": "127.0.0.1,localhost"}
OFFLINE["HTTPS_PROXY"] = OFFLINE["HTTP_PROXY"]


@pytest.mark.slow
def test_no_canary_is_shown_anywhere(write, tmp_path: Path, heartbeat: Heartbeat) -> None:
    """One scenario, both log formats: the commands alternate between text and json."""
    usage = recent_usage(seed=21)
    formats = itertools.cycle(["text", "json"])
    spent = month_to_date(usage)
    outputs: list[str] = []
    down_port = closed_port()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        fmt = next(formats)
        result = run_cli(*args, "-c", str(config), *LOG, "--log-format", fmt, env=OFFLINE, cwd=tmp_path)
        outputs.extend([result.stdout, result.stderr])
        return result

    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as good, smtp_server() as mailbox:
        receivers = (api.url, good, mailbox.port, down_port, heartbeat.url)
        config = write("rules.yaml", rules(*receivers, spent / Decimal("0.6")))
        assert "2 delivered, 5 failed" in cli("check").stdout  # ops's two URLs, down's five
        time.sleep(1.2)
        cli("check")  # down's give up
        # A budget crossed further: a new alert, to ops with a note on what down never got.
        write("rules.yaml", rules(*receivers, spent / Decimal("0.85")))
        cli("check")
        assert len(good.posts) == 2 and len(mailbox.mails) == 2
        note = good.posts[1]["message"]
        assert "Could not be delivered elsewhere (5" in note and "down (slak://***): not a valid Apprise URL" in note

        cli("validate")  # refuses the mistyped URL, as `run` does: without showing it
        write("rules.yaml", rules(*receivers, spent / Decimal("0.85"), typo=False))
        outputs.extend(run_daemon(config, next(formats), heartbeat))
        write("rules.yaml", rules(*receivers, spent / Decimal("0.85")))
        pinged = heartbeat.pings
        assert pinged >= 1
        cli("check")  # the last of down's retries give up...
        assert cli("check").returncode == 0  # ...and nothing is left to deliver: healthy, so it pings the heartbeat
        notify = cli("notify-test")
        assert notify.returncode == 1 and "ops: json://***:***@127.0.0.1:" in notify.stdout
        status = json.loads(cli("status", "--json").stdout)
        assert status["failing_deliveries"]
        cli("status")
        deliveries = cli("deliveries", "--json").stdout
        assert "https://hooks.slack.com/***/***/***/***" in deliveries and "slack://***/***/***" in deliveries
        cli("deliveries")
        assert heartbeat.pings > pinged

    logs = "\n".join(outputs)
    assert "heartbeat failed" in logs and "Redirect response '302 Found'" in logs
    assert "Loaded JSON URL" in logs  # Apprise's own debug lines are there, masked
    bodies = [f"{p['title']}\n{p['message']}" for p in good.posts] + [m.as_string() for m in mailbox.mails]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("costs.db*"))
    assert stored
    assert not shown(CANARIES, [*outputs, *bodies, stored.decode("latin-1")])


def run_daemon(config: Path, fmt: str, heartbeat: Heartbeat) -> list[str]:
    """`alertd run` until it has pinged the heartbeat (its first cycles retry and give up down's
    deliveries), then SIGTERM: its stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTD_")} | OFFLINE
    daemon = subprocess.Popen(
        [sys.executable, "-m", "alertd", "run", "-c", str(config), *LOG, "--log-format", fmt],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=config.parent,
    )
    pings = heartbeat.pings
    try:
        wait_for(lambda: heartbeat.pings > pings or daemon.poll() is not None, timeout=30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=15)
    assert daemon.returncode == 0, err[-2000:]
    return [out, err]


def shown(canaries: list[str], texts: list[str]) -> list[tuple[str, str]]:
    """(canary, where) for every canary found in a text, in any case, as it is or percent-encoded, or as
    Apprise's own mask ("c...x": a first and a last character)."""
    found = []
    for canary in canaries:
        forms = [canary.lower(), quote(canary, safe="").lower(), f"{canary[0]}...{canary[-1]}".lower()]
        for text in texts:
            lowered = text.lower()
            at = next((i for i in map(lowered.find, forms) if i >= 0), -1)
            if at >= 0:
                found.append((canary, text[max(0, at - 80) : at + 80]))
    return found
