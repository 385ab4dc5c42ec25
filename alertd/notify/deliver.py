"""Delivery through Apprise, one URL at a time, so that a broken target never hides the others' results.

Every URL is masked before anything is said about it (`mask`, the form the database, the CLI and the
logs show), and its secret parts are registered with `alertd.redact`: those Apprise knows of (it hides
them in `url(privacy=True)`), and every user, password, path segment, header and value that is not
one of Apprise's own options. Apprise's words about a failure are scrubbed before they are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from urllib.parse import unquote, unquote_plus

import apprise
from apprise import AppriseAsset, AppriseResultStatus, NotifyBase, NotifyFormat, NotifyType
from apprise.attachment.memory import AttachMemory
from apprise.plugins.email import NotifyEmail

from alertd.model import Message, Picture
from alertd.notify import console  # noqa: F401  (imported for its side effect: registers console://)
from alertd.notify.layout import with_picture
from alertd.redact import MASK, mask_url, register, scrub, split_url

DEFAULT_TIMEOUT = 15.0
_REASON_LEVELS = ("WARNING", "ERROR", "CRITICAL")
_NOTIFY_TYPES = {"info": NotifyType.INFO, "warning": NotifyType.WARNING, "critical": NotifyType.FAILURE}
CHART_FILE = "chart.png"


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    error: str | None  # why it failed, in Apprise's words, secrets masked


def deliver(
    url: str,
    message: Message,
    *,
    severity: str = "info",
    picture: Picture | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Result:
    """Send `message` to one Apprise URL; never raises for a failed delivery.

    `severity` (info, warning, critical) becomes Apprise's notify type: Slack and others colour by it.
    `picture` goes with it where the target shows pictures (HTML e-mail), inline in the HTML.
    """
    return _send(url, message, timeout, _NOTIFY_TYPES.get(severity, NotifyType.INFO), picture)[1]


def send_to_channel(
    urls: Sequence[str], message: Message, *, timeout: float = DEFAULT_TIMEOUT
) -> list[tuple[str, Result]]:
    """Every URL of a channel in turn: (masked URL, result) for each, for `alertd notify-test`."""
    return [_send(url, message, timeout, NotifyType.INFO) for url in urls]


def inspect(url: str) -> tuple[str, bool]:
    """`url` fit to show (the scheme, host and port, the options written and their harmless values; the
    rest masked, and registered for redaction), and whether it shows pictures."""
    plugin = _instantiate(url, _asset())
    return _mask(url, plugin), _shows_pictures(plugin)


def _shows_pictures(plugin: NotifyBase | None) -> bool:
    """An e-mail target sending HTML: it can carry a PNG inline (Apprise's `inline`, cid: references).
    Chat webhooks cannot carry one without a public URL to it: they get the dashboard's link."""
    return isinstance(plugin, NotifyEmail) and plugin.resolve_format() == NotifyFormat.HTML


def _send(
    url: str, message: Message, timeout: float, notify_type: NotifyType, picture: Picture | None = None
) -> tuple[str, Result]:
    asset = _asset()
    plugin = _instantiate(url, asset)
    masked = _mask(url, plugin)
    if plugin is None:
        return masked, Result(False, f"not a valid Apprise URL: {masked}")
    # Each plugin says which formats it takes (the URL's ?format= can choose among them): send the
    # rendering made for that format, so Apprise has nothing to convert.
    body_format = plugin.resolve_format()
    body = {NotifyFormat.HTML: message.html, NotifyFormat.MARKDOWN: message.markdown}.get(body_format, message.text)
    attach = None
    if picture is not None and _shows_pictures(plugin):
        plugin.inline = True  # shown where the HTML refers to it, not as a file to open
        attach = AttachMemory(content=picture.png, name=CHART_FILE, mimetype="image/png")
        body = with_picture(body, f"cid:{CHART_FILE}", picture.alt)
    sender = apprise.Apprise(plugin, asset=asset)
    with sender.notify(
        body=body,
        title=message.title,
        body_format=body_format,
        notify_type=notify_type,
        attach=attach,
        timeout=timeout,
    ) as result:
        if result:
            return masked, Result(True, None)
        if result.status == AppriseResultStatus.TIMEOUT:
            return masked, Result(False, f"no answer within {timeout:g} s")
        # Apprise gives each call's warnings back with its result (2.x): the last one says why.
        reasons = [entry.message for entry in result.logs() if entry.level in _REASON_LEVELS]
        return masked, Result(False, scrub(reasons[-1] if reasons else f"delivery failed ({result.status.name})"))


def _asset() -> AppriseAsset:
    # Retries are the outbox's job (it persists them across restarts); Apprise gives up at once.
    return AppriseAsset(app_id="alertd", app_desc="alertd budget alerts", default_service_retry=0)


def _instantiate(url: str, asset: AppriseAsset) -> NotifyBase | None:
    plugin = apprise.Apprise.instantiate(url, asset=asset)
    return plugin if isinstance(plugin, NotifyBase) else None


# --- masking --------------------------------------------------------------------------------

_DELIMITERS = re.compile(r"([/:@?&=#])")
_BOOLS = frozenset({"yes", "no", "true", "false", "on", "off", "1", "0", "y", "n", "enable", "disable"})
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]*)?")


