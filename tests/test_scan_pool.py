"""The anomaly scans in a pool of processes say what they say in this process: the scans
themselves, a cold check and a replay; an interrupt or a failure leaves no worker behind, and what
a dead worker did not scan is scanned here."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import random
import signal
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alertd import cli
from alertd.evaluate import scan_pool
from alertd.evaluate.scan_pool import Scan, Scanned, scan_all
from alertd.rules.anomaly import DAY, HOUR, fresh, resume
from alertd.rules.verdicts import AnomalyParams
from alertd.store import Store
from tests.test_evaluate_anomalies import RULES, SHARED, evaluated, feed, loaded, put, put_in, stored
from tests.test_evaluate_anomalies import START as ROWS_START

BERLIN = ZoneInfo("Europe/Berlin")
START = int(datetime(2026, 2, 2, tzinfo=UTC).timestamp())  # Berlin goes to summer time on 29 March


def series(rng: random.Random, count: int, step: int) -> list[int | None]:
    """Micro-unit amounts with a daily shape, noise, gaps, a few spikes and a step up."""
    values: list[int | None] = []
    level = rng.uniform(1, 50)
    for t in range(count):
        if rng.random() < 0.03:
            values.append(None)
            continue
        hour = (t * step // HOUR) % 24
        amount = level * (1.4 if 8 <= hour < 19 else 0.6) * rng.lognormvariate(0, 0.1)
        if rng.random() < 0.01 or t > count * 0.9:
            amount *= rng.choice([3, 5])
        values.append(int(amount * 1_000_000))
    return values


def scans(seed: int) -> list[Scan]:
    rng = random.Random(seed)
    found = []
    for step, count, rewind in ((HOUR, 24 * 70, 6), (HOUR, 24 * 50, 6), (DAY, 300, 3), (HOUR, 24 * 90, 6)):
        params = AnomalyParams(
            sensitivity=rng.choice([3.0, 4.0]),
            min_impact=rng.choice([0, 1_000_000]),
            min_percent=Decimal(rng.choice([0, 10])),
            direction=rng.choice(["up", "both"]),
        )
        values = series(rng, count, step)
        found.append(Scan(fresh(START, step), values, count - rewind, BERLIN, params))
        # The same series resumed from a checkpoint part of the way.
        head = count // 2
        _, state = resume(fresh(START, step), values[:head], BERLIN, params)
        found.append(Scan(state, values[head:], count - head - rewind, BERLIN, params))
    return found


def canonical(results: dict[int, Scanned]) -> list[str]:
    """Each result in full, NaN included (which compares unequal to itself)."""
    return [
        repr((list(v), v.items, v.sigmas, list(v.values), list(v.expected), state)) for v, state in results.values()
    ]


def run(items: list[Scan], **pool: int) -> dict[int, Scanned]:
    found: dict[int, Scanned] = {}
    scan_all(items, found.__setitem__, **pool)
    return dict(sorted(found.items()))


def test_the_pool_scans_as_this_process_does() -> None:
    for seed in (1, 2):
        items = scans(seed)
        inline = run(items, min_buckets=10**9)
        pooled = run(items, min_buckets=0, workers=2)
        assert list(pooled) == list(range(len(items)))
        assert canonical(pooled) == canonical(inline)
        assert any(p.anomalous for v, _ in inline.values() for p in v)
    assert multiprocessing.active_children() == []


def test_what_the_pool_sends_pickles() -> None:
    (item, *_) = scans(3)
    verdicts, state = scan_pool.scan(item)
    again, (verdicts_again, state_again) = pickle.loads(pickle.dumps((item, (verdicts, state))))
    assert repr(again) == repr(item) and again.tz is BERLIN  # a zone pickles by its key
    assert canonical({0: (verdicts_again, state_again)}) == canonical({0: (verdicts, state)})


def test_an_interrupt_while_waiting_ends_the_workers() -> None:
    items = scans(4) * 40  # a second or so of scanning: the interrupt comes while waiting on it

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            run(items, min_buckets=0, workers=2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert multiprocessing.active_children() == []

    def refuse(i: int, result: Scanned) -> None:
        raise RuntimeError("taken badly")

    with pytest.raises(RuntimeError, match="taken badly"):
        scan_all(items[:16], refuse, min_buckets=0, workers=2)
    assert multiprocessing.active_children() == []


def test_what_dead_workers_did_not_scan_is_scanned_here(caplog: pytest.LogCaptureFixture) -> None:
    items = scans(5) * 2
    inline = run(items, min_buckets=10**9)
    found: dict[int, Scanned] = {}

    def take(i: int, result: Scanned) -> None:
        if not found:  # the first chunk is back: the others are being scanned, or waiting
            for child in multiprocessing.active_children():
                os.kill(child.pid or 0, signal.SIGKILL)
        found[i] = result

    scan_all(items, take, min_buckets=0, workers=2)
    assert canonical(dict(sorted(found.items()))) == canonical(inline)
    assert "scanning the rest in this process" in caplog.text
    assert multiprocessing.active_children() == []
    # A scan that fails in a worker fails here, as it would without the pool.
    broken = [*items[:3], items[3]._replace(values=["x", *items[3].values[1:]])]
    with pytest.raises(TypeError):
        scan_all(broken, lambda i, result: None, min_buckets=0, workers=2)
    assert multiprocessing.active_children() == []


def test_a_cold_check_is_the_same_with_and_without_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    many = RULES.replace("{name: spend, notify: [out], min_impact: 1}", "{name: spend, notify: [out], by: line_item}")
    hours = 60 * 24
    data = feed(hours, seed=5, anomalies={0: (hours - 3, 2.0), 1: (hours - 30, 3.0)})
    data[45 * 24 + 14, "item2"] *= 8
    said = []
    for threshold in (10**9, 0):
        monkeypatch.setattr(scan_pool, "MIN_BUCKETS", threshold)
        (tmp_path / str(threshold)).mkdir()
        conf = loaded(tmp_path / str(threshold), many)
        with Store(tmp_path / f"{threshold}.db", conf.tz) as store:
            first = evaluated(conf, store, {"feed": put(store, data)}, hours)
            said.append((first, stored(store)))
    assert said[0] == said[1]
    assert said[0][0] and said[0][1]


def test_a_replay_is_the_same_with_and_without_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        SHARED
        + "budgets:\n  - {name: daily, amount: 20, period: day}\n  - {name: monthly, amount: 900, period: month, forecast: [100]}\n"
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    (tmp_path / "feed.csv").write_text("timestamp,line_item,amount\n")
    conf = loaded(tmp_path, text)
    hours = 60 * 24
    with Store(tmp_path / "costs.db", conf.tz) as store:
        put_in(store, "feed", feed(hours, seed=6, anomalies={1: (50 * 24 + 3, 3.0), 0: (55 * 24, 0.3)}))
        put_in(store, "other", feed(hours, seed=7, anomalies={2: (52 * 24 + 8, 4.0)}))
    since, until = (datetime.fromtimestamp(ROWS_START + h * HOUR, UTC).isoformat() for h in (30 * 24, hours))
    outputs = []
    for threshold in (10**9, 0):
        monkeypatch.setattr(scan_pool, "MIN_BUCKETS", threshold)
        assert cli.main(["replay", "-c", str(rules), "--json", "--since", since, "--until", until]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]  # the second with the budgets replayed alongside, in a process of their own
    assert outputs[0].count('"kind": "anomaly"') >= 3 and outputs[0].count('"kind": "budget"') >= 3


def test_work_alongside_comes_back_or_is_done_here(caplog: pytest.LogCaptureFixture) -> None:
    here = os.getpid()
    assert scan_pool.Alongside(lambda: (os.getpid() != here, [Decimal("0.1")] * 3), worth=True).result() == (
        True,
        [Decimal("0.1")] * 3,
    )
    assert scan_pool.Alongside(lambda: os.getpid() != here, worth=False).result() is False  # not forked
    # Dead before it sends (the OOM killer, say): done here.
    assert scan_pool.Alongside(lambda: os.getpid() == here or os._exit(9), worth=True).result() is True
    assert "ended without its result" in caplog.text

    def fails() -> None:
        raise ValueError(f"failed in {'the parent' if os.getpid() == here else 'the child'}")

    with pytest.raises(ValueError, match="failed in the parent"):  # with its traceback here
        scan_pool.Alongside(fails, worth=True).result()
    assert multiprocessing.active_children() == []
