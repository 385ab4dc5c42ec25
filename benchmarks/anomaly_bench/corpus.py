"""The labelled corpus: seeded synthetic cloud spend (hourly and daily), and NAB resampled to hourly.

Synthetic series look like one line item of a cloud bill, $0.5–$50 an hour: a seasonal profile
in the series' local time (office hours, flat, diurnal, weekend-heavy batch), compound growth,
a slowly wandering level, multiplicative lognormal noise, optional month-start batch jobs and
optional gaps (None) and zeros. Anomalous series carry one or two labelled anomalies (spike,
level shift, runaway ramp, or spend appearing from zero); clean series carry none and are named
after the trait that makes them hard (month-start, weekend-heavy, growth, noisy, office).

Every value is in integer micro-units (what alertd stores); `Series.amounts()` gives floats in
currency units for the numpy comparators, so every detector sees exactly the same data.
"""

from __future__ import annotations

import csv
import json
import math
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

HOUR = 3600
DAY = 86400
MICROS = 1_000_000
ANOMALY_KINDS = ("spike", "shift", "ramp", "from-zero")
CLEAN_KINDS = ("month-start", "weekend-heavy", "growth", "noisy", "office")
NAB_DIR = Path("/work/shared/data/nab")
NAB_PROBATION = 0.15  # NAB's own rule: the first 15% of a series is learning time, not scored
WARMUP_DAYS = 35  # anomalies come after five weeks of history; alerts before that are not scored
MONTH_START_WARMUP_DAYS = 90  # month-start series: the job has run 2–3 times before scoring starts
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")
PROFILES = ("office", "flat", "diurnal", "weekend-batch")


@dataclass(frozen=True)
class Window:
    """A labelled anomaly: buckets start..end inclusive (its duration plus a short grace)."""

    kind: str
    start: int
    end: int
    note: str


@dataclass
class Series:
    name: str
    kind: str  # "anomalous", a clean kind, or the NAB category (its directory, e.g. "realTweets")
    step: int
    start: int  # unix seconds of values[0]
    tz: ZoneInfo
    values: list[int | None]  # micro-units, None = missing bucket
    windows: list[Window] = field(default_factory=list)
    score_from: int = 0  # alerts before this bucket are warm-up: neither false nor true
    traits: tuple[str, ...] = ()

    def amounts(self) -> np.ndarray:
        return np.array([np.nan if v is None else v / MICROS for v in self.values], dtype=float)

    def local(self, i: int) -> datetime:
        return datetime.fromtimestamp(self.start + i * self.step, self.tz)

    def when(self, i: int) -> str:
        fmt = "%Y-%m-%d %H:%M %Z" if self.step < DAY else "%Y-%m-%d"
        return self.local(i).strftime(fmt)

    @property
    def scored_days(self) -> float:
        return (len(self.values) - self.score_from) * self.step / DAY


# --- shapes ------------------------------------------------------------------------------------


def _profile(name: str, weekday: int, hour: int, hourly: bool) -> float:
    """Relative spend at a local time; normalised to a mean of 1 by the caller."""
    weekend = weekday >= 5
    if name == "office":  # autoscaled app: a smooth bump in working hours, quiet nights and weekends
        if weekend:
            return 0.5
        bump = max(0.0, math.sin(math.pi * (hour - 7) / 12)) if hourly else 1.0
        return 0.6 + 2.4 * bump if hourly else 2.0
    if name == "diurnal":  # consumer traffic: every day alike, a little busier at weekends
        day = 1 + 0.5 * math.sin(2 * math.pi * (hour - 9) / 24) if hourly else 1.0
        return day * (1.15 if weekend else 1.0)
    if name == "weekend-batch":  # light service all week, heavy batch jobs on weekend mornings
        if weekend and (not hourly or 1 <= hour < 13):
            return 4.0 if hourly else 2.5
        return 1.0
    return 1.0  # flat: reserved capacity, storage


