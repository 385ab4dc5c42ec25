"""Which budget alerts go out: plain tables of (spend, forecast, already sent) → alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertd.alerts.budget import alert_key, decide, forecast_may_fire, severity
from alertd.config import Budget
from alertd.model import BudgetStatus, Forecast, Sent

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
START = datetime(2026, 11, 1, tzinfo=UTC)
D = Decimal


def budget(**extra: object) -> Budget:
    return Budget.model_validate(
        {"name": "m", "amount": 1000, "period": "month", "thresholds": [50, 80, 100, 120], "notify": ["ops"], **extra}
    )


def status(spent: str, projected: str | None = None) -> BudgetStatus:
    forecast = Forecast(int(D(projected) * 10**6), None, "seasonal") if projected else None
    return BudgetStatus(
        "m", "USD", 1000 * 10**6, int(D(spent) * 10**6), "month", START, datetime(2026, 12, 1, tzinfo=UTC),
        NOW, forecast, 0, (), (), (),
    )  # fmt: skip


def sent(kind: str, threshold: int, repeat: int = 0, hours_ago: int = 1) -> Sent:
    return Sent(kind, D(threshold), repeat, NOW - timedelta(hours=hours_ago))


@pytest.mark.parametrize(
    ("spent", "already", "expected"),
    [
        ("100", [], []),
        ("499.99", [], []),
        ("500", [], [("budget", 50)]),
        ("799", [], [("budget", 50)]),
        ("801", [], [("budget", 80)]),  # a first look past 50 and 80 says 80, once
        ("1500", [], [("budget", 120)]),
        ("801", [sent("budget", 50)], [("budget", 80)]),
        ("801", [sent("budget", 80)], []),
        ("1001", [sent("budget", 80)], [("budget", 100)]),  # escalation
        ("1300", [sent("budget", 100)], [("budget", 120)]),
        ("700", [sent("budget", 80)], []),  # revised down, then...
        ("850", [sent("budget", 80)], []),  # ...back up: 80 fired once this period already
    ],
)
def test_thresholds_fire_once_highest_first(spent: str, already: list[Sent], expected: list[tuple[str, int]]) -> None:
    alerts = decide(budget(), status(spent), already, NOW)
    assert [(a.kind, int(a.threshold)) for a in alerts] == expected


@pytest.mark.parametrize(
    ("spent", "projected", "forecast", "already", "expected"),
    [
        ("300", "900", [100], [], []),
        ("300", "1100", [100], [], [("forecast", 100)]),
        ("300", "1100", [100], [sent("forecast", 100)], []),
        ("1010", "1400", [100], [sent("budget", 100)], []),  # actual already crossed 100: no forecast for it
        ("300", "1300", [100, 120], [], [("forecast", 120)]),
        ("300", "1300", [100, 120], [sent("forecast", 100)], [("forecast", 120)]),
        ("600", "1100", [], [sent("budget", 50)], []),  # no forecast thresholds configured
    ],
)
def test_forecast_alerts(spent, projected, forecast, already, expected) -> None:
    alerts = decide(budget(forecast=forecast), status(spent, projected), already, NOW)
    assert [(a.kind, int(a.threshold)) for a in alerts] == expected


@pytest.mark.parametrize(
    ("spent", "forecast", "already", "expected"),
    [
        ("300", [100], [], True),
        ("300", [], [], False),  # no forecast thresholds
        ("1010", [100], [sent("budget", 100)], False),  # actual spend is past every one
        ("300", [100], [sent("forecast", 100)], False),  # already forecast
        ("300", [100, 120], [sent("forecast", 100)], True),  # 120 may still be
        ("850", [80, 120], [], True),
    ],
)
def test_a_forecast_is_worth_projecting_only_where_it_may_fire(spent, forecast, already, expected) -> None:
    assert forecast_may_fire(budget(forecast=forecast), status(spent), already) is expected


@pytest.mark.parametrize(
    ("into", "history", "horizon", "expected"),
    [
        (timedelta(days=2), None, None, True),  # not projected yet: worth projecting to see its history
        (timedelta(minutes=30), None, None, False),  # not a complete hour of the period yet
        (timedelta(days=2), 24, timedelta(days=2), False),  # a day of history: wait for a tenth
        (timedelta(days=2), 167, timedelta(days=2), False),
        (timedelta(days=2), 168, timedelta(days=2), True),  # a week of shape: from the first complete hour
        (timedelta(hours=1), 8760, timedelta(hours=1), True),
        (timedelta(hours=5), 8760, timedelta(0), False),  # no complete hour of this period's data yet
        (timedelta(days=3, hours=1), 24, timedelta(days=3), True),  # past the first tenth
    ],
)
def test_forecast_settles_from_the_first_hour_with_a_week_of_history(
    into: timedelta, history: int | None, horizon: timedelta | None, expected: bool
) -> None:
    forecast = None if history is None else Forecast(1500 * 10**6, None, "seasonal", history, START + horizon)
    early = replace(status("300"), now=START + into, forecast=forecast)
    assert forecast_may_fire(budget(forecast=[100]), early, []) is expected


@given(
    spent=st.integers(0, 2000),
    projected=st.integers(0, 3000),
    forecast=st.lists(st.integers(50, 150), max_size=3),
    already=st.lists(st.tuples(st.sampled_from(["budget", "forecast"]), st.integers(50, 150)), max_size=3),
)
def test_a_forecast_alert_comes_only_where_one_may_fire(spent, projected, forecast, already) -> None:
    """The budget pass skips the projection where `forecast_may_fire` is false: it must never
    hide an alert that the projection would have brought."""
    b, done = budget(forecast=forecast), [sent(kind, threshold) for kind, threshold in already]
    alerts = decide(b, status(str(spent), str(projected)), done, NOW)
    if any(a.kind == "forecast" for a in alerts):
        assert forecast_may_fire(b, status(str(spent)), done)


@pytest.mark.parametrize(
    ("already", "expected_repeat"),
    [
        ([sent("budget", 80, hours_ago=23)], None),
        ([sent("budget", 80, hours_ago=24)], 1),
        ([sent("budget", 80, hours_ago=50), sent("budget", 80, repeat=1, hours_ago=25)], 2),
        ([sent("budget", 80, hours_ago=50), sent("budget", 80, repeat=1, hours_ago=2)], None),
    ],
)
def test_repeat_resends_the_still_crossed_highest(already: list[Sent], expected_repeat: int | None) -> None:
    alerts = decide(budget(repeat="1d"), status("850"), already, NOW)
    assert [a.repeat for a in alerts] == ([] if expected_repeat is None else [expected_repeat])
    if alerts:
        assert alerts[0].key.endswith(f"/repeat-{expected_repeat}")


def test_keys_are_stable_and_distinct() -> None:
    a = alert_key("m", START, "budget", D("80.0"), 0)
    assert a == alert_key("m", START, "budget", D(80), 0) == "m/2026-11-01T00:00Z/budget/80"
    assert a != alert_key("m", START, "forecast", D(80), 0)
    assert a != alert_key("m", START + timedelta(days=30), "budget", D(80), 0)


@pytest.mark.parametrize(
    ("kind", "threshold", "expected"),
    [("budget", 50, "info"), ("budget", 80, "warning"), ("budget", 100, "critical"), ("budget", 120, "critical"),
     ("forecast", 90, "info"), ("forecast", 100, "warning")],
)  # fmt: skip
def test_severity(kind: str, threshold: int, expected: str) -> None:
    assert severity(kind, D(threshold)) == expected
