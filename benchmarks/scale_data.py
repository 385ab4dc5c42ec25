"""The organisation-sized dataset of `scale.py`: seeded hourly spend per series, one CSV file
per source, and the rules files (the full one, the replay ones) written against it.

Every series is generated from its own seeded RNG, keyed by (seed, source, line item), so the
half-series dataset of the growth figures holds the first half of the full one's series and the
half-history one the same series with the same shapes, levels and incidents (not the same noise).
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Berlin")
HOUR = 3600
SOURCES = ("platform", "inference", "aws", "gcp")
# Line-item families per source, named as the providers name them. Family counts are 5, 6 or 7
# so that (family, team) pairs stay distinct over 40 series per source (lcm with 16 ≥ 48).
FAMILIES = {
    "platform": ("paas.cpu", "paas.memory", "paas.storage", "paas.gpu", "byoc.vcpu", "byoc.memory", "byoc.cluster"),
    "inference": ("gpu.h100", "gpu.a100", "gpu.l40s", "tokens.input", "tokens.output"),
    "aws": (
        "ec2.compute",
        "s3.storage",
        "rds.postgres",
        "ebs.volumes",
        "cloudfront.egress",
        "nat.gateway",
        "lambda.requests",
    ),
    "gcp": ("gce.compute", "gcs.storage", "bigquery.analysis", "gke.cluster", "gpu.a100", "egress.premium"),
}
TEAMS = (
    "api", "web", "search", "ml-train", "ml-serve", "etl", "billing", "auth",
    "mobile", "data", "infra", "ads", "growth", "support", "risk", "media",
)  # fmt: skip
LOCAL_TIME_SOURCE = "aws"  # this source's export writes Berlin offsets (+01:00/+02:00), the others +00:00


@dataclass
class Series:
    source: str
    item: str
    kind: str  # idle, sub-dollar, normal, gpu
    values: array = field(repr=False)  # micro-units per hour, oldest first
    incidents: list[tuple[int, int, float]] = field(default_factory=list)  # (first hour, hours, factor)


@dataclass
class Dataset:
    start: int  # unix time of the first hour
    hours: int
    series: list[Series]
    paths: dict[str, Path]  # source → CSV file
    sizes: dict[str, int]  # source → bytes as generated (the new hour is appended after them)

    @property
    def end(self) -> int:
        return self.start + self.hours * HOUR

    @property
    def rows(self) -> int:
        return self.hours * len(self.series)


def _catalogue(series: int, sources: int) -> list[tuple[str, str, int]]:
    """(source, line item, global index) for every series, spread evenly over the sources. Within
    a source the j-th series is family j mod F, team j + shift mod 16, the shift spreading teams
    over sources: every team then holds series/16 series (exactly at 160 and 80 over 4 sources)."""
    names = [SOURCES[i] if i < len(SOURCES) else f"feed{i}" for i in range(sources)]
    out = []
    for i in range(series):
        s, j = i % sources, i // sources
        families = FAMILIES.get(names[s], FAMILIES["aws"])
        team = TEAMS[(j + s * (len(TEAMS) // sources)) % len(TEAMS)]
        out.append((names[s], f"{families[j % len(families)]}.{team}", i))
    seen: dict[tuple[str, str], int] = {}
    for n, (source, item, i) in enumerate(out):  # sizes other than the defaults may collide
        count = seen[source, item] = seen.get((source, item), 0) + 1
        if count > 1:
            out[n] = (source, f"{item}-{count}", i)
    return out


def _one_series(
    seed: int, source: str, item: str, index: int, clock: list[tuple[int, bool]], total_hours: int
) -> Series:
    """Daily (office hours) and weekly shape, growth, noise, a few incidents; idle and sub-dollar
    series among them. `clock` is (Berlin hour of day, weekend?) per hour; incidents are placed
    over `total_hours` ending at the same hour, so that a shorter history is the tail of the
    longer one."""
    hours = len(clock)
    rng = random.Random(f"{seed}/{source}/{item}")
    roll = rng.random()
    if index % 23 == 5:
        kind, level = "idle", 0.0
    elif roll < 0.18:
        kind, level = "sub-dollar", rng.uniform(0.01, 0.6)
    elif "gpu" in item or roll > 0.9:
        kind, level = "gpu", rng.uniform(15, 250)
    else:
        kind, level = "normal", rng.uniform(0.5, 30)
    office = rng.uniform(0, 0.8)  # daytime swing
    weekend = rng.uniform(0.35, 1.0)
    growth = rng.uniform(-0.3, 1.2)  # relative change over the whole (full) history
    noise = rng.uniform(0.03, 0.25)
    places = rng.choice((2, 3, 4, 6))
    incidents = []
    if kind != "idle" and rng.random() < 0.12:
        for _ in range(rng.randint(1, 2)):
            incidents.append((rng.randrange(max(total_hours - 48, 1)), rng.randint(3, 48), rng.uniform(3, 10)))
    if kind != "idle" and index % 37 == 3:  # still going on at the end: something for the cold check
        incidents.append((total_hours - rng.randint(4, 20), 48, rng.uniform(4, 8)))
    offset = total_hours - hours
    values = array("q", bytes(8 * hours))
    scale = 10 ** (6 - places)
    for h, (hour_of_day, is_weekend) in enumerate(clock):
        g = offset + h
        shape = 1 + office * math.sin(math.pi * (hour_of_day - 7) / 12) if 7 <= hour_of_day < 19 else 1 - office / 2
        if is_weekend:
            shape *= weekend
        amount = level * shape * (1 + growth * g / total_hours) * math.exp(rng.gauss(0, noise))
        for first, length, factor in incidents:
            if first <= g < first + length:
                amount *= factor
        values[h] = int(amount * 1_000_000) // scale * scale
    return Series(source, item, kind, values, [(i - offset, n, f) for i, n, f in incidents])


def generate(workdir: Path, *, series: int, sources: int, hours: int, total_hours: int, end: int, seed: int) -> Dataset:
    """The series (the first `series` of the catalogue) and one CSV file per source, hour by
    hour, its rows consecutive, ending at the hour before `end`."""
    start = end - hours * HOUR
    clock = []
    for h in range(hours):
        local = datetime.fromtimestamp(start + h * HOUR, TZ)
        clock.append((local.hour, local.weekday() >= 5))
    made = [_one_series(seed, source, item, i, clock, total_hours) for source, item, i in _catalogue(series, sources)]
    workdir.mkdir(parents=True, exist_ok=True)
    paths, sizes = {}, {}
    for source in dict.fromkeys(s.source for s in made):
        path = workdir / f"{source}.csv"
        mine = [s for s in made if s.source == source]
        with open(path, "w", newline="", encoding="utf-8") as handle:
            handle.write("timestamp,line_item,amount\n")
            for h in range(hours):
                handle.writelines(_hour_rows(source, start + h * HOUR, [(s.item, s.values[h]) for s in mine]))
        paths[source], sizes[source] = path, path.stat().st_size
    return Dataset(start, hours, made, paths, sizes)


def _hour_rows(source: str, at: int, amounts: list[tuple[str, int]]) -> list[str]:
    moment = datetime.fromtimestamp(at, TZ if source == LOCAL_TIME_SOURCE else UTC)
    stamp = moment.isoformat()
    return [f"{stamp},{item},{amount_text(micros)}\n" for item, micros in amounts]


def amount_text(micros: int) -> str:
    """Micro-units as a plain decimal string with at most 6 places, trailing zeros dropped."""
    whole, frac = divmod(micros, 1_000_000)
    return f"{whole}.{frac:06d}".rstrip("0").removesuffix(".")


def append_hour(data: Dataset, seed: int) -> int:
    """Append the hour after the last one in the files (each series at its last hour's level,
    re-noised) → rows appended."""
    rng = random.Random(f"{seed}/next-hour")
    rows = 0
    for source, path in data.paths.items():
        amounts = [(s.item, int(s.values[-1] * rng.uniform(0.9, 1.1))) for s in data.series if s.source == source]
        with open(path, "a", newline="", encoding="utf-8") as handle:
            handle.writelines(_hour_rows(source, data.end, amounts))
        rows += len(amounts)
    return rows


def restore(data: Dataset) -> None:
    """The CSV files as generated (without appended hours)."""
    for source, path in data.paths.items():
        with open(path, "r+b") as handle:
            handle.truncate(data.sizes[source])


# --- rules --------------------------------------------------------------------------------------

# 3 day, 4 week, 7 month, 3 quarter, 3 year in every 20 budgets (30/40/70/30/30 of 200), interleaved
PERIODS = (
    *("month", "week", "day", "month", "quarter", "year", "month", "week", "month", "day"),
    *("week", "month", "quarter", "year", "month", "week", "day", "month", "quarter", "year"),
)
GLOBS = ("gpu.*", "*gpu*", "paas.*", "byoc.*", "tokens.*", "*storage*", "*.ml-train", "*.ml-serve", "ec2.*", "*.api")


def period_start(period: str, now: datetime) -> int:
    """The current calendar period's start in Berlin, as alertd counts it (weeks from Monday)."""
    day = now.astimezone(TZ).date()
    first = {
        "day": day,
        "week": day - timedelta(days=day.weekday()),
        "month": day.replace(day=1),
        "quarter": date(day.year, 3 * ((day.month - 1) // 3) + 1, 1),
        "year": date(day.year, 1, 1),
    }[period]
    return int(datetime(first.year, first.month, first.day, tzinfo=TZ).timestamp())


def _matches(pattern_sources: list[str] | None, globs: list[str] | None, s: Series) -> bool:
    from fnmatch import fnmatchcase

    if pattern_sources is not None and s.source not in pattern_sources:
        return False
    return globs is None or any(fnmatchcase(s.item, g) for g in globs)


def _spent(data: Dataset, chosen: list[Series], since: int) -> int:
    first = max(0, (since - data.start) // HOUR)
    return sum(sum(s.values[first:]) for s in chosen)


def _yaml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _filters(sources: list[str] | None, globs: list[str] | None) -> str:
    text = f"    sources: {_yaml_list(sources)}\n" if sources is not None else ""
    return text + (f"    line_items: {_yaml_list(globs)}\n" if globs is not None else "")


def budgets_yaml(data: Dataset, count: int, now: datetime, rng: random.Random) -> tuple[str, dict[str, int]]:
    """`count` budgets over a mix of periods and filters, amounts set from the data so that a
    share of them stand past 50, 80 and 100 % → (YAML, how many were aimed at each band)."""
    names = sorted({s.source for s in data.series})
    period_sums: dict[str, dict[int, int]] = {}  # period → series index → spent so far
    for period in set(PERIODS):
        since = period_start(period, now)
        period_sums[period] = {i: _spent(data, [s], since) for i, s in enumerate(data.series)}
    out, bands = [], {"<50": 0, "50-80": 0, "80-100": 0, ">100": 0}
    for n in range(count):
        period = PERIODS[n % len(PERIODS)]
        shape = n % 5
        sources = None if shape in (0, 3) else rng.sample(names, rng.randint(1, min(2, len(names))))
        globs = None if shape in (0, 1) else rng.sample(GLOBS, rng.randint(1, 2))
        chosen = [i for i, s in enumerate(data.series) if _matches(sources, globs, s)]
        spent = sum(period_sums[period][i] for i in chosen)
        roll = rng.random()
        share, band = (
            (rng.uniform(0.1, 0.5), "<50") if roll < 0.45 else
            (rng.uniform(0.5, 0.8), "50-80") if roll < 0.65 else
            (rng.uniform(0.8, 1.0), "80-100") if roll < 0.8 else
            (rng.uniform(1.0, 2.0), ">100")
        )  # fmt: skip
        bands[band] += 1
        amount = max(1.0, spent / 1_000_000 / share) if spent else rng.uniform(10, 1000)
        text = f"  - name: b{n:03d}-{period}\n    amount: {amount:.2f}\n    period: {period}\n"
        text += _filters(sources, globs)
        if n % 7 == 1:
            text += "    thresholds: [80, 100, 120]\n"
        if n % 3 == 0:
            text += "    forecast: [100]\n"
        if n % 5 == 2:
            text += "    summary: true\n"
        if n % 11 == 4:
            text += "    repeat: 1d\n"
        out.append(text)
    return "".join(out), bands


def anomalies_yaml(data: Dataset, count: int, rng: random.Random) -> tuple[str, int]:
    """`count` anomaly rules: a few `by: line_item` over a whole source, several over line-item
    globs, many `by: source` / `by: total` → (YAML, series-scans: the groups all rules make)."""
    names = sorted({s.source for s in data.series})
    out, scans = [], 0
    for n in range(count):
        if n < 3:
            by, sources, globs = "line_item", [names[n % len(names)]], None
        elif n < 15:
            by, sources, globs = "line_item", None if n % 2 else [rng.choice(names)], [rng.choice(GLOBS)]
        elif n < 35:
            by, sources, globs = (
                "source",
                rng.sample(names, rng.randint(1, len(names))),
                [rng.choice(GLOBS)] if n % 3 == 0 else None,
            )
        else:
            by, sources, globs = (
                "total",
                rng.sample(names, rng.randint(1, len(names))) if n % 2 else None,
                [rng.choice(GLOBS)] if n % 4 == 0 else None,
            )
        chosen = [s for s in data.series if _matches(sources, globs, s)]
        groups = {(s.source if by != "total" else None, s.item if by == "line_item" else None) for s in chosen}
        scans += len(groups)
        text = f"  - name: a{n:02d}-{by}\n    by: {by}\n" + _filters(sources, globs)
        if n % 4 == 1:
            text += f"    sensitivity: {rng.choice((5, 6))}\n"
        if n % 5 == 3:
            text += f"    min_impact: {rng.choice((1, 5, 20))}\n"
        if n % 9 == 7:
            text += "    direction: both\n"
        out.append(text)
    return "".join(out), scans


def rules_header(data: Dataset, db: Path, port: int, every: str) -> str:
    text = f"timezone: Europe/Berlin\ncurrency: USD\ndatabase: {db}\nsources:\n"
    for source, path in data.paths.items():
        text += f"  - name: {source}\n    provider: csv\n    path: {path}\n    every: {every}\n"
    text += f"channels:\n  team: json://127.0.0.1:{port}/\ndefaults:\n  notify: [team]\n"
    return text


def replay_selection(data: Dataset, count: int) -> tuple[list[str] | None, list[str], int]:
    """Filters selecting `count` series (1: one exact line item; else whole teams, `*.TEAM`)
    → (sources, line_items, series selected)."""
    if count == 1:
        busy = max((s for s in data.series if s.kind == "normal"), key=lambda s: len(s.incidents))
        return [busy.source], [busy.item], 1
    teams: list[str] = []
    while sum(1 for s in data.series if _matches(None, [f"*.{t}" for t in teams], s)) < count and len(teams) < len(
        TEAMS
    ):
        teams.append(TEAMS[len(teams)])
    globs = [f"*.{t}" for t in teams]
    return None, globs, sum(1 for s in data.series if _matches(None, globs, s))


def replay_yaml(sources: list[str] | None, globs: list[str]) -> str:
    """10 budgets (every period) and 5 anomaly rules over one selection."""
    f = _filters(sources, globs)
    text = "budgets:\n"
    for n, period in enumerate(("day", "day", "week", "week", "month", "month", "month", "quarter", "year", "year")):
        text += f"  - name: r{n}-{period}\n    amount: {10 ** (n % 4 + 1)}\n    period: {period}\n{f}"
        text += "    forecast: [100]\n" if n % 2 else "    summary: true\n"
    text += "anomalies:\n"
    for n, by in enumerate(("line_item", "line_item", "source", "total", "total")):
        text += f"  - name: ra{n}-{by}\n    by: {by}\n{f}" + ("    min_impact: 1\n" if n % 2 else "")
    return text
