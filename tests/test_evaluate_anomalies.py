"""The anomaly pass on a real SQLite store: incremental == from scratch, the first-look digest,
the default minimum impact."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alertd import config as configuration
from alertd.alerts.anomaly import DEFAULT_MIN_IMPACT, params_of
from alertd.evaluate.anomalies import evaluate_anomalies, replay_anomalies, replay_rules
from alertd.evaluate.enqueue import facts
from alertd.model import Alert, CostRecord, facts_members, facts_series
from alertd.notify.render import render
from alertd.store import Store

H = 3600
M = 1_000_000
START = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())  # a Monday; Berlin's DST change is in the data
RULES = """
timezone: Europe/Berlin
database: costs.db
sources:
  - {name: feed, provider: csv, path: feed.csv}
channels:
  out: console://
anomalies:
  - {name: spend, notify: [out], min_impact: 1}
"""


def office(t: int, item: int, rng: random.Random) -> int:
    moment = datetime.fromtimestamp(START + t * H, UTC)
    shape = (1.3 if 8 <= moment.hour < 19 else 0.7) * (0.6 if moment.weekday() >= 5 else 1.0)
    return int((1 + item) * shape * math.exp(rng.gauss(0, 0.08)) * M)


def feed(hours: int, seed: int, anomalies: dict[int, tuple[int, float]]) -> dict[tuple[int, str], int]:
    """(hour, line item) → amount for three line items; `anomalies` maps an item to (from hour, factor)."""
    rng = random.Random(seed)
    rows = {}
    for t in range(hours):
        for item in range(3):
            at, factor = anomalies.get(item, (hours, 1.0))
            rows[t, f"item{item}"] = int(office(t, item, rng) * (factor if t >= at else 1.0))
    return rows


def loaded(tmp_path: Path, text: str = RULES) -> configuration.Config:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    (tmp_path / "feed.csv").write_text("timestamp,line_item,amount\n")
    return configuration.load(path, {}).config


def put(store: Store, rows: dict[tuple[int, str], int]) -> tuple[int, int]:
    records = [CostRecord("feed", START + t * H, item, H, amount, "USD") for (t, item), amount in sorted(rows.items())]
    store.import_records("feed", records, 0.0)
    starts = [START + t * H for t, _ in rows]
    return min(starts), max(starts) + H


def evaluated(conf: configuration.Config, store: Store, changed: dict[str, tuple[int, int]], hour: int) -> list[Alert]:
    alerts: list[Alert] = []
    evaluate_anomalies(conf, store, changed, datetime.fromtimestamp(START + hour * H + 300, UTC), alerts.append)
    return alerts


def stored(store: Store) -> list[tuple]:
    scan = store.conn.execute("SELECT * FROM scan_state ORDER BY rule, series").fetchall()
    life = store.conn.execute("SELECT * FROM series_state ORDER BY rule, series").fetchall()
    return scan + life


def test_incremental_evaluation_equals_rescanning_from_the_origin(tmp_path: Path) -> None:
    """Rows arrive hour by hour with late revisions, near and far back; one store resumes from
    its checkpoints, the other is told every cycle that everything changed (a rescan from each
    series' origin). Same alerts, same states, every cycle."""
    conf = loaded(tmp_path)
    rng = random.Random(9)
    hours = 50 * 24
    data = feed(hours, seed=2, anomalies={1: (44 * 24 + 10, 3.0), 2: (47 * 24 + 15, 0.0)})
    with Store(tmp_path / "a.db", conf.tz) as inc, Store(tmp_path / "b.db", conf.tz) as ref:
        now = 40 * 24
        history = {k: v for k, v in data.items() if k[0] < now}
        for store in (inc, ref):
            put(store, history)
        first = evaluated(conf, inc, {"feed": (START, START + now * H)}, now)
        assert first == evaluated(conf, ref, {"feed": (START, START + now * H)}, now)
        sent = len(first)
        while now < hours:
            step = rng.choice([1, 1, 1, 2, 5])
            batch = {k: v for k, v in data.items() if now <= k[0] < now + step}
            now += step
            if rng.random() < 0.3:  # a revision: within the checkpoint's rewind, or far back
                back = rng.choice([1, 3, 5, 30, 24 * 20])
                key = (now - back, f"item{rng.randrange(3)}")
                batch[key] = data[key] * 2
                data[key] = batch[key]
            changed = {"feed": put(inc, batch)}
            put(ref, batch)
            alerts = evaluated(conf, inc, changed, now)
            assert alerts == evaluated(conf, ref, {"feed": (START, START + now * H)}, now), now
            sent += len(alerts)
            assert stored(inc) == stored(ref), now
        assert sent >= 2  # the tripling of item1, and what the doubled revisions look like


def test_a_first_look_at_a_big_history_is_one_digest_then_nothing_repeats(tmp_path: Path) -> None:
    many = RULES.replace("{name: spend, notify: [out], min_impact: 1}", "{name: spend, notify: [out], by: line_item}")
    conf = loaded(tmp_path, many)
    hours = 60 * 24
    # Old events (over long ago) and two still going at the end: a doubling and a tripling.
    data = feed(hours, seed=5, anomalies={0: (hours - 3, 2.0), 1: (hours - 4, 3.0)})
    data[20 * 24 + 14, "item2"] *= 8
    data[45 * 24 + 14, "item2"] *= 8
    with Store(tmp_path / "c.db", conf.tz) as store:
        changed = {"feed": put(store, data)}
        alerts = evaluated(conf, store, changed, hours)
        assert [a.kind for a in alerts] == ["anomaly-digest"]
        events = alerts[0].status.events  # type: ignore[union-attr]
        assert [e.line_item for e in events] == ["item1", "item0"]  # largest excess first
        message = render(alerts[0], conf.tz)
        assert "2 series" in message.title
        assert message.text.index("feed / item1") < message.text.index("feed / item0")
        # The next cycles (an hour later, the same anomalies going on) say nothing new.
        more = {k: v * 3 for k, v in feed(hours + 2, seed=5, anomalies={}).items() if k[0] >= hours and k[1] == "item1"}
        assert evaluated(conf, store, {"feed": put(store, more)}, hours + 2) == []
        assert evaluated(conf, store, {}, hours + 2) == []
        # A changed rule is a first look again: one message, not one per series.
        changed_rule = many.replace("by: line_item}", "by: line_item, sensitivity: 3.5}")
        again = evaluated(loaded(tmp_path, changed_rule), store, {}, hours + 2)
        assert len(again) == 1


def test_the_default_minimum_impact_is_money_per_day(tmp_path: Path) -> None:
    conf = loaded(tmp_path, RULES.replace(", min_impact: 1}", "}"))
    (rule,) = conf.anomalies
    assert rule.min_impact is None
    assert params_of(rule, H).min_impact == math.ceil(DEFAULT_MIN_IMPACT * M / 24)
    assert params_of(rule, 86400).min_impact == DEFAULT_MIN_IMPACT * M
    # $0.10/h of new spend where there was none is $2.40 a day: under the default, not alerted.
    hours = 42 * 24
    dust = {(t, "item0"): (0 if t < hours - 48 else 100_000) for t in range(hours)}
    with Store(tmp_path / "d.db", conf.tz) as store:
        assert evaluated(conf, store, {"feed": put(store, dust)}, hours) == []
    # Overridable per rule and through `defaults:`.
    (low,) = loaded(tmp_path, RULES.replace(", min_impact: 1}", ", min_impact: 0}")).anomalies
    assert params_of(low, H).min_impact == 0
    (floor,) = loaded(tmp_path, RULES.replace(", min_impact: 1}", "}") + "defaults: {min_impact: 48}\n").anomalies
    assert params_of(floor, H).min_impact == 2 * M and floor.min_impact == Decimal(48)


SHARED = """
timezone: Europe/Berlin
database: costs.db
sources:
  - {name: feed, provider: csv, path: feed.csv}
  - {name: other, provider: csv, path: feed.csv}
channels:
  out: console://
defaults: {notify: [out], min_impact: 1}
anomalies:
  - {name: items, by: line_item}
  - {name: items-strict, by: line_item, sensitivity: 5}
  - {name: sources, by: source}
  - {name: sources-again, by: source}
  - {name: total, by: total}
  - {name: feed-total, by: total, sources: [feed]}
  - {name: two-items, by: total, line_items: ["item1", "item2"]}
  - {name: other-items, by: line_item, sources: [other], line_items: ["item2"]}
"""


def put_in(store: Store, source: str, rows: dict[tuple[int, str], int]) -> tuple[int, int]:
    records = [CostRecord(source, START + t * H, item, H, amount, "USD") for (t, item), amount in sorted(rows.items())]
    store.import_records(source, records, 0.0)
    starts = [START + t * H for t, _ in rows]
    return min(starts), max(starts) + H


def test_rules_that_share_series_say_what_each_says_alone(tmp_path: Path) -> None:
    """Rules over the same series (a source's total in two rules, a one-source total, line items
    in two) read and scan them once: each rule's alerts and states are what it gives alone."""
    conf = loaded(tmp_path, SHARED)
    names = [rule.name for rule in conf.anomalies]
    alone = {}
    for name in names:
        (tmp_path / name).mkdir()
        line = next(x for x in SHARED.splitlines() if f"name: {name}," in x)
        alone[name] = loaded(tmp_path / name, SHARED.split("anomalies:")[0] + "anomalies:\n" + line + "\n")
    hours = 48 * 24
    data = {
        "feed": feed(hours, seed=3, anomalies={1: (40 * 24 - 5, 3.0), 2: (44 * 24 + 9, 4.0)}),
        "other": feed(hours, seed=4, anomalies={2: (43 * 24 + 2, 0.2), 0: (46 * 24, 5.0)}),
    }
    stores = {name: Store(tmp_path / name / "costs.db", conf.tz) for name in names}
    with Store(tmp_path / "all.db", conf.tz) as together:
        now, sent = 40 * 24, []
        while now <= hours:
            batch = {
                s: {k: v for k, v in rows.items() if k[0] < now and (now == 40 * 24 or k[0] >= now - 6)}
                for s, rows in data.items()
            }
            changed = {s: put_in(together, s, rows) for s, rows in batch.items()}
            for store in stores.values():
                for s, rows in batch.items():
                    put_in(store, s, rows)
            everything = evaluated(conf, together, changed, now)
            for name in names:
                mine = [a for a in everything if a.rule == name]
                assert mine == evaluated(alone[name], stores[name], changed, now), (name, now)
                rule_rows = [r for r in stored(together) if r[0] == name]
                assert rule_rows == stored(stores[name]), (name, now)
            sent += everything
            now += 6
    for store in stores.values():
        store.close()
    assert {a.rule for a in sent} >= {"items", "sources", "sources-again", "total", "feed-total"}
    assert any(a.status.drivers for a in sent if a.kind == "anomaly")  # type: ignore[union-attr]


def test_replaying_rules_together_is_replaying_each_in_turn(tmp_path: Path) -> None:
    conf = loaded(tmp_path, SHARED)
    hours = 60 * 24
    with Store(tmp_path / "r.db", conf.tz) as store:
        put_in(store, "feed", feed(hours, seed=6, anomalies={1: (50 * 24 + 3, 3.0), 0: (55 * 24, 0.3)}))
        put_in(store, "other", feed(hours, seed=7, anomalies={2: (52 * 24 + 8, 4.0)}))
        since, until = (datetime.fromtimestamp(START + h * H, UTC) for h in (30 * 24, hours))
        each = [a for rule in conf.anomalies for a in replay_anomalies(conf, store, rule, since, until)]
        assert replay_rules(conf, store, conf.anomalies, since, until) == each
        assert {a.rule for a in each} >= {"items", "sources", "total", "two-items"}


def complete_through(store: Store, source: str, moment: int) -> None:
    """Where `source`'s data is complete (as its successful fetches establish it)."""
    with store.conn.write():
        store.conn.execute(
            "INSERT OR REPLACE INTO completeness (source, through, fetched) VALUES (?, ?, 0)", (source, moment)
        )


def test_hours_a_lagging_source_has_not_reported_are_judged_when_they_arrive(tmp_path: Path) -> None:
    """The feed is three hours behind the clock: those hours are not judged as gaps now (else a
    spike among them, arriving later, would never be), but when they come."""
    conf = loaded(tmp_path)
    now = 40 * 24
    data = feed(now, seed=4, anomalies={1: (now - 2, 12.0)})
    data.update({(now - 1, f"item{i}"): data[now - 3, f"item{i}"] for i in range(3)})  # back to normal after
    with Store(tmp_path / "a.db", conf.tz) as store:
        changed = {"feed": put(store, {k: v for k, v in data.items() if k[0] < now - 3})}
        complete_through(store, "feed", START + (now - 3) * H)
        assert evaluated(conf, store, changed, now) == []
        [(last,)] = store.conn.execute("SELECT last_bucket FROM series_state WHERE series = 'feed/item1'")
        assert last == START + (now - 4) * H  # the last hour the feed is complete for
        changed = {"feed": put(store, {k: v for k, v in data.items() if k[0] >= now - 3})}
        complete_through(store, "feed", START + now * H)
        alerts = evaluated(conf, store, changed, now)
    assert [(a.rule, a.status.line_item, a.status.bucket_start) for a in alerts] == [
        ("spend", "item1", datetime.fromtimestamp(START + (now - 2) * H, UTC))
    ]


RESOLVING = RULES.replace("min_impact: 1}", "min_impact: 1, send_resolved: true}")


def test_line_items_of_a_source_going_off_together_are_one_incident(tmp_path: Path) -> None:
    """item0 and item2 triple in the same hour, item1 two hours later (in the next cycle): one
    message names the first two, the third joins silently; when all are calm again, one resolved
    message says what the incident cost, the sum of the three events' excess."""
    conf = loaded(tmp_path, RESOLVING)
    hours, at = 50 * 24, 44 * 24 + 10
    data = feed(hours, seed=3, anomalies={0: (at, 3.0), 2: (at, 3.0), 1: (at + 2, 3.0)})
    for t in range(at + 8, hours):  # back to normal after eight hours
        for item, factor in ((0, 3.0), (1, 3.0), (2, 3.0)):
            data[t, f"item{item}"] = int(data[t, f"item{item}"] / factor)
    with Store(tmp_path / "c.db", conf.tz) as store:
        now = 40 * 24
        assert evaluated(conf, store, {"feed": put(store, {k: v for k, v in data.items() if k[0] < now})}, now) == []
        said: list[Alert] = []
        while now < hours:
            batch = {k: v for k, v in data.items() if now <= k[0] < now + 1}
            now += 1
            said += evaluated(conf, store, {"feed": put(store, batch)}, now)
        kinds = [a.kind for a in said]
        assert kinds == ["anomaly", "resolved"], [(a.kind, a.key) for a in said]
        fired, resolved = said
        items = {fired.status.line_item, *(m.line_item for m in fired.status.also)}
        assert items == {"item0", "item2"}
        told = facts(fired)  # as stored: the dashboard lists the alert on each line item's page
        assert {facts_series(told), *facts_members(told)} == {"feed/item0", "feed/item2"}
        text = render(fired, conf.tz).text
        assert "feed (2 line items)" in text and "item0" in text and "item2" in text
        # What the three events cost: their buckets above expectation, from the scan's own verdicts.
        total = resolved.status.excess
        tripled = sum(v - v // 3 for (t, _), v in data.items() if at <= t < at + 8) - sum(
            data[t, "item1"] - data[t, "item1"] // 3 for t in (at, at + 1)
        )
        assert abs(total - tripled) < tripled * 0.15, (total, tripled)
        assert "Cost in total" in render(resolved, conf.tz).text
        left = store.conn.execute("SELECT count(*) FROM series_state WHERE incident IS NOT NULL OR excess != 0")
        assert left.fetchone()[0] == 0
