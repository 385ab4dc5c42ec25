"""Benchmark alertd's anomaly detector against three comparators on labelled spend series.

Run by hand from the repository root:
    /work/venv/bin/python benchmarks/anomaly.py [--quick] [--seed N] [--only CORPUS] [--list-misses]
    /work/venv/bin/python benchmarks/anomaly.py --cycle 50   # per-cycle costs on a store (anomaly_bench/cycle.py)

Needs numpy and statsmodels (benchmark-only: `pip install statsmodels`). Corpora:
  hourly  ~40 seeded synthetic series of 4–6 months (half with 1–2 labelled anomalies: spike,
          level shift, runaway ramp, spend from zero; half clean: month-start batch job,
          weekend-heavy, growth, noisy, office hours), local-time seasonality, gaps
  daily   ~20 seeded synthetic series of 9–12 months, same kinds, UTC days
  nab     the NAB series in /work/shared/data/nab as hourly spend (hourly means, each series
          scaled so its median hour costs $1-$100) and as daily spend (their sums), reported
          per NAB category, and as the categories defaults may be tuned on against the ones
          held out (`corpus.NAB_TUNED`, `corpus.NAB_HELD_OUT`)
  nab-samples  the tuned-on NAB series with each sample as an hour: months of real noise, for the
          false alarms of a settled detector (the hourly means of the tuned-on series are two weeks)
Detectors: alertd through its own alert lifecycle (`replay_series`) and its per-bucket `scan`
flags; comparators: seasonal median/MAD z-score, rolling robust STL, SundaySky's 30-day rule.
Every flag-producing detector goes through the same event rule (one alert per run of flags,
gaps ≤ cooldown buckets). Per corpus: recall, false alarms per series per 90 days, repeats
inside a window, median time to detect, ms per series; recall per anomaly kind and false
alarms per clean kind. See anomaly_bench/ for the details.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # alertd from this checkout

import numpy as np
from anomaly_bench import alertd_adapter
from anomaly_bench.comparators import COMPARATORS
from anomaly_bench.corpus import (
    ANOMALY_KINDS,
    DAY,
    HOUR,
    NAB_HELD_OUT,
    NAB_TUNED,
    Series,
    load_nab,
    load_nab_samples,
    make_corpus,
    year_series,
)
from anomaly_bench.harness import (
    DEFAULT_COOLDOWN,
    Detector,
    Score,
    flag_detector,
    kind_tables,
    main_table,
    run_detector,
    score,
)

CORPORA = ("hourly", "daily", "nab-hourly", "nab-daily", "nab-samples")
SIZES = {"hourly": (20, 20), "daily": (10, 10)}  # (anomalous, clean) series
QUICK_SIZES = {"hourly": (6, 5), "daily": (4, 5)}
TARGET_RECALL, TARGET_FALSE = 0.95, 0.5  # the synthetic corpus
NAB_RECALL, NAB_FALSE, NAB_REPEATS = 0.5, 2.0, 1.0  # real series: recall, false/series/90d, repeats per window
YEAR_TARGET_S = 5.0


def describe(name: str, corpus: list[Series]) -> str:
    kinds: dict[str, int] = {}
    for s in corpus:
        for w in s.windows:
            kinds[w.kind] = kinds.get(w.kind, 0) + 1
    clean: dict[str, int] = {}
    for s in corpus:
        if not s.windows:
            clean[s.kind] = clean.get(s.kind, 0) + 1
    days = sum(len(s.values) * s.step / DAY for s in corpus)
    scored = sum(s.scored_days for s in corpus)
    missing = sum(v is None for s in corpus for v in s.values)
    buckets = sum(len(s.values) for s in corpus)
    return (
        f"{name}: {len(corpus)} series, {sum(1 for s in corpus if s.windows)} with anomalies, {buckets:,} buckets "
        f"({days:,.0f} series-days, {scored:,.0f} scored after warm-up, {missing} missing)\n"
        f"  windows: {', '.join(f'{k} {v}' for k, v in kinds.items())}\n"
        f"  clean series: {', '.join(f'{k} {v}' for k, v in clean.items()) or 'none'}"
    )


def usual(series: Series, i: int) -> float:
    """The same bucket a week back, median over 4 weeks: context for a printed false alarm."""
    lag = 168 if series.step == HOUR else 7
    past = [series.values[i - lag * k] for k in range(1, 5) if i - lag * k >= 0]
    got = [v for v in past if v is not None]
    return statistics.median(got) / 1e6 if got else float("nan")


def list_misses(sc: Score) -> None:
    print(f"\n{sc.name}: {len(sc.misses)} missed windows, {len(sc.false)} false alarms")
    for s, w in sc.misses:
        print(f"  MISS  {s.name:28} {w.note:44} window {s.when(w.start)} .. {s.when(w.end)}")
    for s, i in sc.false:
        v = s.values[i]
        amount = "missing" if v is None else f"{v / 1e6:,.2f}"
        print(
            f"  FALSE {s.name:28} {s.when(i):22} value {amount:>12}  usual {usual(s, i):>12,.2f}"
            f"  [{s.kind}; {', '.join(s.traits)}]"
        )
    for err in sc.errors[:3]:
        print(f"  ERROR {err}")


def check_targets(scores: list[Score]) -> None:
    mine = next((s for s in scores if s.name == alertd_adapter.LIFECYCLE), None)
    if mine is None:
        return
    ok = mine.recall >= TARGET_RECALL and mine.false_per_90d <= TARGET_FALSE
    print(
        f"target recall ≥ {TARGET_RECALL} with ≤ {TARGET_FALSE} false/series/90d: "
        f"{'MET' if ok else 'NOT MET'} (recall {mine.recall:.2f}, {mine.false_per_90d:.2f} false/series/90d)"
    )
    for other in scores:
        if other.name in (alertd_adapter.LIFECYCLE, alertd_adapter.SCAN, alertd_adapter.TOLD):
            continue
        ahead = mine.recall >= other.recall and mine.false_per_90d <= other.false_per_90d
        print(f"  ahead of {other.name} on recall and false alarms at once: {'yes' if ahead else 'NO'}")


def nab_tables(scores_of: dict[str, list[Score]]) -> None:
    """Per NAB category, then the tuned and the held-out categories as one each, with the targets."""
    for category, scores in scores_of.items():
        print(f"\n{category}:")
        print(main_table(scores))
    for mine, label, group in (
        (mine, label, group)
        for mine in (alertd_adapter.LIFECYCLE, alertd_adapter.TOLD)
        for label, group in (("tuned on", NAB_TUNED), ("held out", NAB_HELD_OUT))
    ):
        chosen = [sc for c in group for sc in scores_of.get(c, []) if sc.name == mine]
        if not chosen:
            continue
        windows, detected = sum(s.windows for s in chosen), sum(s.detected for s in chosen)
        false, days = sum(s.false_alarms for s in chosen), sum(s.scored_days for s in chosen)
        repeats, unscored = sum(s.repeats for s in chosen), sum(s.unscored for s in chosen)
        recall, per_90 = detected / windows if windows else 0.0, false / days * 90 if days else 0.0
        per_window = repeats / detected if detected else 0.0
        met = recall >= NAB_RECALL and per_90 <= NAB_FALSE and per_window <= NAB_REPEATS
        print(
            f"{mine}, {label} ({', '.join(group)}): recall {recall:.2f} ({detected}/{windows}), "
            f"{per_90:.2f} false/series/90d, {per_window:.2f} repeats per window found; target recall ≥ {NAB_RECALL}, "
            f"≤ {NAB_FALSE} false, ≤ {NAB_REPEATS} repeats: {'MET' if met else 'NOT MET'}"
            f" (and {unscored} outside the windows in the unscored first 15 %)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="a smaller synthetic corpus, for iteration (< 30 s)")
    ap.add_argument("--only", choices=CORPORA)
    ap.add_argument("--direction", choices=("up", "down", "both"), help="the rules' direction (default: up)")
    ap.add_argument("--sensitivity", type=float, help="the rules' sensitivity (default: alertd's)")
    ap.add_argument("--min-impact", type=float, help="the rules' min_impact, currency a day (default: alertd's)")
    ap.add_argument("--list-misses", action="store_true", help="print the windows missed and false alarms raised")
    ap.add_argument("--cycle", type=int, metavar="SERIES", help="per-cycle costs on a store of SERIES series")
    ap.add_argument("--misses-of", default=alertd_adapter.LIFECYCLE, help="detector for --list-misses")
    ap.add_argument("--cooldown-hourly", type=int, default=DEFAULT_COOLDOWN[HOUR], help="event-rule gap, buckets")
    ap.add_argument("--cooldown-daily", type=int, default=DEFAULT_COOLDOWN[DAY], help="event-rule gap, buckets")
    args = ap.parse_args()
    if args.cycle:
        from anomaly_bench.cycle import measure

        print("\n".join(measure(series=args.cycle, seed=args.seed)))
        return 0
    began = time.perf_counter()
    cooldown = {HOUR: args.cooldown_hourly, DAY: args.cooldown_daily}

    import statsmodels

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores ({affinity} usable); "
        f"numpy {np.__version__}, statsmodels {statsmodels.__version__}; seed {args.seed}"
        f"{'; QUICK corpus' if args.quick else ''}"
    )
    print(f"event rule: one alert per run of flags with gaps ≤ {cooldown[HOUR]} hourly / {cooldown[DAY]} daily buckets")

    api, note = alertd_adapter.load()
    print(note)
    detectors: list[Detector] = [flag_detector(n, f, cooldown) for n, f in COMPARATORS.items()]
    if api is not None:
        chosen = alertd_adapter.rule(
            api, direction=args.direction, sensitivity=args.sensitivity, min_impact=args.min_impact
        )
        print(
            f"alertd rule: direction {chosen.direction}, sensitivity {chosen.sensitivity or 'default'},"
            f" min_impact {chosen.min_impact if chosen.min_impact is not None else 'default'}"
        )
        detectors = alertd_adapter.detectors(api, cooldown, chosen) + detectors

    sizes = QUICK_SIZES if args.quick else SIZES
    corpora: dict[str, list[Series]] = {}
    for name in CORPORA:
        if args.only and args.only != name:
            continue
        t0 = time.perf_counter()
        if name == "nab-samples":
            corpora[name] = load_nab_samples()
        elif name.startswith("nab"):
            corpora[name] = load_nab(step=HOUR if name == "nab-hourly" else DAY)
        else:
            corpora[name] = make_corpus(args.seed, HOUR if name == "hourly" else DAY, *sizes[name])
        print(f"({name} corpus built in {time.perf_counter() - t0:.1f} s)")

    dropped: set[str] = set()
    for name, corpus in corpora.items():
        print("\n" + "=" * 100)
        print(describe(name, corpus))
        if name.startswith("nab"):
            print("  (NAB: utilisation metrics as spend; first 15% of each series not scored; some windows are drops)")
        if api is not None and not name.startswith("nab"):
            problems = alertd_adapter.causality_problems(api, corpus)
            print("alertd causality check (replaying prefixes): " + ("ok" if not problems else "; ".join(problems)))
        scores = []
        by_category: dict[str, list[Score]] = {}
        for det in detectors:
            if det.name in dropped:
                continue
            outcomes = run_detector(det, corpus)
            if name.startswith("nab"):
                for category in sorted({s.kind for s in corpus}):
                    mine = [o for o in outcomes if o.series.kind == category]
                    by_category.setdefault(category, []).append(score(det.name, mine))
            failed = [o for o in outcomes if o.error]
            if det.name == alertd_adapter.SCAN and len(failed) == len(outcomes):
                print(f"{det.name}: skipped, the shape differs from the contract: {failed[0].error.splitlines()[0]}")
                dropped.add(det.name)
                continue
            scores.append(score(det.name, outcomes))
        print()
        print(main_table(scores))
        print()
        print(kind_tables(scores))
        for sc in scores:
            for err in sc.errors[:2]:
                print(f"ERROR in {sc.name}: {err.rstrip()}")
        if name.startswith("nab"):
            nab_tables(by_category)
        else:
            check_targets(scores)
        if args.list_misses:
            chosen = [s for s in scores if s.name == args.misses_of]
            if chosen:
                list_misses(chosen[0])
            else:
                print(f"\n--list-misses: no detector named {args.misses_of!r} ran (alertd not importable?)")

    if api is not None and not args.only:
        year = year_series(args.seed)
        seconds = alertd_adapter.time_year(api, year)
        verdict = "ok" if seconds < YEAR_TARGET_S else "OVER TARGET"
        print(f"\nalertd replay of one year of hourly data (8,760 buckets): {seconds:.2f} s", end=" ")
        print(f"(target < {YEAR_TARGET_S:.0f} s: {verdict})")
    print(f"\nanomaly kinds: {', '.join(ANOMALY_KINDS)}; total run time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
