"""Delivery through Apprise, one URL at a time, so that a broken target never hides the others' results.

Every URL is masked before anything is said about it: the secret parts Apprise knows of (it masks
them in `url(privacy=True)`) are registered with `alertd.redact`, so that neither our errors nor any
log line, Apprise's own included, can show them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

import apprise
from apprise import AppriseAsset, AppriseResultStatus, NotifyBase, NotifyFormat, NotifyType

from alertd.model import Message
from alertd.notify import console  # noqa: F401  (imported for its side effect: registers console://)
from alertd.redact import redact, register

DEFAULT_TIMEOUT = 15.0
_REASON_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_NOTIFY_TYPES = {"info": NotifyType.INFO, "warning": NotifyType.WARNING, "critical": NotifyType.FAILURE}


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    error: str | None  # why it failed, in Apprise's words, secrets masked


def deliver(url: str, message: Message, *, severity: str = "info", timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Send `message` to one Apprise URL; never raises for a failed delivery.

    `severity` (info, warning, critical) becomes Apprise's notify type: Slack and others colour by it.
    """
    return _send(url, message, timeout, _NOTIFY_TYPES.get(severity, NotifyType.INFO))[1]


def send_to_channel(
    urls: Sequence[str], message: Message, *, timeout: float = DEFAULT_TIMEOUT
) -> list[tuple[str, Result]]:
    """Every URL of a channel in turn: (masked URL, result) for each, for `alertd notify-test`."""
    return [_send(url, message, timeout, NotifyType.INFO) for url in urls]


def mask(url: str) -> str:
    """`url` fit to show: secrets replaced (and registered for redaction), Apprise's defaults left out."""
    return _mask(url, _instantiate(url, _asset()))


def _send(url: str, message: Message, timeout: float, notify_type: NotifyType) -> tuple[str, Result]:
    asset = _asset()
    plugin = _instantiate(url, asset)
    masked = _mask(url, plugin)
    if plugin is None:
        return masked, Result(False, f"not a valid Apprise URL: {masked}")
    # Each plugin says which formats it takes (the URL's ?format= can choose among them): send the
    # rendering made for that format, so Apprise has nothing to convert.
    body_format = plugin.resolve_format()
    body = {NotifyFormat.HTML: message.html, NotifyFormat.MARKDOWN: message.markdown}.get(body_format, message.text)
    sender = apprise.Apprise(plugin, asset=asset)
    with sender.notify(
        body=body, title=message.title, body_format=body_format, notify_type=notify_type, timeout=timeout
    ) as result:
        if result:
            return masked, Result(True, None)
        if result.status == AppriseResultStatus.TIMEOUT:
            return masked, Result(False, f"no answer within {timeout:g} s")
        # Apprise gives each call's warnings back with its result (2.x): the last one says why.
        reasons = [entry.message for entry in result.logs() if entry.level in _REASON_LEVELS]
        return masked, Result(False, redact(reasons[-1] if reasons else f"delivery failed ({result.status.name})"))


def _asset() -> AppriseAsset:
    # Retries are the outbox's job (it persists them across restarts); Apprise gives up at once.
    return AppriseAsset(app_id="alertd", app_desc="alertd budget alerts", default_service_retry=0)


def _instantiate(url: str, asset: AppriseAsset) -> NotifyBase | None:
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    return plugin if isinstance(plugin, NotifyBase) else None


# --- masking --------------------------------------------------------------------------------

_URL_PARTS = re.compile(r"[/:@?&=#]")
_PASSWORD = re.compile(r"^([^:/?#]+://[^:/@?#]*:)([^@/?#]+)(@)")
_LONG_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,}")


def _mask(url: str, plugin: NotifyBase | None) -> str:
    if plugin is None:
        masked, secrets = _guess(url)
    else:
        masked, secrets = _shorten(plugin.url(privacy=True), url), _declared(plugin, url)
    register(*secrets)
    return masked


def _declared(plugin: NotifyBase, url: str) -> set[str]:
    """The values Apprise's privacy URL hides: the pieces where it differs from the full URL."""
    full, private = _URL_PARTS.split(plugin.url()), _URL_PARTS.split(plugin.url(privacy=True))
    if len(full) != len(private):  # a mask with a delimiter in it: fall back to guessing
        return _guess(url)[1]
    return {unquote(part) for part, shown in zip(full, private, strict=True) if part != shown}


def _guess(url: str) -> tuple[str, set[str]]:
    """For what Apprise cannot parse: the password of `user:password@` and long random-looking tokens."""
    secrets: set[str] = set()

    def hide(value: str) -> str:
        secrets.add(unquote(value))
        return "****"

    masked = _PASSWORD.sub(lambda m: m.group(1) + hide(m.group(2)) + m.group(3), url)
    masked = _LONG_TOKEN.sub(lambda m: hide(m.group(0)) if _random_looking(m.group(0)) else m.group(0), masked)
    return masked, secrets


def _random_looking(token: str) -> bool:
    return any(c.isdigit() for c in token) or (token.lower() != token and token.upper() != token)


def _shorten(private: str, original: str) -> str:
    """Apprise's canonical URL spells out every option with its default: keep those the user wrote."""
    wrote = {key for key, _ in parse_qsl(original.partition("?")[2], keep_blank_values=True)}
    base, _, query = private.partition("?")
    kept = "&".join(p for p in query.split("&") if p.partition("=")[0] in wrote)
    return f"{base}?{kept}" if kept else base
