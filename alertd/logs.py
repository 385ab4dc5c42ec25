"""One line per event on stderr, secrets masked; libraries' lines (Apprise's) scrubbed of URLs too.

Under journald (stderr is the stream named by `$JOURNAL_STREAM`) each line carries a syslog
priority prefix instead of a timestamp: the journal keeps its own, and `journalctl -p err` works.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from alertd.redact import RedactingFilter

_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                # ISO 8601 in UTC, to the millisecond: what log collectors parse without being told the zone
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "msg": record.getMessage(),
                **({"exception": record.exc_text} if record.exc_text else {}),
            }
        )


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITIES.get(record.levelno, 6)}>"
        text = record.getMessage()
        if record.exc_text:  # set, and masked, by RedactingFilter
            text += "\n" + record.exc_text
        return "\n".join(prefix + line for line in text.splitlines())  # journald: one entry per line


def under_journald() -> bool:
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    elif under_journald():
        handler.setFormatter(_JournalFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Their request lines would repeat ours, and httpcore's and urllib3's traces name paths and headers.
    for name in ("httpx", "httpcore", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Apprise's "Sent JSON POST notification." repeats our "delivered"; at debug its detail is kept, scrubbed.
    logging.getLogger("apprise").setLevel(logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING)
