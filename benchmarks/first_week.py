"""What a user's first week of anomaly alerts looks like on a year of an organisation's spend.

Run by hand from the repository root:
    /work/venv/bin/python benchmarks/first_week.py [--series 160] [--months 12] [--days 7]

The dataset of `scale.py` (seeded hourly spend of SERIES line items over four sources, with
their incidents), one `by: line_item` anomaly rule over every source with the defaults a user
gets, and the same rule with the money floor's share off (`min_share: 0`) as the baseline.
`alertd replay --since` (the last DAYS, each bucket seen at its end, as the daemon sees it) says
which messages would have been sent: how many, what each is worth a day, what drove it; and
what the first `alertd check` on that history decides.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_data
from _common import alertd_command, clean_env

RULES = """anomalies:
  - {name: defaults, by: line_item}
  - {name: no-share, by: line_item, min_share: 0}
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=160)
    ap.add_argument("--months", type=float, default=12)
    ap.add_argument("--days", type=int, default=7)
    args = ap.parse_args()
    hours = int(args.months * 730)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        end = int(time.time()) // 3600 * 3600
        began = time.perf_counter()
        data = scale_data.generate(work, series=args.series, sources=4, hours=hours, total_hours=hours, end=end, seed=1)
        rules = work / "rules.yaml"
        rules.write_text(scale_data.rules_header(data, work / "alertd.db", 9, "15m") + RULES)
        since = datetime.fromtimestamp(data.start, UTC).isoformat()
        run = [*alertd_command(None), "backfill", "-c", str(rules), "--since", since]
        subprocess.run(run, check=True, env=clean_env(), capture_output=True)
        loaded = time.perf_counter() - began
        # The first check on that history: what it decides (its deliveries fail: no receiver).
        subprocess.run([*alertd_command(None), "check", "-c", str(rules)], env=clean_env(), capture_output=True)
        with sqlite3.connect(work / "alertd.db") as db:
            first_check = db.execute("SELECT rule, kind, title FROM alerts ORDER BY id").fetchall()
        first = datetime.fromtimestamp(end - args.days * 86400, UTC).isoformat()
        began = time.perf_counter()
        replay = subprocess.run(
            [*alertd_command(None), "replay", "-c", str(rules), "--since", first, "--json"],
            check=True,
            env=clean_env(),
            capture_output=True,
            text=True,
        )
        replayed = time.perf_counter() - began
    print(
        f"{args.series} series, {hours:,} hours ({len(data.series) * hours:,} rows), on {os.cpu_count()} cores:"
        f" generated and backfilled in {loaded:.0f} s, replayed in {replayed:.1f} s"
    )
    print(f"the first check on that history decided {len(first_check)} alert(s):")
    for rule, kind, title in first_check:
        print(f"  {rule} {kind}: {title}")
    told = [json.loads(line) for line in replay.stdout.splitlines() if line.strip()]
    for rule in ("defaults", "no-share"):
        mine = [a for a in told if a.get("rule") == rule and a.get("kind") == "anomaly"]
        print(f"\nrule {rule}: {len(mine)} anomaly messages in the last {args.days} days")
        per_day = [_per_day(a) for a in mine]
        if per_day:
            print(
                f"  excess a day if it went on: median ${statistics.median_low(per_day):,.2f},"
                f" smallest ${min(per_day):,.2f}, largest ${max(per_day):,.2f}"
            )
        items = Counter(len(a.get("also", [])) + 1 for a in mine)
        print(f"  line items per message: {dict(sorted(items.items()))}")
        for a in mine[:12]:
            every = [a, *a.get("also", [])]
            named = ", ".join(f"{m['series']['source']}/{m['series']['line_item']}" for m in every)
            print(f"  {a['bucket'][:16]}  {a['reason']:6} ${_per_day(a):>10,.2f}/day  {named}")
    return 0


def _per_day(alert: dict) -> Decimal:
    """What the message's line items together deviate by, over a day at this rate."""
    every = [alert, *alert.get("also", [])]
    deviation = sum(Decimal(a["value"]) - Decimal(a["expected"]) for a in every)
    return deviation * 86400 / int(alert.get("step", 3600))


if __name__ == "__main__":
    sys.exit(main())
