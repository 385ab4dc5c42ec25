"""The Friendli source against a real HTTP fake speaking the seed page's shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from alertd.config import Config
from alertd.model import Window
from alertd.simulate._server import Fault
from alertd.simulate.friendli import FakeFriendli
from alertd.simulate.spend import friendli_days, friendli_dollars
from alertd.sources import SourceError, build
from alertd.sources.http import RetryPolicy

NOW = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
TODAY = date(2026, 11, 21)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)
TOKEN = "flp_canary_5512"


def config(url: str, **extra: object) -> Config:
    source = {"name": "fr", "provider": "friendli", "token": TOKEN, "base_url": url, **extra}
    return Config.model_validate({"sources": [source]})


def fetch(cfg: Config, start: datetime, end: datetime):
    source = build(cfg, "fr", FAST)
    try:
        return source.fetch(Window(start, end), now=NOW)  # type: ignore[call-arg]
    finally:
        source.close()


@pytest.fixture
def days() -> dict[date, list[dict]]:
    return friendli_days(TODAY - timedelta(days=60), 61, seed=3)


@pytest.fixture
def fake(days) -> Iterator[FakeFriendli]:
    # Amounts were JSON numbers before mid-2026 and decimal strings since: serve both.
    with FakeFriendli(days, token=TOKEN, now=lambda: NOW, strings_since=TODAY - timedelta(days=20)) as server:
        yield server


def test_sixty_days_over_two_pages_of_numbers_and_strings(fake, days) -> None:
    result = fetch(config(fake.url), NOW - timedelta(days=60), NOW)
    assert len(fake.requests) == 2 and fake.requests[1].query["page"]
    first = fake.requests[0].query
    assert first == {
        "start_time": "2026-09-22T00:00:00Z",
        "end_time": "2026-11-22T00:00:00Z",  # no later than the next UTC midnight
        "bucket_width": "1d",
        "limit": "35",
        "group_by": "line_item",
    }
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert "x-friendli-team" not in fake.requests[0].headers
    assert sum(r.amount for r in result.records) == friendli_dollars(days) * 1_000_000
    assert all(r.bucket_seconds == 86400 and r.currency == "USD" for r in result.records)
    assert any(", gpu time cost" in r.line_item for r in result.records)


def test_team_is_sent_as_a_header(days) -> None:
    with FakeFriendli({}, teams={"team-9": days}, token=TOKEN, now=lambda: NOW) as server:
        result = fetch(config(server.url, team="team-9"), NOW - timedelta(days=3), NOW)
        assert server.requests[0].headers["x-friendli-team"] == "team-9"
    assert result.records


def test_start_is_kept_within_a_year(fake) -> None:
    fetch(config(fake.url), NOW - timedelta(days=500), NOW - timedelta(days=300))
    assert fake.requests[0].query["start_time"] == "2025-11-22T00:00:00Z"


def test_a_422_is_reported_with_the_providers_detail(fake) -> None:
    fake.faults.append(Fault("status", status=422))
    with pytest.raises(SourceError) as caught:
        fetch(config(fake.url), NOW - timedelta(days=2), NOW)
    assert str(caught.value).startswith("fr: HTTP 422: ")
    assert len(fake.requests) == 1


def test_429_then_success(fake) -> None:
    fake.faults.append(Fault("status", status=429, retry_after="0"))
    result = fetch(config(fake.url), NOW - timedelta(days=2), NOW)
    assert result.records and len(fake.requests) == 2


def test_a_revised_day_replaces_the_old_amounts(fake) -> None:
    fake.set_day(TODAY - timedelta(days=1), [{"total": "1.50", "quantity": 1, "unit_price": 150, "line_item": "x"}])
    result = fetch(config(fake.url), NOW - timedelta(days=1), NOW)
    yesterday = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    assert [(r.line_item, r.amount) for r in result.records if r.bucket_start == yesterday] == [("x", 1_500_000)]
    assert result.complete_buckets  # so the items no longer listed for that day go to zero
