"""Self-monitoring: a source that stops fetching is a blind spot, said once, and so is its recovery;
a heartbeat URL is requested after each healthy cycle."""

from __future__ import annotations

import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from alertd.simulate._server import Fault
from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import run_cli
from tests.receivers import Webhook
from tests.test_check_e2e import NF_TOKEN, recent_usage


def test_blind_spot_and_recovery_are_each_said_once(write, tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ping/canary-uuid-4410").respond_with_data("OK")
    with FakeNorthflank(recent_usage(days=3, seed=14), token=NF_TOKEN) as api, Webhook() as hook:
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{api.url}", stale_after: 1s}}
            channels:
              ops: {hook.url}
            monitoring:
              notify: [ops]
              heartbeat_url: "{httpserver.url_for("/ping/canary-uuid-4410")}"
            """,
        )
        assert run_cli("check", "-c", str(rules)).returncode == 0
        assert len(httpserver.log) == 1  # healthy: the switch is pinged
        api.faults.extend([Fault("status", status=401)] * 4)  # the provider stops answering
        time.sleep(1.2)
        failing = run_cli("check", "-c", str(rules))
        assert failing.returncode == 1
        again = run_cli("check", "-c", str(rules))
        assert again.returncode == 1
        assert len(httpserver.log) == 1  # unhealthy cycles do not ping
        assert [p["title"] for p in hook.posts] == [
            next(p["title"] for p in hook.posts if "blind spot: source nf has not fetched for" in p["title"])
        ]
        assert "HTTP 401" in hook.posts[0]["message"]
        api.faults.clear()
        back = run_cli("check", "-c", str(rules))
        assert back.returncode == 0, back.stdout + back.stderr
        assert run_cli("check", "-c", str(rules)).returncode == 0
    titles = [p["title"] for p in hook.posts]
    assert len(titles) == 2 and titles[1].startswith("[alertd] source nf is fetching again (blind for")
    assert len(httpserver.log) == 3
    assert "canary-uuid-4410" not in "".join(p["message"] for p in hook.posts)
