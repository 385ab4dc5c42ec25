"""The verbs about costs: validate, backfill, import, report, check, run, status, replay, demo."""

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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from alertd import config as configuration
from alertd import logs
from alertd.cli.common import (
    Failed,
    Progress,
    UsageError,
    config_and_store,
    date_range,
    load,
    source_names,
)

if TYPE_CHECKING:
    from alertd.model import Alert
    from alertd.report import Report


def cmd_validate(args: argparse.Namespace) -> int:
    with configuration.checking_channel_urls():  # as a reload does; `check` and `status` need not load Apprise
        loaded = load(args, allow_missing_env=args.allow_missing_env)
    print(f"ok: {loaded.path}: {loaded.config.summary()}")
    if loaded.missing_env:
        names = ", ".join(loaded.missing_env)
        print(f"note: not set, to be provided at run time: {names}")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from alertd.ingest import backfill
    from alertd.rules.periods import history_start

    cfg, store = config_and_store(args)
    now = datetime.now(UTC)
    window = date_range(args, cfg.tz, history_start(cfg, now), now)
    names = source_names(cfg, args.source)
    with store, Progress(len(names) * (window.end_ts - window.start_ts)) as progress:
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

    cfg, store = config_and_store(args)
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

    plot = Path(args.plot) if args.plot else None
    if plot is not None and plot.suffix.lower() not in (".svg", ".png"):
        raise UsageError(f"--plot {plot}: the chart is written as .svg or .png")
    cfg, store = config_and_store(args, must_exist=True)
    now = datetime.now(UTC)
    keys = tuple(k.strip() for k in args.by.split(",") if k.strip())
    try:
        with store:
            window = date_range(args, cfg.tz, period_bounds("month", now, cfg.tz)[0], now)
            report = build_report(store, window.start, window.end, keys, cfg.tz, cfg.currency)
            timed = None  # the chart needs a time axis: by day unless the report is by day or month already
            if plot is not None:
                by_time = {"day", "month"} & set(keys)
                timed = (
                    report
                    if by_time
                    else build_report(store, window.start, window.end, (*keys, "day"), cfg.tz, cfg.currency)
                )
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    if plot is not None and timed is not None:
        write_chart(plot, timed)
    print(json.dumps(report.as_json(), indent=2) if args.json else report.as_table())
    return 0


def write_chart(path: Path, report: Report) -> None:
    from alertd.charts.png import png
    from alertd.charts.spend import spend_chart
    from alertd.charts.svg import svg

    chart = spend_chart(report)
    data = png(chart) if path.suffix.lower() == ".png" else svg(chart).encode()
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise Failed(f"cannot write the chart to {path}: {exc.strerror or exc}") from None
    print(f"chart written to {path}", file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    from alertd.daemon import run_cycle

    cfg, store = config_and_store(args)
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
        cfg, store = config_and_store(args)
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
        if cfg.web is not None:
            from alertd.dashboard.server import alongside

            try:
                alongside(lambda: daemon.config, store.path)  # its pages follow a reload's rules
            except OSError as exc:
                raise Failed(f"web: cannot listen on {cfg.web.listen}: {exc.strerror or exc}") from None
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
        loaded = load(args)
        fixed = [key for key in ("database", "metrics", "web") if getattr(loaded.config, key) != getattr(first, key)]
        if fixed:
            raise configuration.ConfigError(
                [f"{loaded.path}: {' and '.join(fixed)} changed, which takes a restart (systemctl restart alertd)"]
            )
        return loaded.config

    return reload


def cmd_status(args: argparse.Namespace) -> int:
    from alertd.status import collect, render_text

    cfg, store = config_and_store(args, must_exist=True)
    with store:
        status = collect(cfg, store, datetime.now(UTC))
    print(json.dumps(status, indent=2) if args.json else render_text(status))
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from alertd.model import utc
    from alertd.money import format_money
    from alertd.replay import attention, replay

    cfg, store = config_and_store(args, must_exist=True)
    with store:
        stored = store.data_range()
        if stored is None:
            raise Failed("the database holds no costs yet: run `alertd backfill` first")
        window = date_range(args, cfg.tz, utc(stored[0]), utc(stored[1]))
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
        cost = attention(found, rule, window.end - window.start)
        line = f"  {rule}: {cost.alerts} alert(s) would have been sent ({detail}); {cost.per_90_days} per 90 days"
        if cost.median_excess_per_day is not None:
            line += f", median excess {format_money(cost.median_excess_per_day, cfg.currency)} a day"
        summary.append(line)
    print("\n".join(summary), file=sys.stderr if args.json else sys.stdout)
    return 0


def _title(alert: Alert, tz: ZoneInfo) -> str:
    from alertd.notify.render import document  # not laid out: a replay prints titles only

    return document(alert, tz).title.removeprefix("[alertd] ")


def cmd_demo(args: argparse.Namespace) -> int:
    from alertd import demo

    logs.configure(args.log_level or "warning", args.log_format or "text")
    keep = Path(args.keep) if args.keep else None
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise UsageError(f"--keep {keep}: give a new or empty directory (the demo's database starts empty)")
    if keep is not None:
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Failed(f"--keep {keep}: {exc.strerror or exc}") from None
    return demo.run(keep)


# --- shared steps ----------------------------------------------------------------------------
