"""`console://`: an Apprise scheme that prints a notification to stdout.

For trying rules out and for `alertd notify-test` on a terminal. Importing this module registers
the scheme with Apprise (once per process; deliver.py imports it).
"""

from __future__ import annotations

import sys
from typing import Any

from apprise import NotifyFormat
from apprise.decorators import notify


# Declaring plain text makes Apprise hand us the terminal rendering rather than Markdown or HTML.
@notify(on="console", name="alertd console", body_format=NotifyFormat.TEXT)
def print_notification(body: str, title: str, *args: Any, **kwargs: Any) -> bool:
    out = sys.stdout  # looked up per call, so that redirection (and pytest's capsys) is honoured
    out.write(f"{title}\n{body}\n" if title else f"{body}\n")
    out.flush()
    return True
