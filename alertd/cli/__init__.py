"""The user's verbs. Thin: parse arguments, call the stages, print.

Exit status: 0 all went well, 1 a source or the store failed, 2 bad config or bad input.
Heavy modules are imported inside the verbs that need them, so `validate` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from alertd import config as configuration
from alertd.alerts.feedback import VERDICTS
from alertd.cli.common import Failed, UsageError
from alertd.cli.costs import (
    cmd_backfill,
    cmd_check,
    cmd_demo,
    cmd_import,
    cmd_replay,
    cmd_report,
    cmd_run,
    cmd_status,
    cmd_validate,
)
from alertd.cli.dashboard import cmd_dashboard
from alertd.cli.outbox import (
    cmd_deliveries,
    cmd_feedback,
    cmd_notify_test,
    cmd_silence,
    cmd_silences,
    cmd_unsilence,
)
from alertd.redact import redact


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

    dm = verb("demo", cmd_demo, "the real pipeline against a simulated provider on 127.0.0.1; alerts printed here")
    dm.add_argument(
        "--keep", metavar="DIR", help="leave the rules and the database in DIR (new or empty), for status or dashboard"
    )
    verb("check", cmd_check, "one cycle now: fetch every source, evaluate, deliver; exit 1 if anything failed")
    verb("run", cmd_run, "the daemon: poll each source on its schedule, evaluate, deliver, until SIGTERM")
    db = verb(
        "dashboard", cmd_dashboard, "serve the read-only dashboard (budgets, charts, deliveries) from the database"
    )
    db.add_argument("--listen", metavar="HOST:PORT", help="default: web.listen in the config, else 127.0.0.1:8080")
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
    fb = verb(
        "feedback",
        cmd_feedback,
        "say whether an anomaly alert was expected: expected ones stop alerting on the same shape at the same time"
        " of week or month (or, with --until, on spend up to that level until then)",
    )
    fb.add_argument("alert_id", type=int, metavar="ALERT_ID", help="the alert's number, as `alertd status` shows it")
    fb.add_argument("verdict", choices=VERDICTS)
    fb.add_argument("--until", metavar="DATE", help="a planned change: its level is normal until then")
    fb.add_argument("--note", metavar="TEXT", help="why, for whoever reads status later")
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
    r.add_argument(
        "--plot",
        metavar="FILE",
        help="also write its chart: spend per day (or month) stacked by the other keys, .svg or .png",
    )
    return parser


def _version() -> str:
    from alertd import __version__

    return __version__
