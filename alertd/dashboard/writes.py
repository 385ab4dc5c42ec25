"""The dashboard's one write: feedback on an anomaly alert, posted from its series page.

It is taken only where a stranger cannot send it. The dashboard must listen on loopback or ask
for auth. Each form carries the server's token, which a page of another site cannot read, so it
cannot forge the post. Without auth the request must also name a loopback host or the public
URL's: a page whose own name another site re-points at 127.0.0.1 gets nothing."""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from alertd.alerts.feedback import VERDICTS, planned_until
from alertd.config import Config
from alertd.config.models import Web
from alertd.store import Store
from alertd.store.feedback import NotAnAnomaly

FORM_LIMIT = 4096  # bytes of a posted form: an id, a verdict, a date and a note
NOTE_LIMIT = 500  # characters of a note


class Refused(Exception):
    """A post not taken: its HTTP status and why, in plain words."""

    def __init__(self, status: HTTPStatus, why: str, back: str | None = None) -> None:
        super().__init__(why)
        self.status, self.back = status, back


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether this dashboard takes feedback, and from whom."""

    token: str | None  # in every form; None: no feedback here (neither loopback nor auth)
    hosts: frozenset[str] | None  # Host names a post may give besides loopback; None: any (auth decides)

    @classmethod
    def of(cls, web: Web | None, host: str) -> Gate:
        if not takes_feedback(web, host):
            return cls(None, None)
        if web is not None and web.auth is not None:
            return cls(secrets.token_urlsafe(32), None)
        public = urlsplit(web.public_url).hostname if web and web.public_url else None
        return cls(secrets.token_urlsafe(32), frozenset([public] if public else []))

    def check(self, host: str | None, token: str) -> None:
        if self.token is None:
            raise Refused(HTTPStatus.FORBIDDEN, "this dashboard takes feedback only on loopback or with auth")
        name = urlsplit(f"//{host or ''}").hostname or ""
        if self.hosts is not None and name not in self.hosts and not _loopback(name):
            raise Refused(HTTPStatus.FORBIDDEN, "the request names a host this dashboard is not")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            raise Refused(HTTPStatus.FORBIDDEN, "the form is not this dashboard's (reload the page and send it again)")


def take(gate: Gate, host: str | None, body: bytes, config: Config, database: Path, now: datetime) -> str:
    """Record the feedback `body` (a urlencoded form) says; the page to go back to."""
    try:
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True, max_num_fields=8).items()}
    except (UnicodeDecodeError, ValueError):
        raise Refused(HTTPStatus.BAD_REQUEST, "the form could not be read") from None
    gate.check(host, form.get("token", ""))
    rule, series = form.get("rule", ""), form.get("series", "")
    back = f"/anomaly/{quote(rule, safe='')}?series={quote(series, safe='')}" if rule and series else "/"
    verdict, note = form.get("verdict", ""), form.get("note", "").strip() or None
    if not re.fullmatch(r"[0-9]{1,18}", form.get("alert", "")):
        raise Refused(HTTPStatus.BAD_REQUEST, "which alert? The form names none", back)
    if verdict not in VERDICTS:
        raise Refused(HTTPStatus.BAD_REQUEST, f"the verdict is one of {' or '.join(VERDICTS)}", back)
    if note is not None and len(note) > NOTE_LIMIT:
        raise Refused(HTTPStatus.BAD_REQUEST, f"a note is at most {NOTE_LIMIT} characters", back)
    try:
        until = planned_until(form.get("until"), verdict, now, config.tz)
    except ValueError as exc:
        raise Refused(HTTPStatus.BAD_REQUEST, f"until: {exc}", back) from None
    if not database.exists():  # gone since the server started: say so rather than make an empty one
        raise Refused(HTTPStatus.SERVICE_UNAVAILABLE, f"no database at {database}", back)
    with Store(database, config.tz) as store:
        try:
            store.feedback.record(int(form["alert"]), verdict, until, note, now)
        except NotAnAnomaly as exc:
            raise Refused(HTTPStatus.BAD_REQUEST, str(exc), back) from None
    return back


def takes_feedback(web: Web | None, host: str) -> bool:
    """Whether a dashboard listening on `host` takes feedback: with auth, or on loopback."""
    return (web is not None and web.auth is not None) or _loopback(host)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
