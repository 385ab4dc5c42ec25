"""Benchmark how fast `alertd run` stops on SIGTERM, in the states where it could linger.

Run by hand:  /work/venv/bin/python benchmarks/shutdown.py [--repeat 3]

Each run starts the daemon as the systemd unit does (NOTIFY_SOCKET, WATCHDOG_USEC,
STATE_DIRECTORY, CREDENTIALS_DIRECTORY), waits until it is in the state, sends SIGTERM and
times until the process has exited (and checks exit 0 and STOPPING=1):

  idle      sleeping between polls (after one full cycle)
  fetch     a poll hanging on a provider that accepts and never answers (timeout 5 min)
  backoff   waiting out a provider's `503` with `Retry-After: 120`
  delivery  an email hanging on an SMTP server that never greets (Apprise timeout 15 s)

Baseline, same run: `python -c "import time; time.sleep(60)"` killed by SIGTERM, the floor
of process exit. Target: every stop under 10 s (the unit's promise; TimeoutStopSec=20s).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path

from _common import alertd_command, clean_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alertd.simulate._server import Fault  # noqa: E402
from alertd.simulate.northflank import FakeNorthflank  # noqa: E402
from tests.conftest import wait_for as wait  # noqa: E402
from tests.receivers import NotifySocket, Silent, closed_port, mailto_url  # noqa: E402
from tests.test_check_e2e import NF_TOKEN, month_to_date, recent_usage  # noqa: E402


@contextmanager
def daemon(rules: str, alertd: list[str]) -> Iterator[tuple[subprocess.Popen[bytes], NotifySocket]]:
    with tempfile.TemporaryDirectory(prefix="alertd-shutdown-") as tmp, NotifySocket() as notify:
        root = Path(tmp)
        (root / "state").mkdir()
        (root / "credentials").mkdir()
        (root / "credentials" / "NF_TOKEN").write_text(NF_TOKEN)
        (root / "rules.yaml").write_text(rules)
        env = clean_env() | {
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": "30000000",
            "STATE_DIRECTORY": str(root / "state"),
            "CREDENTIALS_DIRECTORY": str(root / "credentials"),
        }
        process = subprocess.Popen(
            [*alertd, "run", "-c", str(root / "rules.yaml")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield process, notify
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def stop(process: subprocess.Popen[bytes], notify: NotifySocket) -> float:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    took = time.monotonic() - started
    if process.returncode != 0 or not notify.having("STOPPING", "1"):
        raise SystemExit(f"bad stop: exit {process.returncode}, messages {[f for _, f in notify.messages]}")
    return took


def source(url: str, extra: str = "") -> str:
    return f'sources:\n  - {{name: nf, provider: northflank, token: "${{NF_TOKEN}}", base_url: "{url}"{extra}}}\n'


def idle(alertd: list[str]) -> float:
    with FakeNorthflank(recent_usage(), token=NF_TOKEN) as api, daemon(source(api.url), alertd) as (p, notify):
        wait(lambda: any("source ok" in f["STATUS"] for f in notify.having("STATUS")))
        time.sleep(0.5)
        return stop(p, notify)


def fetch(alertd: list[str]) -> float:
    with Silent() as provider, daemon(source(f"http://127.0.0.1:{provider.port}", ", timeout: 5m"), alertd) as run:
        wait(lambda: provider.connections)
        time.sleep(0.5)
        return stop(*run)


def backoff(alertd: list[str]) -> float:
    with FakeNorthflank(recent_usage(), token=NF_TOKEN) as api:
        api.faults.append(Fault("status", status=503, retry_after="120"))
        with daemon(source(api.url), alertd) as run:
            wait(lambda: api.requests)
            time.sleep(0.5)
            return stop(*run)


def delivery(alertd: list[str]) -> float:
    usage = recent_usage()
    amount = (month_to_date(usage) / Decimal("0.85")).quantize(Decimal("0.01"))
    with ExitStack() as stack:
        api = stack.enter_context(FakeNorthflank(usage, token=NF_TOKEN))
        mail = stack.enter_context(Silent())
        url = mailto_url(mail.port, "pw").replace("cto=2&rto=2", "cto=60&rto=60")
        rules = source(api.url) + f'channels:\n  mail: "{url}"\n'
        rules += f"budgets:\n  - {{name: b, amount: {amount}, period: month, notify: [mail]}}\n"
        run = stack.enter_context(daemon(rules, alertd))
        wait(lambda: mail.connections)
        time.sleep(0.5)
        return stop(*run)


def floor() -> float:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.3)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alertd", help="the alertd executable (default: beside this Python)")
    args = parser.parse_args()
    alertd = alertd_command(args.alertd)
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores; {alertd[0]}")
    closed_port()  # fail early if loopback is unusable
    results = {"baseline: bare python": [floor() for _ in range(args.repeat)]}
    for name, scenario in (("idle", idle), ("fetch", fetch), ("backoff", backoff), ("delivery", delivery)):
        results[name] = [scenario(alertd) for _ in range(args.repeat)]
    print(f"{'state':<22} {'min':>7} {'median':>7} {'max':>7}   SIGTERM → exit, {args.repeat} runs")
    for name, times in results.items():
        print(f"{name:<22} {min(times):7.3f} {statistics.median(times):7.3f} {max(times):7.3f}")
    worst = max(max(t) for n, t in results.items() if not n.startswith("baseline"))
    print(f"target: every stop < 10 s: {'met' if worst < 10 else 'MISSED'} (worst {worst:.2f} s)")


if __name__ == "__main__":
    main()