def _mask(url: str, plugin: NotifyBase | None) -> str:
    """`redact.mask_url` told what Apprise knows of `url`, and every secret part of it registered."""
    parts = split_url(url)
    if parts is None:
        register(url)
        return mask_url(url)
    if plugin is None:
        # Apprise cannot parse it, so nobody can tell its host from a token (slak://T1…/): all is masked.
        register(url, *parts.secrets(host=True))
        return f"{parts.scheme}://{MASK if url.partition('://')[2] else ''}"
    options = {key for key, spec in plugin.template_args.items() if not spec.get("private")}
    secrets = _declared(plugin) | parts.secrets(options)
    # Headers (+X-Key), GET parameters (-key) and payload extras (:key) are secrets even as plain words.
    secrets |= {unquote_plus(v) for k, v in parts.query if v and unquote(k).startswith(("+", "-", ":"))}
    register(*secrets)
    host = unquote(parts.host)
    keep_host = not any(host in secret or secret in host for secret in secrets if len(secret) >= 4 or secret == host)
    decoded = ((unquote_plus(key).lower(), unquote_plus(value)) for key, value in parts.query if value is not None)
    return mask_url(url, keep_host=keep_host, shown=[(k, v) for k, v in decoded if _harmless(plugin, k, v)])


def _declared(plugin: NotifyBase) -> set[str]:
    """The values Apprise's privacy URL hides (slack://T…/, tgram://bot:token/): where it differs from the
    full URL. The full pieces of each difference count, so that no first or last character is left."""
    full, private = _DELIMITERS.split(plugin.url()), _DELIMITERS.split(plugin.url(privacy=True))
    found: set[str] = set()
    for tag, start, end, _, _ in SequenceMatcher(None, full, private, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            pieces = [p for p in full[start:end] if p and not _DELIMITERS.fullmatch(p)]
            found |= {unquote(p) for p in pieces} | {unquote("".join(full[start:end]).strip("/:@?&=#"))}
    return found - {""}


def _harmless(plugin: NotifyBase, key: str, value: str) -> bool:
    """A value of one of Apprise's own options that cannot be a secret: a yes/no, a number, a fixed choice."""
    spec = plugin.template_args.get(key, {})
    kind = "" if spec.get("private") else str(spec.get("type", ""))
    if kind == "bool":
        return value.lower() in _BOOLS
    if kind in ("int", "float"):
        return _NUMBER.fullmatch(value) is not None
    if kind.startswith("choice:"):
        return value.lower() in {str(choice).lower() for choice in spec.get("values", ())}
    return False
