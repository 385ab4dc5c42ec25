"""alertd's anomaly detector as benchmark detectors, imported lazily: it may not exist yet.

Contract: `replay_series(values, start, step, tz, params) -> list[int]` gives the indices of the
buckets where alertd would send an anomaly alert (full lifecycle); `scan(values, start, step,
tz, params)` gives one result per bucket with a boolean `anomalous`, scored here through the
same event rule as the comparators.
"""

from __future__ import annotations

import time
from typing import Any

from .corpus import Series
from .harness import Detector, alerts_from_flags

LIFECYCLE = "alertd (lifecycle)"
SCAN = "alertd scan (event rule)"
TOLD = "alertd + feedback"  # the lifecycle after "expected" on each false alarm, as it arrives


def load() -> tuple[dict[str, Any] | None, str]:
    """The alertd callables, or None and why not."""
    try:
        from alertd.alerts.anomaly import params_of, replay_series
        from alertd.config import Anomaly
        from alertd.rules.anomaly import scan
    except Exception as exc:  # half-written modules raise more than ImportError
        return None, f"alertd's anomaly detector is not importable yet ({type(exc).__name__}: {exc}); skipped"
    api = {"replay_series": replay_series, "scan": scan, "params_of": params_of, "rule": Anomaly}
    try:  # feedback came later: without it, the benchmark runs the rest
        from alertd.alerts.anomaly import judge
        from alertd.alerts.feedback import Feedback, expects
        from alertd.model import SeriesState
    except Exception:
        return api, "alertd anomaly detector loaded (no feedback)"
    api |= {"judge": judge, "Feedback": Feedback, "expects": expects, "SeriesState": SeriesState}
    return api, "alertd anomaly detector loaded"


def rule(api: dict[str, Any], **settings: Any) -> Any:
    """An anomaly rule as a user writes it: the defaults, but for `settings` (None: the default)."""
    chosen = {k: v for k, v in settings.items() if v is not None}
    return api["rule"].model_validate({"name": "bench", "notify": ["x"], **chosen})


def detectors(api: dict[str, Any], cooldown: dict[int, int], chosen: Any) -> list[Detector]:
    """alertd with the scan parameters `chosen` (a rule) gives a series of its step, as the daemon does."""
    replay, scan, params_of = api["replay_series"], api["scan"], api["params_of"]

    def lifecycle(series: Series) -> list[int]:
        params = params_of(chosen, series.step)
        got = replay(series.values, series.start, series.step, series.tz, params)
        bad = [i for i in got if not isinstance(i, int) or not 0 <= i < len(series.values)]
        if bad:
            raise ValueError(f"replay_series returned non-index values {bad[:5]}")
        return list(got)

    def scanned(series: Series) -> list[int]:
        results = scan(series.values, series.start, series.step, series.tz, params_of(chosen, series.step))
        if len(results) != len(series.values):
            raise ValueError(f"scan returned {len(results)} results for {len(series.values)} buckets")
        flags = [r.anomalous for r in results]
        if not all(isinstance(f, bool) for f in flags):
            raise TypeError("scan results' `anomalous` is not a bool")
        return alerts_from_flags(flags, cooldown[series.step])

    found = [Detector(LIFECYCLE, lifecycle), Detector(SCAN, scanned)]
    if "judge" in api:
        found.append(Detector(TOLD, lambda series: told(api, chosen, series)))
    return found


def told(api: dict[str, Any], chosen: Any, series: Series) -> list[int]:
    """The alerts left when someone answers each false alarm "expected" as it arrives (and each
    alert inside a labelled window "unexpected", which changes nothing): one round of feedback."""
    step, start = series.step, series.start
    points = api["scan"](series.values, start, step, series.tz, api["params_of"](chosen, step))
    inside = {i for w in series.windows for i in range(w.start, w.end + 1)}
    notes: list[Any] = []
    while True:
        expected = api["expects"](notes, series.tz)
        _, actions, _ = api["judge"](points, start, step, api["SeriesState"](), chosen.cooldown, expected)
        alerts = [i for i, action in actions if action.kind == "fire"]
        marked = {(n.bucket - start) // step for n in notes}
        wrong = [i for i in alerts if i >= series.score_from and i not in inside and i not in marked]
        if not wrong:
            return alerts
        i = wrong[0]
        point = points[i]
        notes.append(
            api["Feedback"](
                len(notes), "bench", "s", "expected", start + i * step, step, point.value, point.expected, None, None, 0
            )
        )


def time_year(api: dict[str, Any], series: Series) -> float:
    """Seconds for one replay of a year of hourly buckets."""
    began = time.perf_counter()
    api["replay_series"](series.values, series.start, series.step, series.tz, api["params_of"](rule(api), series.step))
    return time.perf_counter() - began


def causality_problems(api: dict[str, Any], corpus: list[Series], cuts: int = 3) -> list[str]:
    """Replaying a prefix must give the same alerts as the full replay up to the cut: a detector
    that peeks at later buckets would score better here than it can in the daemon.
    """
    problems = []
    for series in corpus[:: max(1, len(corpus) // 4)]:
        params = api["params_of"](rule(api), series.step)
        full = list(api["replay_series"](series.values, series.start, series.step, series.tz, params))
        n = len(series.values)
        for k in range(1, cuts + 1):
            cut = series.score_from + (n - series.score_from) * k // (cuts + 1)
            part = list(api["replay_series"](series.values[:cut], series.start, series.step, series.tz, params))
            if part != [i for i in full if i < cut]:
                problems.append(f"{series.name}: alerts before bucket {cut} differ when the data ends there")
    return problems