@dataclass
class _Spec:
    profile: str
    level: float  # mean currency per bucket before growth
    growth: float  # per 30 days, compounded
    noise: float  # lognormal sigma
    month_job: float  # size of the day-1 job in multiples of the level (0: none)
    gaps: bool


def _local_parts(start: int, step: int, n: int, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts = [datetime.fromtimestamp(start + i * step, tz) for i in range(n)]
    return (
        np.array([p.weekday() for p in parts]),
        np.array([p.hour for p in parts]),
        np.array([p.day for p in parts]),
    )


def _choose_spec(rng: np.random.Generator, kind: str, hourly: bool) -> _Spec:
    per_hour = math.exp(rng.uniform(math.log(0.5), math.log(50)))  # log-uniform $0.5–$50 an hour
    if kind == "weekend-heavy":
        profile = "weekend-batch"
    elif kind == "office":
        profile = "office"
    elif kind == "anomalous":
        profile = str(rng.choice(PROFILES))
    else:
        profile = str(rng.choice(PROFILES[:3]))
    growth = rng.uniform(0.10, 0.30) if kind == "growth" else (rng.uniform(0.0, 0.05) if rng.random() < 0.5 else 0.0)
    noise = rng.uniform(0.20, 0.30) if kind == "noisy" else rng.uniform(0.05, 0.15)
    job_prob = 1.0 if kind == "month-start" else (0.25 if kind == "anomalous" else 0.0)
    month_job = (rng.uniform(4, 12) if hourly else rng.uniform(2, 6)) if rng.random() < job_prob else 0.0
    return _Spec(profile, per_hour * (1 if hourly else 24), growth, noise, month_job, bool(rng.random() < 0.5))


# --- the generator -----------------------------------------------------------------------------


def _grace(step: int, kind: str) -> int:
    """Buckets after an anomaly (or after a lasting change began) that still count as on time."""
    hourly = step == HOUR
    if kind in ("shift", "from-zero"):
        return 24 if hourly else 3  # a lasting change: from the change to +24 h / +3 days
    return 12 if hourly else 2


def generate_series(seed: int, step: int, idx: int, kind: str, anomalies: tuple[str, ...] = ()) -> Series:
    """One synthetic series; `kind` is "anomalous" (with `anomalies`) or a clean kind."""
    hourly = step == HOUR
    rng = np.random.default_rng([seed, step, idx])
    per_day = DAY // step
    days = int(rng.integers(120, 183)) if hourly else int(rng.integers(270, 366))
    n = days * per_day
    tz = ZoneInfo(str(rng.choice(ZONES))) if hourly else ZoneInfo("UTC")  # daily buckets are UTC days
    first_day = datetime(2025, 1, 1, tzinfo=UTC) if hourly else datetime(2024, 1, 1, tzinfo=UTC)
    start = int(first_day.timestamp()) + int(rng.integers(0, 150)) * DAY
    spec = _choose_spec(rng, kind, hourly)
    if "from-zero" in anomalies:  # a GPU line item: flat, steady billing, nothing else going on
        spec.profile, spec.month_job, spec.noise, spec.growth = "flat", 0.0, rng.uniform(0.02, 0.08), 0.0
    weekday, hour, mday = _local_parts(start, step, n, tz)

    shape = np.array([_profile(spec.profile, int(w), int(h), hourly) for w, h in zip(weekday, hour, strict=True)])
    shape /= shape.mean()
    t_days = np.arange(n) / per_day
    mean_level = spec.level * (1 + spec.growth) ** (t_days / 30)
    # A slowly wandering level (AR(1) on log scale, ~5% sd) so "normal" is never perfectly periodic.
    phi = 0.99 if hourly else 0.8
    eps = rng.normal(0, 0.05 * math.sqrt(1 - phi * phi), n)
    wander = np.zeros(n)
    for i in range(1, n):
        wander[i] = phi * wander[i - 1] + eps[i]
    base = mean_level * shape * np.exp(wander)
    extra = np.zeros(n)

    score_from = (MONTH_START_WARMUP_DAYS if spec.month_job else WARMUP_DAYS) * per_day
    job_days = mday == 1
    if spec.month_job:
        # One big recurring job on local day 1, about the same size every month.
        first = np.flatnonzero(job_days & (np.r_[True, ~job_days[:-1]]))
        job_start, job_len = int(rng.integers(0, 4)), int(rng.integers(3, 9))
        for f in first:
            size = spec.month_job * rng.uniform(0.8, 1.2)
            lo, hi = (f + job_start, f + job_start + job_len) if hourly else (f, f + 1)
            extra[lo:hi] += size * mean_level[lo:hi]

    # Place every anomaly first (after the warm-up, clear of each other and of month-start jobs),
    # then apply level shifts before the rest, so a spike or ramp is sized on the shifted level.
    plans: list[tuple[str, int, int, dict[str, float]]] = []
    sep = (7 if hourly else 21) * per_day
    unit = "h" if hourly else "d"
    for a_kind in anomalies:
        p: dict[str, float] = {}
        if a_kind == "spike":
            p = {"dur": int(rng.integers(1, 7)) if hourly else int(rng.integers(1, 3)), "factor": rng.uniform(3, 10)}
            length = int(p["dur"]) + _grace(step, a_kind)
        elif a_kind == "ramp":
            rate, cap = rng.uniform(0.05, 0.20), rng.uniform(5, 15) if hourly else rng.uniform(3, 6)
            p = {"rate": rate, "cap": cap, "climb": math.ceil(math.log(cap) / math.log(1 + rate))}
            p["hold"] = int(rng.integers(6, 49)) if hourly else int(rng.integers(2, 8))
            length = int(p["climb"] + p["hold"]) + _grace(step, a_kind)
        elif a_kind == "shift":
            p = {"lift": rng.uniform(0.4, 2.0)}
            length = _grace(step, a_kind) + 1
        else:
            p = {"gpu": rng.uniform(2, 20) * (1 if hourly else 24)}
            length = _grace(step, a_kind) + 1
        lo_idx, hi_idx = max(score_from, WARMUP_DAYS * per_day), n - length - 2 * per_day
        for _ in range(500):
            s = int(rng.integers(lo_idx, hi_idx))
            e = s + length - 1
            if any(s < b + sep and a < e + sep for _, a, b, _ in plans):
                continue
            # The onset must be clear of a month-start job (a long daily ramp may run through one).
            if spec.month_job and job_days[max(0, s - per_day) : s + min(length, 3 * per_day) + 1].any():
                continue
            break
        else:
            raise RuntimeError(f"no room for a {a_kind} in series {idx}")
        plans.append((a_kind, s, e, p))

    lift = np.ones(n)
    for a_kind, s, _, p in plans:
        if a_kind == "shift":
            lift[s:] *= 1 + p["lift"]
    base *= lift
    level = mean_level * lift
    windows: list[Window] = []
    for a_kind, s, e, p in plans:
        if a_kind == "spike":
            # At least factor × the series' average bucket: a spike is real money even at night.
            d, factor = int(p["dur"]), p["factor"]
            extra[s : s + d] += factor * np.maximum(base[s : s + d], level[s : s + d]) - base[s : s + d]
            note = f"spike {d}{unit} ×{factor:.1f}"
        elif a_kind == "shift":
            note = f"shift +{p['lift']:.0%}"
        elif a_kind == "ramp":
            # Runaway spend added on top (an autoscaler stuck adding nodes), until someone fixes it.
            climb, hold = int(p["climb"]), int(p["hold"])
            k = np.arange(climb + hold)
            extra[s : s + climb + hold] += level[s] * np.minimum(p["cap"] - 1, (1 + p["rate"]) ** (k + 1) - 1)
            note = f"ramp +{p['rate']:.0%}/{unit} to ×{p['cap']:.1f} in {climb}{unit}, held {hold}{unit}"
        else:
            base[:s] = 0.0
            extra[:s] = 0.0
            base[s:] = p["gpu"] * np.exp(wander[s:] * 0.2)
            note = f"from zero to ${p['gpu']:.2f}/{'h' if hourly else 'day'}"
        windows.append(Window(a_kind, s, e, note))
    windows.sort(key=lambda w: w.start)

    noise = np.exp(rng.normal(-(spec.noise**2) / 2, spec.noise, n))
    amounts = (base + extra) * noise
    values: list[int | None] = [round(float(v) * MICROS) for v in amounts]
    traits = [spec.profile, f"growth {spec.growth:.0%}/mo", f"noise {spec.noise:.0%}"]
    if spec.month_job:
        traits.append(f"month-start job ×{spec.month_job:.1f}")
    if spec.gaps:
        # Missing buckets (None) and billing zeros, never inside a labelled window.
        protected = np.zeros(n, dtype=bool)
        for w in windows:
            protected[max(0, w.start - 1) : w.end + 1] = True
        holes = rng.random(n) < 0.003
        for _ in range(int(rng.integers(1, 3))):
            at, length = int(rng.integers(0, n)), int(rng.integers(3, 13)) if hourly else int(rng.integers(1, 3))
            holes[at : at + length] = True
        zeros = rng.random(n) < 0.002
        for i in np.flatnonzero((holes | zeros) & ~protected):
            values[i] = None if holes[i] else 0
        traits.append("gaps")
    name = f"{'h' if hourly else 'd'}{idx:02d}-" + ("+".join(anomalies) if anomalies else kind)
    return Series(name, kind, step, start, tz, values, windows, score_from, tuple(traits))


def make_corpus(seed: int, step: int, n_anomalous: int, n_clean: int) -> list[Series]:
    """About half anomalous (one or two anomalies; kinds rotate), half clean (kinds rotate)."""
    out = []
    for j in range(n_anomalous):
        first = ANOMALY_KINDS[j % len(ANOMALY_KINDS)]
        kinds: tuple[str, ...] = (first,)
        if first != "from-zero" and (j // len(ANOMALY_KINDS)) % 2 == 1:
            rng = np.random.default_rng([seed, step, j, 99])
            second = str(rng.choice(ANOMALY_KINDS[:3]))
            kinds = (first, second) if rng.random() < 0.5 else (second, first)
        out.append(generate_series(seed, step, j, "anomalous", kinds))
    for j in range(n_clean):
        out.append(generate_series(seed, step, n_anomalous + j, CLEAN_KINDS[j % len(CLEAN_KINDS)]))
    return out


def year_series(seed: int) -> Series:
    """A realistic clean year of hourly spend (office hours in Berlin, growth, month-start job)."""
    rng = np.random.default_rng([seed, 8760])
    n, tz = 8760, ZoneInfo("Europe/Berlin")
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    weekday, hour, mday = _local_parts(start, HOUR, n, tz)
    shape = np.array([_profile("office", int(w), int(h), True) for w, h in zip(weekday, hour, strict=True)])
    level = 5.0 * 1.1 ** (np.arange(n) / 24 / 30) * shape / shape.mean()
    job = (mday == 1) & (hour >= 2) & (hour < 8)
    amounts = (level + job * 40.0) * np.exp(rng.normal(-0.005, 0.1, n))
    return Series("year", "office", HOUR, start, tz, [round(float(v) * MICROS) for v in amounts])


# --- NAB -----------------------------------------------------------------------------------------


def _utc_seconds(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NAB_TUNED = ("artificialNoAnomaly", "artificialWithAnomaly", "realAWSCloudwatch")  # what defaults may be tuned on
NAB_HELD_OUT = ("realKnownCause", "realTraffic", "realTweets")  # reported only, never tuned on


def load_nab(root: Path = NAB_DIR, step: int = HOUR) -> list[Series]:
    """Every NAB CSV as a spend series of `step` (an hour or a day) in its category (the NAB
    directory): the mean of the samples in each UTC hour, summed per day for a daily series
    (None where an hour, or a whole day, has none). Each series is scaled to a plausible bill:
    its median hour costs between $1 and $100 (log-uniform, seeded by its name).

    Windows cover the buckets they touch. Alerts in the first 15% of a series are not scored
    (NAB's probationary period); the series are 2–3 weeks long, so detectors needing weeks of
    history will be silent for much of them (a daily series has 14–21 buckets: mostly warm-up).
    """
    out = []
    for rel, rows, windows in _nab_files(root):
        sums: dict[int, list[float]] = {}
        for at, value in rows:
            acc = sums.setdefault(int(at // HOUR), [0.0, 0.0])
            acc[0] += value
            acc[1] += 1
        hourly = {h: total / n for h, (total, n) in sums.items()}
        factor = _to_dollars(rel, hourly.values())
        per = step // HOUR
        buckets: dict[int, float] = {}
        for h, v in hourly.items():
            buckets[h // per] = buckets.get(h // per, 0.0) + v * factor
        first, last = min(buckets), max(buckets)
        values = [round(buckets[b] * MICROS) if b in buckets else None for b in range(first, last + 1)]
        spans = [
            (max(0, int(ws // step) - first), min(last - first, int(we // step) - first), ws, we) for ws, we in windows
        ]
        out.append(_nab_series(rel, step, first * step, values, spans))
    return out


def load_nab_samples(root: Path = NAB_DIR, categories: tuple[str, ...] = NAB_TUNED) -> list[Series]:
    """The NAB series of `categories` with each sample (5 minutes apart, mostly) as one hour of
    spend, scaled as in `load_nab`, from 2025-01-01 UTC on: real noise over months. As hourly
    means the tuned-on categories are two weeks each, too short to show what a detector does
    once it has settled; as samples they are 1,200–4,700 hours. Their daily cycle becomes a
    12-day one, which no calendar explains: a job at the same minute of every day is, here, a job
    with a schedule of its own. Windows cover the samples inside them."""
    start = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    out = []
    for rel, rows, windows in _nab_files(root, categories):
        factor = _to_dollars(rel, (v for _, v in rows))
        values: list[int | None] = [round(max(v, 0.0) * factor * MICROS) for _, v in rows]
        times = [at for at, _ in rows]
        spans = [(bisect_left(times, ws), bisect_right(times, we) - 1, ws, we) for ws, we in windows]
        out.append(_nab_series(rel, HOUR, start, values, [w for w in spans if w[0] <= w[1]]))
    return out


def _nab_files(
    root: Path, categories: tuple[str, ...] | None = None
) -> Iterator[tuple[str, list[tuple[float, float]], list[tuple[float, float]]]]:
    """Each labelled NAB CSV (of `categories`, None for all): its relative path, its (unix time,
    value) samples in time order and its windows as (first, last) unix times."""
    labels: dict[str, list[list[str]]] = json.loads((root / "combined_windows.json").read_text())
    for rel in sorted(labels):
        if categories is not None and rel.split("/", 1)[0] not in categories:
            continue
        with (root / rel).open(newline="") as fh:
            rows = sorted((_utc_seconds(row["timestamp"]), float(row["value"])) for row in csv.DictReader(fh))
        yield rel, rows, [(_utc_seconds(ws), _utc_seconds(we)) for ws, we in labels[rel]]


def _to_dollars(rel: str, amounts: Iterable[float]) -> float:
    """The factor that makes a series' median positive amount cost $1..$100 (log-uniform, seeded by its name)."""
    positive = sorted(v for v in amounts if v > 0)
    median = positive[len(positive) // 2] if positive else 1.0
    return 10 ** (np.random.default_rng(zlib.crc32(rel.encode())).uniform(0, 2)) / median


def _nab_series(
    rel: str, step: int, start: int, values: list[int | None], spans: list[tuple[int, int, float, float]]
) -> Series:
    """A NAB series from its values and its windows (first and last bucket, first and last unix time)."""
    category = rel.split("/", 1)[0]
    labelled = [Window(category, a, b, f"NAB window {_iso(ws)} .. {_iso(we)}") for a, b, ws, we in spans]
    probation = math.ceil(NAB_PROBATION * len(values))
    return Series(rel.removesuffix(".csv"), category, step, start, ZoneInfo("UTC"), values, labelled, probation)


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()[:16]
