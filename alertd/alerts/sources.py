"""Blind spots: a source that has not fetched for longer than it may, and its recovery."""

from __future__ import annotations

from datetime import datetime

from alertd.config import SourceConfig, stale_after_of
from alertd.model import Alert, SourceStatus


def watch(
    source: SourceConfig,
    blind_since: datetime | None,
    failing: bool,
    last_error: str | None,
    open_blind_spot: datetime | None,
    notify: tuple[str, ...],
    now: datetime,
) -> Alert | None:
    """`blind_since`: the last successful fetch (or the first attempt, when none succeeded);
    `failing`: whether the latest fetch failed; `open_blind_spot`: the `blind_since` of a blind
    spot already alerted on and not yet recovered."""
    rule = f"source:{source.name}"
    if open_blind_spot is not None and not failing:
        status = SourceStatus(source.name, source.provider, open_blind_spot, now, None, recovered=True)
        return _alert(rule, "recovered", "info", status, notify)
    if failing and blind_since is not None and open_blind_spot is None and now - blind_since >= stale_after_of(source):
        status = SourceStatus(source.name, source.provider, blind_since, now, last_error)
        return _alert(rule, "stale", "critical", status, notify)
    return None


def _alert(rule: str, kind: str, severity: str, status: SourceStatus, notify: tuple[str, ...]) -> Alert:
    key = f"{rule}/{status.blind_since.strftime('%Y-%m-%dT%H:%M:%SZ')}/{kind}"
    return Alert(key, rule, kind, None, severity, 0, notify, status)
