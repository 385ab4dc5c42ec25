"""Incidents: which events of a rule's series make one message (plain tables of events)."""

from __future__ import annotations

import pytest

from alertd.alerts.incidents import Event, gather
from alertd.model import SeriesState

H = 3600
T = 1_800_000_000 // H * H


def group(key: str) -> str:
    return key.split("/", 1)[0]


def fire(key: str, start: int, excess: int = 10) -> Event:
    return Event(key, T + start * H, T + start * H, H, False, excess)


def calm(key: str, start: int, at: int, excess: int) -> Event:
    return Event(key, T + start * H, T + at * H, H, True, excess)


@pytest.mark.parametrize(
    ("events", "messages"),
    [
        # one source, same hours: one message; another source: its own
        ([fire("a/x", 0), fire("a/y", 2), fire("b/x", 0)], [[0, 1], [2]]),
        # more than three hours after the incident's start: a new incident
        ([fire("a/x", 0), fire("a/y", 4)], [[0], [1]]),
        # the incident is over (its only event closed) before the next starts: a new one
        ([fire("a/x", 0), calm("a/x", 0, 1, 5), fire("a/y", 2)], [[0], [2]]),
    ],
)
def test_events_of_one_source_in_the_same_hours_are_one_message(events: list[Event], messages: list[list[int]]) -> None:
    told, _ = gather(events, {}, {}, group, send_resolved=False)
    assert [m.events for m in told] == messages


def test_an_event_joining_an_incident_told_before_is_silent_and_the_resolution_sums_all() -> None:
    before = {"a/x": SeriesState(open_since=T, alerted=True, incident=T, excess=30)}
    after = {"a/y": SeriesState(open_since=T + H, alerted=True)}
    told, kept = gather([fire("a/y", 1, 7)], before, after, group, send_resolved=True)
    assert told == [] and kept["a/y"].incident == T
    # a/y closes first: silent, its cost kept; a/x closes: one message with both costs
    told, kept = gather([calm("a/y", 1, 5, 12)], {**before, **kept}, {"a/y": SeriesState()}, group, True)
    assert told == [] and (kept["a/y"].incident, kept["a/y"].excess) == (T, 12)
    told, kept = gather([calm("a/x", 0, 6, 40)], {**before, **kept}, {"a/x": SeriesState()}, group, True)
    assert [(m.resolved, m.total, m.items) for m in told] == [(True, 52, 2)]
    assert all(s.incident is None and s.excess == 0 for s in kept.values())


def test_without_send_resolved_an_incident_ends_silently_and_leaves_nothing() -> None:
    before = {"a/x": SeriesState(open_since=T, alerted=True, incident=T)}
    told, kept = gather([calm("a/x", 0, 6, 40)], before, {"a/x": SeriesState()}, group, False)
    assert told == [] and kept["a/x"] == SeriesState()
