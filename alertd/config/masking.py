"""Config errors never quote a secret: not a token, a password, a URL that may hold one, nor
anything that came from the environment (`${VAR}` is how secrets reach the file)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from alertd.config.errors import quoted

HIDDEN = "(hidden)"
SECRET_KEYS = ("token", "password", "secret", "url")  # a key ending so holds, or may hold, a secret
MIN_BARE = 8  # a secret as long as this is hidden even where a message does not quote it


def secret_values(tree: Any, substituted: Iterable[str]) -> list[str]:
    """Every string of `tree` under a secret-bearing key or in `channels:`, and what was substituted."""
    found = [*substituted]
    if isinstance(tree, dict):
        found += _strings(tree.get("channels"))
    found += _under_secret_keys(tree)
    return sorted({s for s in found if s}, key=len, reverse=True)  # longest first: a secret may hold another


def mask(lines: list[str], secrets: list[str]) -> list[str]:
    """The lines with every secret, quoted as messages quote values, replaced by (hidden)."""
    out = []
    for line in lines:
        for secret in secrets:
            for form in dict.fromkeys((repr(secret), quoted(secret), f'"{secret}"')):
                line = line.replace(form, HIDDEN)
            if len(secret) >= MIN_BARE:
                line = line.replace(secret, HIDDEN)
        out.append(line)
    return out


def _under_secret_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.lower().endswith(SECRET_KEYS):
                yield from _strings(value)
            else:
                yield from _under_secret_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _under_secret_keys(value)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
