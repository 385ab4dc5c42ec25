"""Benchmark `alertd.rules.forecast.project` against a straight run-rate line.

Run by hand:  /work/venv/bin/python benchmarks/forecast.py [--seeds 3] [--months 14]

Seeded synthetic hourly spend (micro-units) with daily and weekly seasonality in Berlin local
time, several shapes, each with occasional one-hour spikes (about two a month, 10–40× an
hour). For every calendar month (in UTC and in Europe/Berlin) it projects the month's final
spend at 3%, 10%, 25%, 50% and 75% of the month (a forecast alert may fire from the first
hour when a week of history is there, so the early points matter), from the history before that point (up to 5 weeks
before the month began), with `project` and with spent / elapsed × length, and prints the MAPE
of each against the actual final spend, per checkpoint and overall, and the mean time per
projection (plus one year-long period, for the 8,760-hour worst case).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from alertd.rules.forecast import project
from alertd.rules.periods import period_bounds

HOUR = 3600
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = {"UTC": ZoneInfo("UTC"), "Berlin": BERLIN}
CHECKPOINTS = (0.03, 0.1, 0.25, 0.5, 0.75)  # 3 % and 10 %: where a week of history lets a forecast alert
HISTORY = timedelta(weeks=5)
START = datetime(2024, 10, 1, tzinfo=UTC)
BASE = 1_000_000  # $1 an hour at shape 1.0
SPIKE_RATE = 1 / 360  # about two spike hours a month


def office(wd: int, h: int, days: float) -> float:
    """Weekday working hours carry most of the spend; nights and weekends idle along."""
    return 4.0 if wd < 5 and 8 <= h < 18 else (0.6 if wd < 5 else 0.4)


def flat(wd: int, h: int, days: float) -> float:
    return 1.0


def growth(wd: int, h: int, days: float) -> float:
    """Office hours growing 20% a month."""
    return office(wd, h, days) * 1.2 ** (days / 30.44)


def noisy(wd: int, h: int, days: float) -> float:
    """Busier by day than by night; the noise is in SHAPES."""
    return 1.5 if 7 <= h < 22 else 0.5


def weekend_batch(wd: int, h: int, days: float) -> float:
    """A light service all week, and heavy batch jobs on weekend nights."""
    return 8.0 if wd >= 5 and h < 8 else 0.4


SHAPES: dict[str, tuple[Callable[[int, int, float], float], float, float]] = {
    # name: (shape, hourly noise sigma (lognormal), daily level wander sigma)
    "office": (office, 0.15, 0.05),
    "flat": (flat, 0.1, 0.03),
    "growth 20%/mo": (growth, 0.15, 0.05),
    "noisy": (noisy, 0.8, 0.15),
    "weekend batch": (weekend_batch, 0.2, 0.05),
}


def series(name: str, seed: int, hours: int) -> list[int]:
    """Hourly spend in micro-units from START; shapes are in Berlin local time."""
    shape, sigma, wander = SHAPES[name]
    rng = random.Random(f"{name}:{seed}")
    out, day_level, day = [], 1.0, None
    for i in range(hours):
        local = (START + timedelta(hours=i)).astimezone(BERLIN)
        if local.date() != day:
            day = local.date()
            day_level = math.exp(0.9 * math.log(day_level) + rng.gauss(0, wander))  # wanders, pulled back to 1
        x = shape(local.weekday(), local.hour, i / 24) * day_level * math.exp(rng.gauss(-sigma * sigma / 2, sigma))
        if rng.random() < SPIKE_RATE:
            x *= rng.uniform(10, 40)
        out.append(round(BASE * x))
    return out


def month_start(after: int) -> datetime:
    """The first of the calendar month `after` months after START's, UTC."""
    year, month = divmod(START.year * 12 + START.month - 1 + after, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def hour_index(moment: datetime) -> int:
    return int((moment - START).total_seconds()) // HOUR


def evaluate(hourly: list[int], prefix: list[int], at: datetime, tz: ZoneInfo, frac: float) -> tuple[float, ...] | None:
    """(seasonal APE %, run-rate APE %, seconds) of one projection, or None if outside the data."""
    p_start, p_end = period_bounds("month", at, tz)
    if hour_index(p_start) < 0 or hour_index(p_end) > len(hourly):
        return None
    length = hour_index(p_end) - hour_index(p_start)
    cut = hour_index(p_start) + int(length * frac)
    lo = max(0, hour_index(p_start - HISTORY))
    spent = prefix[cut] - prefix[hour_index(p_start)]
    actual = prefix[hour_index(p_end)] - prefix[hour_index(p_start)]
    data_end = START + timedelta(hours=cut)

    began = time.perf_counter()  # amount = the actual total, so the timing includes finding a run-out
    forecast = project(hourly[lo:cut], START + timedelta(hours=lo), data_end, p_start, p_end, spent, actual, tz)
    seconds = time.perf_counter() - began
    assert forecast is not None and forecast.method == "seasonal"
    line = spent * length / (cut - hour_index(p_start))
    return abs(forecast.projected - actual) / actual * 100, abs(line - actual) / actual * 100, seconds


def year_timing(hourly: list[int], repeat: int = 20) -> float:
    """Mean seconds to project a calendar year from its 25% point: 6,570 future hours."""
    p_start, p_end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    cut = hour_index(p_start) + 2190
    lo = hour_index(p_start - HISTORY)
    spent = sum(hourly[hour_index(p_start) : cut])
    args = (hourly[lo:cut], START + timedelta(hours=lo), START + timedelta(hours=cut), p_start, p_end, spent)
    began = time.perf_counter()
    for _ in range(repeat):
        project(*args, 10**15, BERLIN)
    return (time.perf_counter() - began) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="series per shape")
    parser.add_argument("--months", type=int, default=14, help="calendar months evaluated after October 2024")
    args = parser.parse_args()

    hours = hour_index(month_start(args.months + 1))
    ape: dict[tuple[str, str, float], list[float]] = defaultdict(list)  # (shape, method, checkpoint)
    times: list[float] = []
    year_seconds = 0.0
    for name in SHAPES:
        for seed in range(args.seeds):
            hourly = series(name, seed, hours)
            prefix = [0, *accumulate(hourly)]
            year_seconds = max(year_seconds, year_timing(hourly))
            for at in (month_start(m) + timedelta(days=14) for m in range(1, args.months + 1)):
                for zone, tz in ZONES.items():
                    for frac in CHECKPOINTS:
                        result = evaluate(hourly, prefix, at, tz, frac)
                        if result is None:
                            continue
                        seasonal, line, seconds = result
                        for key in (name, f"all {zone}", "all"):
                            ape[key, "seasonal", frac].append(seasonal)
                            ape[key, "run-rate", frac].append(line)
                        times.append(seconds)

    print(
        f"alertd forecast benchmark — python {platform.python_version()}, os.cpu_count()={os.cpu_count()}, "
        f"{args.seeds} seeds × {len(SHAPES)} shapes × {args.months} months × UTC/Berlin"
        f" × {len(CHECKPOINTS)} checkpoints = {len(times)} projections"
    )
    print()
    print("MAPE of the projected month total against the actual (%)")
    header = f"{'series':<16}{'method':<10}" + "".join(f"{f'@{int(f * 100)}%':>8}" for f in CHECKPOINTS) + f"{'all':>8}"
    print(header)
    print("-" * len(header))
    for key in [*SHAPES, "all UTC", "all Berlin", "all"]:
        for method in ("seasonal", "run-rate"):
            cells = [sum(ape[key, method, f]) / len(ape[key, method, f]) for f in CHECKPOINTS]
            pooled = [x for f in CHECKPOINTS for x in ape[key, method, f]]
            row = "".join(f"{c:8.2f}" for c in cells) + f"{sum(pooled) / len(pooled):8.2f}"
            print(f"{key:<16}{method:<10}{row}")
    print()
    times.sort()
    print(
        f"project(), month periods: mean {sum(times) / len(times) * 1000:.3f} ms, "
        f"p50 {times[len(times) // 2] * 1000:.3f} ms, max {times[-1] * 1000:.3f} ms per projection"
    )
    print(f"project(), a year from its 25% point (6,570 future hours): {year_seconds * 1000:.3f} ms, worst series")


if __name__ == "__main__":
    main()
