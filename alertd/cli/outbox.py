"""The verbs about what is sent: the delivery log, silences, a test message to each channel."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from alertd import config as configuration
from alertd.cli.common import (
    UsageError,
    config_and_store,
    load,
    settings_of,
    when,
)

if TYPE_CHECKING:
    pass


def cmd_deliveries(args: argparse.Namespace) -> int:
    from alertd.status import held_text
    from alertd.store.silences import held_until

    cfg, store = config_and_store(args, must_exist=True)
    now = datetime.now(UTC)
    with store:
        logged = store.outbox.history(args.limit, failed=args.failed)
        silences = store.silences.active(now)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(cfg.tz).isoformat(timespec="seconds") if moment else None

    if not logged and not args.json:
        print("no delivery has had a failed attempt" if args.failed else "no deliveries yet")
    for d in logged:
        until = held_until(silences, d.rule, d.series, now) if d.state == "silenced" else None
        if args.json:
            print(json.dumps({**d.as_json(cfg.tz), "silenced_until": local(until)}))
            continue
        state = {
            "retrying": f"retrying at {local(d.next_attempt)}",
            "given_up": "given up",
            "silenced": f"silenced {held_text(local(until))}",
            "dropped": "dropped (its silence ended after the alert stopped firing)",
        }.get(d.state, d.state)
        print(f"delivery {d.id}  {d.channel} {d.url}  {state}  {d.alert}")
        for n, a in enumerate(d.attempts, start=1):
            print(f"  attempt {n} at {local(a.at)} {'sent' if a.ok else f'failed: {a.error}'}")
    return 0


def cmd_silence(args: argparse.Namespace) -> int:
    from alertd.config import parse_duration

    cfg, store = config_and_store(args)
    with store:  # closed on a refusal too, with nothing stored
        _refuse_silence_of_nothing(cfg, args.rule, args.series)
        now = datetime.now(UTC)
        try:
            until = when(args.until, cfg.tz) if args.until else now + parse_duration(args.duration or "2h")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if until <= now:
            raise UsageError("the silence would end before it starts")
        silence_id = store.silences.add(args.rule, args.series, now, until, args.reason)
    what = f"{args.rule}{f' series {args.series}' if args.series else ''}"
    print(f"silence {silence_id}: {what} until {until.astimezone(cfg.tz).isoformat(timespec='minutes')}")
    return 0


def _refuse_silence_of_nothing(cfg: configuration.Config, rule: str, series: str | None) -> None:
    """A silence that could match no alert is refused rather than stored and muting nothing."""
    budgets = [b.name for b in cfg.budgets]
    anomalies = [a.name for a in cfg.anomalies]
    rules = [*budgets, *anomalies, *(f"source:{s.name}" for s in cfg.sources)]
    if rule not in rules:
        raise UsageError(f"unknown rule {rule!r}; rules: {', '.join(rules) or 'none'}")
    if series is None:
        return
    if rule not in anomalies:  # only anomaly alerts are about one series
        kind = "budget" if rule in budgets else "source rule"
        raise UsageError(f"{kind} {rule} has no series; --series is for anomaly rules")
    if "/" not in series:
        raise UsageError(f"--series is SOURCE/LINE_ITEM (* where grouped), not {series!r}")


def cmd_silences(args: argparse.Namespace) -> int:
    cfg, store = config_and_store(args, must_exist=True)
    with store:
        active = store.silences.active(datetime.now(UTC))
    if not active:
        print("no active silences")
    for s in active:
        ends = s.ends.astimezone(cfg.tz).isoformat(timespec="minutes")
        series = f" series {s.series}" if s.series else ""
        print(f"{s.id}  {s.rule}{series}  until {ends}{f'  ({s.reason})' if s.reason else ''}")
    return 0


def cmd_unsilence(args: argparse.Namespace) -> int:
    _, store = config_and_store(args, must_exist=True)
    with store:
        ended = store.silences.end(args.id, datetime.now(UTC))
    if not ended:
        raise UsageError(f"no active silence {args.id}")
    print(f"silence {args.id} ended; alerts it held are sent at the next cycle if still firing")
    return 0


def cmd_notify_test(args: argparse.Namespace) -> int:
    from alertd.notify.deliver import send_to_channel
    from alertd.notify.render import render_test

    settings_of(args)
    cfg = load(args).config
    names = args.channel or list(cfg.channels)
    unknown = [n for n in names if n not in cfg.channels]
    if unknown:
        raise UsageError(f"unknown channel(s) {', '.join(unknown)}; configured: {', '.join(cfg.channels) or 'none'}")
    message = render_test(cfg.tz, datetime.now(UTC))
    failures = 0
    for name in names:
        for masked, result in send_to_channel([u.get_secret_value() for u in cfg.channels[name]], message):
            failures += not result.ok
            print(f"{name}: {masked}: {'ok' if result.ok else f'FAILED: {result.error}'}")
    return 1 if failures else 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from alertd.alerts.feedback import effect, planned_until
    from alertd.store.feedback import NotAnAnomaly

    cfg, store = config_and_store(args, must_exist=True)
    now = datetime.now(UTC)
    try:
        until = planned_until(args.until, args.verdict, now, cfg.tz)
    except ValueError as exc:
        raise UsageError(f"--until: {exc}") from None
    with store:
        try:
            notes = store.feedback.record(args.alert_id, args.verdict, until, args.note, now)
        except NotAnAnomaly as exc:
            raise UsageError(str(exc)) from None
    series = ", ".join(n.series for n in notes)
    print(f"alert {args.alert_id} ({notes[0].rule}: {series}): {args.verdict}; {effect(args.verdict, until, cfg.tz)}")
    return 0
