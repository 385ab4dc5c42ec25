"""Scoring: the uniform event rule (flags → alerts), running detectors, and the metrics.

Alerts are bucket indices. A window is detected if any alert falls inside it; the first is the
time to detect, any further ones in it are repeats. An alert outside every window is a false
alarm, unless it falls in the series' warm-up (`score_from`): before that, a detector is still
learning and neither credit nor blame applies (they are counted apart, "in warm-up": whoever
starts watching a new series reads them all the same). False alarms are reported per series per
90 days of scored data.
"""

from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .corpus import DAY, HOUR, Series, Window

DEFAULT_COOLDOWN = {HOUR: 6, DAY: 1}


def alerts_from_flags(flags: Sequence[bool], cooldown: int) -> list[int]:
    """An alert at the first flagged bucket; no new one while flags continue with gaps ≤ cooldown."""
    alerts: list[int] = []
    last = None
    for i, flagged in enumerate(flags):
        if not flagged:
            continue
        if last is None or i - last - 1 > cooldown:
            alerts.append(i)
        last = i
    return alerts


@dataclass(frozen=True)
class Detector:
    name: str
    alerts: Callable[[Series], list[int]]


def flag_detector(name: str, flags: Callable[[Series], Sequence[bool]], cooldown: dict[int, int]) -> Detector:
    def run(series: Series) -> list[int]:
        got = flags(series)
        if len(got) != len(series.values):
            raise ValueError(f"{len(got)} flags for {len(series.values)} buckets")
        return alerts_from_flags([bool(f) for f in got], cooldown[series.step])

    return Detector(name, run)


@dataclass
class Outcome:
    series: Series
    alerts: list[int]
    seconds: float
    error: str | None = None


def run_detector(detector: Detector, corpus: Sequence[Series]) -> list[Outcome]:
    out = []
    for series in corpus:
        began = time.perf_counter()
        try:
            alerts, error = sorted(set(detector.alerts(series))), None
        except Exception as exc:  # a detector under construction may fail: report, don't abort the run
            alerts, error = [], f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"
        out.append(Outcome(series, alerts, time.perf_counter() - began, error))
    return out


@dataclass
class Score:
    name: str
    series: int = 0
    windows: int = 0
    detected: int = 0
    false_alarms: int = 0
    unscored: int = 0  # alerts outside every window in the warm-up: not scored, but a new series' user reads them
    repeats: int = 0
    scored_days: float = 0.0
    seconds: float = 0.0
    ttd_hours: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    by_anomaly: dict[str, list[int]] = field(default_factory=dict)  # kind → [detected, windows]
    by_clean: dict[str, list[float]] = field(default_factory=dict)  # kind → [false, days, on day 1]
    misses: list[tuple[Series, Window]] = field(default_factory=list)
    false: list[tuple[Series, int]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.windows if self.windows else float("nan")

    @property
    def false_per_90d(self) -> float:
        return self.false_alarms / self.scored_days * 90 if self.scored_days else float("nan")

    @property
    def ms_per_series(self) -> float:
        return self.seconds / self.series * 1000 if self.series else float("nan")

    @property
    def median_ttd(self) -> float:
        return statistics.median(self.ttd_hours) if self.ttd_hours else float("nan")


def score(name: str, outcomes: Sequence[Outcome]) -> Score:
    sc = Score(name)
    for o in outcomes:
        s = o.series
        sc.series += 1
        sc.seconds += o.seconds
        sc.scored_days += s.scored_days
        if o.error:
            sc.errors.append(f"{s.name}: {o.error}")
        inside: set[int] = set()
        for w in s.windows:
            hits = [a for a in o.alerts if w.start <= a <= w.end]
            inside.update(hits)
            sc.windows += 1
            tally = sc.by_anomaly.setdefault(w.kind, [0, 0])
            tally[1] += 1
            if hits:
                sc.detected += 1
                tally[0] += 1
                sc.repeats += len(hits) - 1
                sc.ttd_hours.append((hits[0] - w.start) * s.step / HOUR)
            else:
                sc.misses.append((s, w))
        false = [a for a in o.alerts if a >= s.score_from and a not in inside]
        sc.false_alarms += len(false)
        sc.unscored += sum(1 for a in o.alerts if a < s.score_from and a not in inside)
        sc.false.extend((s, a) for a in false)
        if not s.windows:
            clean = sc.by_clean.setdefault(s.kind, [0, 0.0, 0])
            clean[0] += len(false)
            clean[1] += s.scored_days
            clean[2] += sum(s.local(a).day == 1 for a in false)
    return sc


# --- tables --------------------------------------------------------------------------------------


def _fmt(v: float, spec: str) -> str:
    return "—" if v != v else format(v, spec)  # NaN → dash


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def main_table(scores: Sequence[Score]) -> str:
    header = [
        "detector",
        "recall",
        "windows",
        "false/series/90d",
        "false",
        "in warm-up",
        "repeats",
        "median TTD h",
        "ms/series",
    ]
    rows = [
        [
            s.name + (f"  ({len(s.errors)} errors)" if s.errors else ""),
            _fmt(s.recall, ".2f"),
            f"{s.detected}/{s.windows}",
            _fmt(s.false_per_90d, ".2f"),
            str(s.false_alarms),
            str(s.unscored),
            str(s.repeats),
            _fmt(s.median_ttd, ".1f"),
            _fmt(s.ms_per_series, ".1f"),
        ]
        for s in scores
    ]
    return table(rows, header)


def kind_tables(scores: Sequence[Score]) -> str:
    kinds = sorted({k for s in scores for k in s.by_anomaly}, key=_kind_order)
    rows = []
    for s in scores:
        cells = [s.name]
        for k in kinds:
            d, w = s.by_anomaly.get(k, [0, 0])
            cells.append(f"{d / w:.2f} ({d}/{w})" if w else "—")
        rows.append(cells)
    out = ["recall by anomaly kind:", table(rows, ["detector", *kinds])] if kinds else []
    clean = sorted({k for s in scores for k in s.by_clean}, key=_kind_order)
    if clean:
        rows = []
        for s in scores:
            cells = [s.name]
            for k in clean:
                f, days, day1 = s.by_clean.get(k, [0, 0.0, 0])
                rate = f / days * 90 if days else float("nan")
                extra = f", {int(day1)} on day 1" if k == "month-start" else ""
                cells.append(f"{_fmt(rate, '.2f')} ({int(f)}{extra})")
            rows.append(cells)
        title = "false alarms per series per 90 days on clean series, by kind (count):"
        out += ["", title, table(rows, ["detector", *clean])]
    return "\n".join(out)


_ORDER = ("spike", "shift", "ramp", "from-zero", "month-start", "weekend-heavy", "growth", "noisy", "office")


def _kind_order(kind: str) -> tuple[int, str]:
    return (_ORDER.index(kind) if kind in _ORDER else len(_ORDER), kind)
