"""Whether Apprise can use each channel URL. Only `validate` and the daemon (at a reload) ask:
Apprise takes ~0.3 s to load its plugins, which `check` and `status` should not pay."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from alertd.config.yaml_tree import position

_checking: ContextVar[bool] = ContextVar("alertd_checking_channel_urls", default=False)


@contextmanager
def checking_channel_urls() -> Iterator[None]:
    """Loads inside this block also check that Apprise can use every channel URL."""
    reset = _checking.set(True)
    try:
        yield
    finally:
        _checking.reset(reset)


def channel_url_errors(tree: dict[str, Any], where: str, missing: list[str]) -> list[str]:
    """One error per URL Apprise cannot use, at its line; the URL is not quoted (it holds secrets).
    A URL with a `${VAR}` left unset (`validate --allow-missing-env`) cannot be judged and is skipped."""
    channels = tree.get("channels")
    if not _checking.get() or not isinstance(channels, dict):
        return []
    import apprise

    from alertd.notify import console  # noqa: F401  alertd's own console:// scheme, registered on import

    errors = []
    log = logging.getLogger("apprise")
    quiet, log.disabled = log.disabled, True  # Apprise logs the URL it cannot use, secrets and all
    try:
        for name, urls in channels.items():
            items = list(enumerate(urls)) if isinstance(urls, list) else [(None, urls)]
            for i, url in items:
                if not isinstance(url, str) or any(f"${{{var}}}" in url for var in missing) or _usable(apprise, url):
                    continue
                pos = position(channels, name) if i is None else position(urls, i)
                label = f"channels.{name}" if i is None else f"channels.{name}[{i}]"
                errors.append(
                    f"{where}:{pos}: {label}: Apprise cannot use this URL (an unknown scheme, or a part of it "
                    "missing or malformed); the URL is not shown, as it may hold a secret"
                )
    finally:
        log.disabled = quiet
    return errors


def _usable(apprise: Any, url: str) -> bool:
    try:
        return apprise.Apprise.instantiate(url) is not None
    except Exception:  # a plugin's own parsing, on whatever the file holds: any failure means unusable
        return False
