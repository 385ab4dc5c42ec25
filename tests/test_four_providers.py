"""One budget over four providers' bills at once (Northflank hourly, Friendli, OpenAI and Anthropic
daily), each from its fake API: it alerts once at 80 %, with the month's spend and its top line
items across providers as stored, and the stored spend is each provider's own total."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from alertd.money import format_money
from alertd.rules.periods import period_bounds
from alertd.simulate.anthropic import FakeAnthropic
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.northflank import FakeNorthflank
from alertd.simulate.openai import FakeOpenAI
from alertd.simulate.spend import (
    anthropic_days,
    anthropic_dollars,
    friendli_days,
    northflank_dollars,
    northflank_hours,
    openai_days,
    openai_dollars,
)
from tests.conftest import run_cli
from tests.receivers import Webhook

HOUR = 3600
NF, FR, OA, AN = "nf-canary-4p-1", "flp_canary_4p_2", "sk-admin-canary-4p-3", "sk-ant-admin01-canary-4p-4"


def test_a_budget_over_four_providers_alerts_once_at_80_percent_with_the_top_spenders(write, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    month_start, _ = period_bounds("month", now, UTC)
    first_day = (month_start - timedelta(days=10)).date()  # some of last month too: not counted
    days = (now.date() - first_day).days + 1
    hour = int(time.time()) // HOUR * HOUR
    usage = northflank_hours(hour - (days - 1) * 24 * HOUR, (days - 1) * 24 + 1, seed=11)
    fr_days = friendli_days(first_day, days, seed=12)
    oa_days = openai_days(first_day, days, seed=13)
    an_days = anthropic_days(first_day, days, seed=14)

    def this_month(by_day: dict) -> dict:
        return {d: r for d, r in by_day.items() if d >= month_start.date()}

    expected = {
        "nf": northflank_dollars(usage, int(month_start.timestamp())),
        "fr": sum((Decimal(str(r["total"])) for rs in this_month(fr_days).values() for r in rs), Decimal(0)),
        "oa": openai_dollars(this_month(oa_days)),
        "an": anthropic_dollars(this_month(an_days)),
    }
    total = sum(expected.values(), Decimal(0))
    with (
        FakeNorthflank(usage, token=NF) as nf,
        FakeFriendli(fr_days, token=FR) as fr,
        FakeOpenAI(oa_days, token=OA) as oa,
        FakeAnthropic(an_days, token=AN) as an,
        Webhook() as hook,
    ):
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            sources:
              - {{name: nf, provider: northflank, token: {NF}, base_url: "{nf.url}", lookback: {days + 1}d}}
              - {{name: fr, provider: friendli, token: {FR}, base_url: "{fr.url}", lookback: {days + 1}d}}
              - {{name: oa, provider: openai, token: {OA}, base_url: "{oa.url}", lookback: {days + 1}d}}
              - {{name: an, provider: anthropic, token: {AN}, base_url: "{an.url}", lookback: {days + 1}d}}
            channels:
              hook: {hook.url}
            budgets:
              - name: everything
                amount: {(total / Decimal("0.85")).quantize(Decimal("0.01"))}
                period: month
                thresholds: [80]
                sources: [nf, fr, oa, an]
                notify: [hook]
            anomalies:
              - {{name: per-provider, by: source, notify: [hook]}}
            """,
        )
        first = run_cli("check", "-c", str(rules))
        assert first.returncode == 0, first.stdout + first.stderr
        again = run_cli("check", "-c", str(rules))
        assert again.returncode == 0, again.stdout + again.stderr
        posts = [p for p in hook.posts if "everything" in p["title"]]
    assert len(posts) == 1, [p["title"] for p in hook.posts]  # once, not again on the second check
    assert "everything: crossed 80% of budget" in posts[0]["title"]
    body = posts[0]["message"]
    db = sqlite3.connect(tmp_path / "costs.db")
    start = int(month_start.timestamp())
    stored = dict(db.execute("SELECT source, sum(amount) FROM costs WHERE bucket_start >= ? GROUP BY source", (start,)))
    for source, dollars in expected.items():
        # Anthropic's sub-micro-dollar digits are rounded once per day and line item.
        slack = 0 if source != "an" else len(this_month(an_days)) * len(next(iter(an_days.values())))
        assert abs(stored[source] - int(dollars * 1_000_000)) <= slack, source
    assert format_money(sum(stored.values()), "USD") in body
    top = db.execute(
        "SELECT source, line_item FROM costs WHERE bucket_start >= ? GROUP BY 1, 2 ORDER BY sum(amount) DESC LIMIT 5",
        (start,),
    ).fetchall()
    places = [body.index(f"{source} / {item}") for source, item in top]
    assert places == sorted(places)  # the top spenders, in order, across providers
    assert {source for source, _ in top} - {"nf"}  # not one provider's items only
    for token in (NF, FR, OA, AN):
        assert token not in first.stdout + first.stderr + again.stdout + again.stderr
