"""One message per incident: the line items of one source whose anomalies start within the same
few hours went off together (one deploy, one runaway job), so they are told together.

An incident is named by its group (the source of a `by: line_item` rule's series; any other
series is a group of its own) and its start, the start of its first event. An event of the group
starting within `span` of an incident's start joins it while the incident is open: said in the
incident's message when they are decided in the same evaluation, silent when the message went
out before. The incident is over when its last event closes; with `send_resolved`, one message
then says what all its events cost together. Between evaluations the series' states carry it:
an open event its incident, a closed event of an open incident its incident and its cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from alertd.model import SeriesState
from alertd.rules.series import DAY, HOUR

WITHIN = 3 * HOUR  # hourly events starting this close to an incident's start are the incident
Name = tuple[str, int]  # (group, start) of an incident
E = TypeVar("E")


def span(step: int) -> int:
    """How close to an incident's start an event must start to join it (daily: the next day)."""
    return DAY if step >= DAY else WITHIN


@dataclass(frozen=True, slots=True)
class Event:
    """An event of one series opening (alerted) or closing, at the end of bucket `at`."""

    key: str  # the series
    start: int  # the event's first bucket
    at: int  # the bucket the lifecycle said it at
    step: int
    resolved: bool
    excess: int  # micro-units: so far, or in total when resolved


@dataclass(slots=True)
class Message(Generic[E]):
    """What to send: the events in one message (from `gather`: indices into the events given)."""

    events: list[E]
    incident: int  # its start
    resolved: bool
    total: int = 0  # resolved: what every event of the incident cost
    items: int = 1  # the incident's series (resolved: all of them, told now or before)


def gather(
    events: Sequence[Event],
    before: Mapping[str, SeriesState],
    after: Mapping[str, SeriesState],
    group: Callable[[str], str],
    send_resolved: bool,
) -> tuple[list[Message[int]], dict[str, SeriesState]]:
    """The messages `events` make, and the series states to keep instead of `after` (what the
    lifecycle left). `before`: every series' state at the start of the evaluation; `group`: a
    series' group (its source, or the series itself)."""
    incident_of = {k: s.incident for k, s in before.items() if s.incident is not None}
    opened: dict[Name, set[str]] = {}  # an incident's open events
    closed: dict[Name, set[str]] = {}  # ... and its closed ones
    for key, state in before.items():
        if state.incident is not None:
            into = opened if state.open_since is not None else closed
            into.setdefault((group(key), state.incident), set()).add(key)
    cost = {k: s.excess for k, s in before.items() if s.incident is not None and s.open_since is None}
    fresh: dict[Name, Message[int]] = {}  # fire messages of this evaluation
    resolving: dict[Name, list[int]] = {}
    messages: list[Message[int]] = []
    ended: set[Name] = set()
    for n in sorted(range(len(events)), key=lambda n: (events[n].at, n)):
        event = events[n]
        if not event.resolved:
            name = _joinable(event, group(event.key), opened)
            if name is None:
                name = (group(event.key), event.start)
                fresh[name] = Message([], event.start, False)
                messages.append(fresh[name])
            if name in fresh:
                fresh[name].events.append(n)
            incident_of[event.key] = name[1]
            opened.setdefault(name, set()).add(event.key)
            continue
        name = (group(event.key), incident_of.get(event.key, event.start))
        opened.get(name, set()).discard(event.key)
        closed.setdefault(name, set()).add(event.key)
        cost[event.key] = event.excess
        resolving.setdefault(name, []).append(n)
        if not opened.get(name):
            ended.add(name)
            fresh.pop(name, None)
            if send_resolved:
                total = sum(cost.get(k, 0) for k in closed[name])
                messages.append(Message(resolving[name], name[1], True, total, len(closed[name])))
    kept = dict(after)
    for key, state in after.items():
        if state.open_since is not None and key in incident_of:
            kept[key] = replace(state, incident=incident_of[key])
    for name, keys in closed.items():
        for key in keys:
            state = kept.get(key) or before.get(key) or SeriesState()
            if state.open_since is None:
                mine = (name[1], cost.get(key, 0)) if name not in ended else (None, 0)
                kept[key] = replace(state, incident=mine[0], excess=mine[1])
    return messages, kept


def _joinable(event: Event, group: str, opened: Mapping[Name, set[str]]) -> Name | None:
    """The open incident of `group` (`event`'s) that `event` started close enough to, if any."""
    within = span(event.step)
    for (of, start), keys in opened.items():
        if of == group and abs(event.start - start) <= within and keys:
            return of, start
    return None
