"""`alertd dashboard`: the pages, served straight from the database (and feedback taken)."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from alertd.cli.common import Failed, UsageError, load, settings_of


def cmd_dashboard(args: argparse.Namespace) -> int:
    from alertd import config as configuration
    from alertd.config.models import Web
    from alertd.dashboard.server import listen, url_of
    from alertd.dashboard.writes import takes_feedback
    from alertd.store import Store, StoreError

    settings = settings_of(args)
    loaded = load(args)
    cfg = loaded.config
    try:  # bad input (exit 2) before a missing database (exit 1)
        host, port = Web(listen=args.listen).address if args.listen else (cfg.web or Web()).address
    except ValueError as exc:
        raise UsageError(f"--listen: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None  # type: ignore[attr-defined]
    path = Path(settings.database or cfg.database or "")
    configuration.check_database(loaded, path, named_by="ALERTD_DATABASE" if settings.database else None)
    try:
        Store(path, cfg.tz, read_only=True).close()  # say now, not at the first page, if it cannot be read
    except StoreError as exc:
        raise Failed(str(exc)) from None

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server = listen(lambda: cfg, path, host, port)
    except OSError as exc:
        raise Failed(f"cannot listen on {args.listen or (cfg.web or Web()).listen}: {exc.strerror or exc}") from None
    writes = "feedback on anomaly alerts taken" if takes_feedback(cfg.web, host) else "read-only"
    print(f"dashboard at {url_of(server)} ({writes}; Ctrl-C ends it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
