"""Kill -9 the daemon at random moments while a flaky receiver recovers: nothing is lost, and
duplicates stay within one per crash."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from alertd.simulate.northflank import FakeNorthflank
from tests.conftest import run_cli, wait_for
from tests.receivers import Webhook
from tests.test_check_e2e import NF_TOKEN, month_to_date, recent_usage
from tests.test_daemon import start

SHARES = ("0.55", "0.65", "0.85", "0.95", "1.05", "1.25")  # of each budget's amount: one alert each


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing(write, tmp_path: Path) -> None:
    rng = random.Random(2026)
    usage = recent_usage(seed=13)
    spent = month_to_date(usage)
    budgets = "".join(
        f"  - {{name: b{i}, amount: {(spent / Decimal(share)).quantize(Decimal('0.01'))}, period: month,"
        f" thresholds: [50, 80, 100, 120], notify: [c{i}]}}\n"
        for i, share in enumerate(SHARES)
    )
    expected = {"b0": "50%", "b1": "50%", "b2": "80%", "b3": "80%", "b4": "100%", "b5": "120%"}
    kills = 0
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        hook.fail_next = 5  # the receiver answers 503 for a while
        # A channel per budget, so that each alert is its own message (no digest) and is counted.
        channels = "".join(f"  c{i}: {hook.url}{i}\n" for i in range(len(SHARES)))
        rules = write(
            "rules.yaml",
            f"""
database: costs.db
sources:
  - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{api.url}", every: 1s}}
channels:
{channels}budgets:
{budgets}""",
        )
        for _ in range(6):
            daemon = start(rules)
            time.sleep(rng.uniform(0.2, 2.5))  # anywhere: mid-fetch, mid-evaluation, mid-delivery
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=10)
            kills += 1
        daemon = start(rules)
        try:
            wait_for(
                lambda: set(expected) <= {p["title"].split(":")[0].removeprefix("[alertd] ") for p in hook.posts}, 120
            )
            time.sleep(2)  # anything still to come would come now
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=10)
        assert daemon.returncode == 0
        failed = run_cli("deliveries", "-c", str(rules), "--failed")
    # The receiver's 503s are in the delivery log (one could go unrecorded only if every one of
    # them was followed by a kill before its record).
    assert failed.returncode == 0 and " failed: " in failed.stdout and "503" in failed.stdout
    counts = Counter(p["title"].split(":")[0].removeprefix("[alertd] ") for p in hook.posts)
    assert set(counts) == set(expected)  # every alert arrived, and nothing else
    for rule, threshold in expected.items():
        assert all(threshold in p["title"] for p in hook.posts if p["title"].startswith(f"[alertd] {rule}:"))
    assert sum(counts.values()) - len(expected) <= kills  # at most one duplicate per crash
