"""The outbox: claims, the attempt log, giving up, and telling another channel about it."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from alertd.model import Alert, BudgetStatus, Message
from alertd.store import Store
from alertd.store.outbox import Target
from tests.conftest import run_cli
from tests.receivers import Webhook, closed_port
from tests.test_check_e2e import NF_TOKEN, month_to_date, recent_usage

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def alert(key: str = "k1") -> Alert:
    status = BudgetStatus(
        "b", "USD", 10, 9, "month", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC),
        NOW, None, 0, (), (), (),
    )  # fmt: skip
    return Alert(key, "b", "budget", Decimal(80), "warning", 0, ("ops",), status)


def test_a_claim_is_taken_once_and_returns_after_its_lease(tmp_path: Path) -> None:
    first, second = (
        Store(tmp_path / "a.db", ZoneInfo("UTC")),
        Store(tmp_path / "a.db", ZoneInfo("UTC")),
    )  # two processes, one file
    first.outbox.enqueue(alert(), Message("t", "x", "x", "x"), {}, [Target("ops", 0, "json://h")], NOW)
    (item,) = first.outbox.due(NOW)
    assert first.outbox.claim(item.id, NOW, timedelta(minutes=2))
    assert not second.outbox.claim(item.id, NOW, timedelta(minutes=2))  # the other sender keeps off
    assert second.outbox.due(NOW + timedelta(minutes=1)) == []
    # The claimer died before recording anything: after the lease it is due again.
    assert [d.id for d in second.outbox.due(NOW + timedelta(minutes=3))] == [item.id]
    first.close()
    second.close()


def test_claims_not_tried_are_given_back_and_only_those(tmp_path: Path) -> None:
    lease = timedelta(seconds=30)
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as store:
        for key in ("k1", "k2"):
            store.outbox.enqueue(alert(key), Message("t", "x", "x", "x"), {}, [Target("ops", 0, "json://h")], NOW)
        first, second = store.outbox.due(NOW)
        assert store.outbox.claim(first.id, NOW, lease) and store.outbox.claim(second.id, NOW, lease)
        store.outbox.unclaim([second.id], NOW, lease)  # a stop came before it was tried
        assert [d.id for d in store.outbox.due(NOW)] == [second.id]  # due at once, not after the lease
        later = NOW + timedelta(minutes=1)
        assert store.outbox.claim(second.id, later, lease)  # taken again, by whoever
        store.outbox.unclaim([second.id], NOW, lease)  # an old claim's release does not touch the new one
        assert [d.id for d in store.outbox.due(later)] == [first.id]  # its lease is over; second is still held


def test_every_attempt_is_logged(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as store:
        store.outbox.enqueue(alert(), Message("t", "x", "x", "x"), {}, [Target("ops", 0, "json://h")], NOW)
        (item,) = store.outbox.due(NOW)
        store.outbox.mark_failed(item.id, NOW, "HTTP 503", NOW + timedelta(seconds=5))
        store.outbox.mark_sent(item.id, NOW + timedelta(seconds=6))
        (logged,) = store.outbox.history(10)
        assert logged.state == "sent"
        assert [(a.at, a.ok, a.error) for a in logged.attempts] == [
            (NOW, False, "HTTP 503"),
            (NOW + timedelta(seconds=6), True, None),
        ]
        assert [d.id for d in store.outbox.history(10, failed=True)] == [item.id]  # failed once, then recovered
        assert store.outbox.failing(10) == []  # ...so not failing now


def test_a_channel_given_up_on_is_reported_through_another(write, tmp_path: Path) -> None:
    from alertd.simulate.northflank import FakeNorthflank

    usage = recent_usage(seed=12)
    spent = month_to_date(usage)
    with FakeNorthflank(usage, token=NF_TOKEN) as api, Webhook() as hook:
        rules = write(
            "rules.yaml",
            f"""
            database: costs.db
            delivery: {{give_up_after: 1s}}
            sources:
              - {{name: nf, provider: northflank, token: {NF_TOKEN}, base_url: "{api.url}"}}
            channels:
              pager: "json://127.0.0.1:{closed_port()}/down?cto=1"
              chat: {hook.url}
            budgets:
              - {{name: paged, amount: {(spent / Decimal("0.6")).quantize(Decimal("0.01"))}, period: month, notify: [pager]}}
              - {{name: chatty, amount: {(spent / Decimal("0.9")).quantize(Decimal("0.01"))}, period: month, notify: [chat]}}
            """,
        )
        first = run_cli("check", "-c", str(rules))
        assert first.returncode == 1 and "1 delivered, 1 failed (will retry)" in first.stdout
        time.sleep(2)
        # A new budget's alert goes to the chat channel: it carries a note on the given-up page.
        later = f"  - {{name: later, amount: {(spent / Decimal('0.95')).quantize(Decimal('0.01'))}, period: month, notify: [chat]}}\n"
        rules.write_text(rules.read_text() + later)
        second = run_cli("check", "-c", str(rules))
        assert "1 delivered, 0 failed (will retry), 1 given up" in second.stdout, second.stdout
        failed = run_cli("deliveries", "-c", str(rules), "--failed", "--json")
        logged = [json.loads(line) for line in failed.stdout.splitlines()]
        assert {d["channel"] for d in logged} == {"pager"} and all(d["state"] == "given_up" for d in logged)
        status = json.loads(run_cli("status", "-c", str(rules), "--json").stdout)
        assert status["failing_deliveries"][0]["channel"] == "pager"
        third = run_cli("check", "-c", str(rules))
    first_post, second_post = hook.posts
    assert "Could not be delivered" not in first_post["message"]
    assert "Could not be delivered elsewhere (1), given up" in second_post["message"]
    assert "paged: crossed 50%" in second_post["message"] and "pager (json://127.0.0.1:" in second_post["message"]
    assert third.returncode == 0 and len(hook.posts) == 2  # nothing repeated, the note told once


def test_each_attempt_records_its_own_time(write, tmp_path: Path) -> None:
    """Two sends in one cycle: a URL that never answers (cut after 1 s), then a webhook. Each attempt
    keeps the moment its own send ended, not the cycle's start."""
    import sqlite3

    from tests.receivers import Silent
    from tests.test_silences import one_csv_budget

    with Silent() as hung, Webhook() as hook:
        rules = one_csv_budget(write, f"[json://127.0.0.1:{hung.port}/hang?rto=1, {hook.url}]")
        check = run_cli("check", "-c", str(rules))
        assert "1 delivered, 1 failed (will retry)" in check.stdout, check.stdout + check.stderr
    db = sqlite3.connect(tmp_path / "costs.db")
    ((cycle,),) = db.execute("SELECT created FROM alerts").fetchall()  # the cycle's `now`
    (hung_at, hung_ok), (hook_at, hook_ok) = db.execute("SELECT at, ok FROM attempts ORDER BY id").fetchall()
    assert (hung_ok, hook_ok) == (0, 1)
    assert cycle + 0.9 < hung_at < hook_at  # the hung send ended a second into the cycle; the webhook's after it
    ((sent_at,),) = db.execute("SELECT sent_at FROM deliveries WHERE status = 'sent'").fetchall()
    assert sent_at == hook_at


def test_a_failed_digest_is_one_log_line_and_every_alert_is_retried(tmp_path: Path, caplog) -> None:
    from alertd.config import Config
    from alertd.notify.dispatch import deliver

    url = f"json://127.0.0.1:{closed_port()}/"
    config = Config.model_validate({"channels": {"ops": url}})
    with Store(tmp_path / "a.db", ZoneInfo("UTC")) as store:
        for n in range(6):
            store.outbox.enqueue(alert(f"k{n}"), Message(f"t{n}", "x", "x", "x"), {}, [Target("ops", 0, url)], NOW)
        with caplog.at_level("INFO", logger="alertd.cycle"):
            counts = deliver(config, store, NOW)
        assert (counts.sent, counts.failed) == (0, 6)
        assert len(store.outbox.due(NOW + timedelta(minutes=11))) == 6  # each one due again
    lines = [r.getMessage() for r in caplog.records if r.name == "alertd.cycle"]
    assert len(lines) == 1 and lines[0].startswith("delivery of 6 alerts to ops (json://127.0.0.1:"), lines
    assert "failed, will retry" in lines[0]
