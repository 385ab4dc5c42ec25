"""The user's verbs. Thin: parse arguments, call the stages, print.

Exit status: 0 all went well, 1 a source or the store failed, 2 bad config or bad input.
Heavy modules are imported inside the verbs that need them, so `validate` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from alertd import config as configuration
from alertd import logs
from alertd.redact import redact, register

if TYPE_CHECKING:
    from alertd.model import Alert, Window
    from alertd.settings import Settings
    from alertd.store import Store


class UsageError(Exception):
    """Bad input on the command line or in a file given to it: exit 2."""


class Failed(Exception):
    """A step failed at run time (a source, the store): exit 1."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except configuration.ConfigError as exc:
        for line in exc.lines:
            print(redact(line), file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"alertd: {redact(str(exc))}", file=sys.stderr)
        return 2
    except Failed as exc:
        print(f"alertd: {redact(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("alertd: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `alertd status | head`: the reader had enough; so are we
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail too
        return 0
    except Exception as exc:  # after the others, which it would shadow
        from alertd.store import StoreError  # here, not at the top: `validate` never loads the store

        if not isinstance(exc, StoreError):  # e.g. another alertd held the database too long
            raise
        print(f"alertd: {redact(str(exc))}", file=sys.stderr)
        return 1


# --- verbs ---------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    with configuration.checking_channel_urls():  # as a reload does; `check` and `status` need not load Apprise
        loaded = _load(args, allow_missing_env=args.allow_missing_env)
    print(f"ok: {loaded.path}: {loaded.config.summary()}")
    if loaded.missing_env:
        names = ", ".join(loaded.missing_env)
        print(f"note: not set, to be provided at run time: {names}")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from alertd.ingest import backfill
    from alertd.rules.periods import history_start

    cfg, store = _config_and_store(args)
    now = datetime.now(UTC)
    window = _range(args, cfg.tz, history_start(cfg, now), now)
    names = _source_names(cfg, args.source)
    with store, _Progress(len(names) * (window.end_ts - window.start_ts)) as progress:
        outcomes = backfill(cfg, store, window, names, advance=progress.advance)
    for o in outcomes:
        state = f"failed: {o.error}" if o.error else "ok"
        print(f"{o.source}: {o.rows} rows fetched, {o.changed} new or revised, {o.fetches} windows; {state}")
    return 1 if any(o.error for o in outcomes) else 0


def cmd_import(args: argparse.Namespace) -> int:
    from alertd.config import FocusSource
    from alertd.sources.csvfile import CsvError, read_costs
    from alertd.sources.focus_read import FocusError
    from alertd.sources.focus_read import read_costs as read_focus
    from alertd.store import StoreError

    cfg, store = _config_and_store(args)
    try:
        source = cfg.source(args.source)
    except KeyError:
        store.close()
        raise UsageError(f"unknown source {args.source!r}; declare it under sources: first") from None
    bucket = getattr(source, "bucket", timedelta(hours=1))
    currency = "USD" if source.provider == "friendli" else cfg.currency
    if isinstance(source, FocusSource):  # its own exports, read as its polls read them
        records = read_focus(Path(args.file), source, cfg.currency)
    else:
        records = read_costs(Path(args.file), source.name, currency, bucket)
    try:
        with store:
            written = store.import_records(source.name, records, time.time())
    except (CsvError, FocusError) as exc:
        raise UsageError(f"{exc}\nnothing was imported from {args.file}") from None
    except StoreError as exc:  # another alertd held the database for longer than the import waits
        raise Failed(f"{exc}; nothing was imported from {args.file}") from None
    print(f"imported {written.rows} rows into {source.name} ({written.changed} new or revised)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from alertd.report import ReportError, build_report
    from alertd.rules.periods import period_bounds

    cfg, store = _config_and_store(args, must_exist=True)
    now = datetime.now(UTC)
    keys = tuple(k.strip() for k in args.by.split(",") if k.strip())
    try:
        with store:
            window = _range(args, cfg.tz, period_bounds("month", now, cfg.tz)[0], now)
            report = build_report(store, window.start, window.end, keys, cfg.tz, cfg.currency)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    print(json.dumps(report.as_json(), indent=2) if args.json else report.as_table())
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from alertd.daemon import run_cycle

    cfg, store = _config_and_store(args)
    with store:
        report = run_cycle(cfg, store, [s.name for s in cfg.sources], datetime.now(UTC))
    for o in report.polled:
        state = o.error or o.skipped or f"{o.rows} rows, {o.changed} new or revised"
        print(f"{o.source}: {'failed: ' if o.error else ''}{state}")
    new = report.evaluation.new if report.evaluation else []
    ends = sorted(set(report.evaluation.held.values())) if report.evaluation else []
    held = len(report.evaluation.held) if report.evaluation else 0
    silenced = ""
    if ends:  # several silences: the last to end says when the last held alert can go
        last = ends[-1].astimezone(cfg.tz).isoformat(timespec="minutes")
        silenced = f", {held} silenced until {last}{' at the latest' if len(ends) > 1 else ''}"
    d = report.deliveries
    print(
        f"{len(new)} new alert(s){silenced}; {d.sent} delivered, {d.failed} failed (will retry), {d.gave_up} given up"
    )
    return 0 if report.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    from alertd.daemon import Daemon

    with configuration.checking_channel_urls():  # a daemon loads Apprise anyway: refuse a bad URL now
        cfg, store = _config_and_store(args)
    metrics = None
    if cfg.metrics is not None:
        from alertd.metrics import Metrics

        metrics = Metrics()
        try:
            metrics.serve(*cfg.metrics.address)
        except OSError as exc:
            raise Failed(f"metrics: cannot listen on {cfg.metrics.listen}: {exc.strerror or exc}") from None
    with store:
        daemon = Daemon(cfg, store, reload=_reloader(args, cfg), metrics=metrics)
        daemon.install_signal_handlers()
        try:
            cut = daemon.run()
        except Exception:  # through the log, so that it is masked and has a priority; systemd restarts us
            logging.getLogger("alertd").critical("alertd stopped on an unexpected error", exc_info=True)
            return 1
    if cut:
        # A send cut short may live on in Apprise's worker thread until its socket times out; all of
        # ours is written and closed, so exit now rather than wait for it (the unit expects 10 s).
        logging.shutdown()
        os._exit(0)
    return 0


def _reloader(args: argparse.Namespace, first: configuration.Config) -> Callable[[], configuration.Config]:
    """What SIGHUP runs: the rules file loaded and validated again, as at start-up."""

    def reload() -> configuration.Config:
        loaded = _load(args)
        fixed = [key for key in ("database", "metrics") if getattr(loaded.config, key) != getattr(first, key)]
        if fixed:
            raise configuration.ConfigError(
                [f"{loaded.path}: {' and '.join(fixed)} changed, which takes a restart (systemctl restart alertd)"]
            )
        return loaded.config

    return reload


def cmd_status(args: argparse.Namespace) -> int:
    from alertd.status import collect, render_text

    cfg, store = _config_and_store(args, must_exist=True)
    with store:
        status = collect(cfg, store, datetime.now(UTC))
    print(json.dumps(status, indent=2) if args.json else render_text(status))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from alertd.model import utc
    from alertd.replay import replay

    cfg, store = _config_and_store(args, must_exist=True)
    with store:
        stored = store.data_range()
        if stored is None:
            raise Failed("the database holds no costs yet: run `alertd backfill` first")
        window = _range(args, cfg.tz, utc(stored[0]), utc(stored[1]))
        found = replay(cfg, store, window.start, window.end)
    counts: dict[str, dict[str, int]] = {r.name: {} for r in (*cfg.budgets, *cfg.anomalies)}
    for item in found:
        kinds = counts[item.alert.rule]
        kinds[item.alert.kind] = kinds.get(item.alert.kind, 0) + 1
        if args.json:
            print(json.dumps(item.as_json()))
        else:
            print(f"{item.at.astimezone(cfg.tz).isoformat(timespec='minutes')}  {_title(item.alert, cfg.tz)}")
    summary = [
        f"replayed {window.start.astimezone(cfg.tz):%Y-%m-%d %H:%M} .. {window.end.astimezone(cfg.tz):%Y-%m-%d %H:%M}:"
    ]
    for rule, kinds in counts.items():
        detail = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "nothing"
        summary.append(f"  {rule}: {sum(kinds.values())} alert(s) would have been sent ({detail})")
    print("\n".join(summary), file=sys.stderr if args.json else sys.stdout)
    return 0


def _title(alert: Alert, tz: ZoneInfo) -> str:
    from alertd.notify.render import document  # not laid out: a replay prints titles only

    return document(alert, tz).title.removeprefix("[alertd] ")


def cmd_deliveries(args: argparse.Namespace) -> int:
    from alertd.status import held_text
    from alertd.store.silences import held_until

    cfg, store = _config_and_store(args, must_exist=True)
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

    cfg, store = _config_and_store(args)
    with store:  # closed on a refusal too, with nothing stored
        _refuse_silence_of_nothing(cfg, args.rule, args.series)
        now = datetime.now(UTC)
        try:
            until = _when(args.until, cfg.tz) if args.until else now + parse_duration(args.duration or "2h")
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
    cfg, store = _config_and_store(args, must_exist=True)
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
    _, store = _config_and_store(args, must_exist=True)
    with store:
        ended = store.silences.end(args.id, datetime.now(UTC))
    if not ended:
        raise UsageError(f"no active silence {args.id}")
    print(f"silence {args.id} ended; alerts it held are sent at the next cycle if still firing")
    return 0


def cmd_notify_test(args: argparse.Namespace) -> int:
    from alertd.notify.deliver import send_to_channel
    from alertd.notify.render import render_test

    _settings(args)
    cfg = _load(args).config
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


def cmd_demo(args: argparse.Namespace) -> int:
    from alertd import demo

    logs.configure(args.log_level or "warning", args.log_format or "text")
    return demo.run()


# --- shared steps ----------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    from alertd.settings import Settings

    try:
        settings = Settings.from_env(os.environ)
    except ValueError as exc:  # pydantic's ValidationError
        raise UsageError(f"bad ALERTD_* environment setting: {exc}") from None
    logs.configure(args.log_level or settings.log_level, args.log_format or settings.log_format)
    return settings


def _load(args: argparse.Namespace, *, allow_missing_env: bool = False) -> configuration.Loaded:
    path = configuration.find_config(args.config, os.environ)
    loaded = configuration.load(path, allow_missing_env=allow_missing_env)
    register(*loaded.config.secrets())
    return loaded


def _config_and_store(args: argparse.Namespace, *, must_exist: bool = False) -> tuple[configuration.Config, Store]:
    """Settings (and logging), the validated config, and the open database."""
    from alertd.store import Store, StoreError

    settings = _settings(args)
    loaded = _load(args)
    cfg = loaded.config
    path = settings.database or cfg.database
    assert path is not None
    configuration.check_database(loaded, Path(path), named_by="ALERTD_DATABASE" if settings.database else None)
    if must_exist and not Path(path).exists():
        raise Failed(f"no database at {path}: run `alertd backfill` first")
    try:
        return cfg, Store(Path(path), cfg.tz)
    except StoreError as exc:
        raise Failed(str(exc)) from None


def _source_names(cfg: configuration.Config, only: list[str] | None) -> list[str]:
    declared = [s.name for s in cfg.sources]
    for name in only or ():
        if name not in declared:
            raise UsageError(f"unknown source {name!r}; declared: {', '.join(declared) or 'none'}")
    names = only or declared
    if not names:
        raise UsageError("no sources are declared in the config")
    return names


def _when(text: str, tz: ZoneInfo) -> datetime:
    """`YYYY-MM-DD` is midnight in the configured zone; full ISO 8601 without an offset too."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{text!r} is not a date (write 2026-11-01 or 2026-11-01T09:00:00+01:00)") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=tz)).astimezone(UTC)


def _range(args: argparse.Namespace, tz: ZoneInfo, default_since: datetime, now: datetime) -> Window:
    """--since/--until, defaulting to (`default_since`, now)."""
    from alertd.model import Window

    since = _when(args.since, tz) if args.since else default_since
    until = _when(args.until, tz) if args.until else now
    if until <= since:
        shown_until, shown_since = (t.astimezone(tz).isoformat(timespec="seconds") for t in (until, since))
        raise UsageError(f"--until ({shown_until}) must be after --since ({shown_since})")
    return Window(since, until)


class _Progress:
    """A progress bar on a terminal, nothing otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._bar: Any = None

    def __enter__(self) -> _Progress:
        if sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.__enter__()
            self._task = self._bar.add_task("backfill", total=self.total)
        return self

    def advance(self, source: str, seconds: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=seconds, description=f"backfill {source}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


# --- argument parsing ------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c",
        "--config",
        help="rules file (default: $ALERTD_CONFIG, ./rules.yaml, /etc/alertd/rules.yaml)",
    )
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="default: info")
    common.add_argument("--log-format", choices=["text", "json"], help="default: text")

    parser = argparse.ArgumentParser(prog="alertd", description="Budget alerts for cloud and AI spend.")
    parser.add_argument("--version", action="version", version=f"alertd {_version()}")
    verbs = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def verb(name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    v = verb("validate", cmd_validate, "check the rules file and print a one-line summary")
    v.add_argument(
        "--allow-missing-env",
        action="store_true",
        help="report unset ${VAR} placeholders as a note instead of an error (validate without secrets)",
    )

    b = verb("backfill", cmd_backfill, "fetch history from the sources into the database")
    b.add_argument("--since", help="YYYY-MM-DD or ISO 8601 (default: as far back as the rules need)")
    b.add_argument("--until", help="YYYY-MM-DD or ISO 8601 (default: now)")
    b.add_argument("--source", action="append", metavar="NAME", help="only this source (repeatable)")

    i = verb(
        "import",
        cmd_import,
        "import a CSV file (timestamp,line_item,amount[,end]), or a focus source's FOCUS export, into a source",
    )
    i.add_argument("--source", required=True, metavar="NAME")
    i.add_argument("file", metavar="FILE")

    verb("demo", cmd_demo, "the real pipeline against a simulated provider on 127.0.0.1; alerts printed here")
    verb("check", cmd_check, "one cycle now: fetch every source, evaluate, deliver; exit 1 if anything failed")
    verb("run", cmd_run, "the daemon: poll each source on its schedule, evaluate, deliver, until SIGTERM")
    st = verb("status", cmd_status, "sources, budgets and the alerts of the current periods")
    st.add_argument("--json", action="store_true", help="one JSON object")
    rp = verb("replay", cmd_replay, "replay every rule over stored history, hour by hour; sends nothing")
    rp.add_argument("--since", help="YYYY-MM-DD or ISO 8601 (default: the first stored cost)")
    rp.add_argument("--until", help="YYYY-MM-DD or ISO 8601 (default: the end of the stored costs)")
    rp.add_argument("--json", action="store_true", help="one JSON object per line per alert; the summary on stderr")
    dl = verb(
        "deliveries",
        cmd_deliveries,
        "the delivery log, newest first: each delivery (one alert to one URL, masked) with its state now"
        " (pending, retrying, sent, given up, silenced, dropped), then each attempt with its time and result",
    )
    dl.add_argument(
        "--failed",
        action="store_true",
        help="only deliveries with at least one failed attempt, whatever their state now (a later success shows sent)",
    )
    dl.add_argument("--limit", type=int, default=50, help="at most this many deliveries (default 50)")
    dl.add_argument("--json", action="store_true", help="one JSON object per delivery per line, attempts inside")
    si = verb("silence", cmd_silence, "mute a rule (or one series of it) for a while; alerts are recorded, not sent")
    si.add_argument("rule", metavar="RULE", help="a budget or anomaly rule, or source:NAME for blind spots")
    si.add_argument("--series", metavar="KEY", help="one series of an anomaly rule: SOURCE/LINE_ITEM (* where grouped)")
    when = si.add_mutually_exclusive_group()
    when.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 2h, 3d (default 2h)")
    when.add_argument("--until", metavar="DATE", help="YYYY-MM-DD or ISO 8601")
    si.add_argument("--reason", metavar="TEXT")
    verb("silences", cmd_silences, "the active silences")
    us = verb("unsilence", cmd_unsilence, "end a silence now")
    us.add_argument("id", type=int, metavar="ID")
    nt = verb("notify-test", cmd_notify_test, "send a test message to channels and report each URL's result")
    nt.add_argument("channel", nargs="*", metavar="CHANNEL", help="default: every channel")

    r = verb("report", cmd_report, "spend grouped by source, line item, day or month")
    r.add_argument("--since", help="YYYY-MM-DD or ISO 8601 (default: start of this month)")
    r.add_argument("--until", help="YYYY-MM-DD or ISO 8601 (default: now)")
    r.add_argument(
        "--by",
        default="source",
        help="comma-separated: source, line_item, day, month (default: source)",
    )
    r.add_argument("--json", action="store_true", help="one JSON object, amounts as decimal strings")
    return parser


def _version() -> str:
    from alertd import __version__

    return __version__
