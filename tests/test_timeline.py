"""The replay's running sums against plain arithmetic on the buckets arrived so far."""

from __future__ import annotations

import random

import pytest

from alertd.config import Budget
from alertd.model import CostRecord, utc
from alertd.rules.budget import Coverage, selects, spend_of_rows, status_of, windows
from alertd.store.rollup import local_day
from alertd.timeline import Ledger, Timeline
from tests.test_evaluate_budgets import DAY, START, ZONES, config, history


@pytest.mark.parametrize("seed", range(8))
def test_running_sums_equal_the_rows_arrived_so_far(seed: int) -> None:
    rng = random.Random(seed)
    zone = rng.choice(ZONES)
    spec = {
        "name": "b",
        "amount": 1000,
        "notify": ["x"],
        "period": rng.choice(["day", "week", "month", "quarter", "year"]),
        "week_start": rng.choice(["monday", "sunday"]),
    }
    if rng.random() < 0.5:
        spec["line_items"] = ["gpu.*", "m1*"]
    cfg = config(zone, [spec])
    budget: Budget = cfg.budgets[0]
    rows = history(rng, 50 * 24)
    # One series of mixed buckets: a day-long one arrives after hours it spans, and half hours.
    for day in range(START, START + 50 * DAY, DAY):
        rows.append(CostRecord("csv", day, "mixed", DAY, rng.randint(1, 9_000_000), "USD"))
        rows += [CostRecord("csv", day + h * 3600, "mixed", 3600, rng.randint(1, 9_000), "USD") for h in (6, 12)]
        rows.append(CostRecord("csv", day + 7 * 3600 + 1800, "mixed", 1800, rng.randint(1, 9_000), "USD"))
    mine = [r for r in rows if selects(budget, r.source, r.line_item)]
    timeline = Timeline(cfg.tz)
    ledger = Ledger(cfg.tz, {(r.source, r.line_item): [timeline] for r in mine}, START, START + 52 * DAY)
    # One-hour buckets on the hour are loaded up front (in no particular order), the rest arrive.
    hourly: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for r in mine:
        if r.bucket_seconds == 3600 and r.bucket_start % 3600 == 0:
            hourly.setdefault((r.source, r.line_item), []).append(((r.bucket_start - START) // 3600, r.amount))
    for series, buckets in hourly.items():
        rng.shuffle(buckets)
        ledger.hourly(series, [h for h, _ in buckets], [a for _, a in buckets])
    others = [r for r in mine if not (r.bucket_seconds == 3600 and r.bucket_start % 3600 == 0)]
    ordered = iter(sorted(others, key=lambda r: r.bucket_start + r.bucket_seconds))
    waiting = next(ordered, None)
    t = START + DAY
    while t < START + 50 * DAY:
        t += rng.choice([3600, 5 * 3600, DAY, 2 * DAY])
        arrived = []
        while waiting is not None and waiting.bucket_start + waiting.bucket_seconds <= t:
            r = waiting
            arrived.append((r.source, r.line_item, r.bucket_start, r.bucket_seconds, r.amount))
            waiting = next(ordered, None)
        ledger.arrive(t, arrived)
        now = utc(t)
        arrived = [r for r in rows if r.bucket_start + r.bucket_seconds <= t]
        w = windows(budget, now, cfg.tz)
        # What has arrived is complete: through the end of each source's newest bucket.
        through: dict[str, int] = {}
        for r in arrived:
            if selects(budget, r.source, r.line_item):
                through[r.source] = max(through.get(r.source, 0), r.bucket_start + r.bucket_seconds)
        assert ledger.through == through
        coverage = Coverage(through)
        got = status_of(budget, w, timeline.spend(w), cfg.tz, "USD", coverage)
        expected = spend_of_rows(budget, arrived, w, cfg.tz, through)
        assert got == status_of(budget, w, expected, cfg.tz, "USD", coverage), now
        assert timeline.spent(local_day(int(w.start.timestamp()), cfg.tz), local_day(t, cfg.tz)) == got.spent
