"""Secrets never leave the process: every message that may be shown passes through here.

Two tools. `register` and `redact` mask known secret values wherever they appear. `mask_url` is the one
form in which alertd shows a URL: the scheme, host and port, the names of the options, and only those
option values its caller vouches for; everything else (user, password, each path segment, the other
values) becomes `***`, never a first or last character of it. Text from libraries (Apprise, httpx,
urllib3), which name URLs in shapes nobody registered, gets both: `scrub`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_plus

MASK = "***"
_secrets: set[str] = set()

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_HOST = re.compile(r"[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]")  # a name or an address, never a token with ':' or '@'
_PLAIN_WORD = re.compile(r"[a-z]{1,8}")  # "hooks", "services", "ping": masked in URLs, too common to mask in text
_END = r"(?=[.,;:!?]*(?:[\s'\"`<>()]|$))"  # a sentence's full stop or comma after a URL is not part of it
_URL_IN_TEXT = re.compile(rf"([A-Za-z][A-Za-z0-9+.-]*)://[^\s'\"`<>()]*?{_END}")
_PATH_IN_TEXT = re.compile(rf"(?<![\w.:/%~-])/[^\s'\"`<>()]+?{_END}")  # "POST /hooks/T0K3N HTTP/1.1", "url: /x?k=v"
_FIRST_AND_LAST = re.compile(r"(?<![\w.])\S\.\.\.\S(?!\w)")  # Apprise's own mask, "T...2": still two characters
_WEB = ("http", "https")  # in free text only these hosts are known to be hosts: slack://T1…/ puts a token there


def register(*values: str) -> None:
    """Remember secret values (tokens, URLs with passwords) to mask wherever they appear."""
    for value in values:
        if value and len(value) >= 4:  # masking "ab" would mangle ordinary words
            _secrets.add(value)
            _secrets.add(quote(value, safe=""))  # as it appears inside a URL


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub(text: str) -> str:
    """`redact`, then every URL, absolute path and Apprise mask in `text` masked: for what libraries say."""
    text = _FIRST_AND_LAST.sub(MASK, redact(text))
    text = _URL_IN_TEXT.sub(lambda m: mask_url(m[0], keep_host=m[1].lower() in _WEB), text)
    return _PATH_IN_TEXT.sub(lambda m: _mask_tail(m[0], ()), text)


@dataclass(frozen=True, slots=True)
class UrlParts:
    """A URL cut where the secrets may be, each piece as written (still percent-encoded)."""

    scheme: str
    userinfo: tuple[str, ...]  # (user,) or (user, password); () without an '@'
    host: str
    port: str
    path: tuple[str, ...]  # the segments between slashes
    query: tuple[tuple[str, str | None], ...]  # (key, value); None for a key without '='
    fragment: str | None

    def secrets(self, options: Collection[str] = (), *, host: bool = False) -> set[str]:
        """The pieces to register, decoded and as written: the password always; the user, the path segments,
        the values of keys not in `options` (and the host if `host`) unless they read as plain words, which
        are masked in the URL only."""
        password = self.userinfo[1:2]
        others = [*self.userinfo[:1], *self.path, *([self.host] if host else [])]
        others += [value for key, value in self.query if value and unquote_plus(key).lower() not in options]
        return _forms(password) | {s for s in _forms(others) if not _PLAIN_WORD.fullmatch(s)}


def _forms(pieces: Collection[str]) -> set[str]:
    return {form for piece in pieces for form in (piece, unquote(piece), unquote_plus(piece)) if form}


def split_url(url: str) -> UrlParts | None:
    """`url` in parts; None without a `scheme://`."""
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return None
    rest, has_fragment, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]"):  # [::1] alone has no port
        name, colon, digits = hostport.rpartition(":")
        if colon and digits.isdigit():
            host, port = name, digits
    pairs = tuple((k, v if eq else None) for k, eq, v in (p.partition("=") for p in query.split("&") if p))
    return UrlParts(
        scheme=scheme,
        userinfo=tuple(userinfo.split(":", 1)) if at else (),
        host=host,
        port=port,
        path=tuple(path.split("/")) if slash else (),
        query=pairs,
        fragment=fragment if has_fragment else None,
    )


def mask_url(url: str, *, keep_host: bool = True, shown: Collection[tuple[str, str]] = ()) -> str:
    """`url` fit to show. `shown`: the (key, value) pairs, decoded, whose value is harmless (a yes/no, a
    number, one of fixed choices); `keep_host=False` when the host itself may be a secret."""
    parts = split_url(url)
    if parts is None:
        return MASK if url else ""
    host = parts.host if keep_host and _HOST.fullmatch(parts.host) else MASK if parts.host else ""
    auth = ":".join(MASK for _ in parts.userinfo) + "@" if parts.userinfo else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{auth}{host}{port}{_mask_tail(url[len(parts.scheme) + 3 :], shown, netloc=True)}"


def _mask_tail(text: str, shown: Collection[tuple[str, str]], *, netloc: bool = False) -> str:
    """The path, query and fragment of `text` masked (after its netloc when `netloc`)."""
    rest, has_fragment, _ = text.partition("#")
    rest, has_query, query = rest.partition("?")
    path = rest.partition("/")[1:] if netloc else ("", rest)
    segments = "".join(path).split("/")
    masked_path = "/".join(MASK if segment else "" for segment in segments) if "".join(path) else ""
    pairs = []
    for pair in query.split("&") if query else ():
        key, eq, value = pair.partition("=")
        if not eq:
            pairs.append(MASK)  # a bare word there may be a token
        else:
            shows = (unquote_plus(key).lower(), unquote_plus(value)) in shown
            pairs.append(f"{key}={value if shows else MASK}")
    return masked_path + (has_query and "?" + "&".join(pairs)) + (has_fragment and "#" + MASK)


class RedactingFilter(logging.Filter):
    """Masks secrets in the final text of every log record; libraries' records are scrubbed as well."""

    def filter(self, record: logging.LogRecord) -> bool:
        clean = redact if record.name == "alertd" or record.name.startswith("alertd.") else scrub
        message = record.getMessage()
        cleaned = clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:  # formatters reuse exc_text: mask it once here
            record.exc_text = clean(logging.Formatter().formatException(record.exc_info))
        return True
