"""The burn-up chart (pure): valid SVG for any status, a point per day, exact values, escaped words."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alertd.dashboard.burnup import burnup_svg, daily_bars_svg
from alertd.model import BudgetStatus, Forecast

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 1, tzinfo=TZ).astimezone(UTC)  # March: the clocks change on the 29th
END = datetime(2026, 4, 1, tzinfo=TZ).astimezone(UTC)
THRESHOLDS = (Decimal(50), Decimal(80), Decimal(100))


def status(
    daily: list[int], amount: int = 1_000_000_000, projected: int | None = None, name: str = "b"
) -> BudgetStatus:
    return BudgetStatus(
        rule=name,
        currency="USD",
        amount=amount,
        spent=sum(daily),
        period="month",
        period_start=START,
        period_end=END,
        now=START + timedelta(days=len(daily) - 0.5) if daily else START,
        forecast=None if projected is None else Forecast(projected, None, "run-rate"),
        previous_spent=sum(daily) // 2,
        contributors=(),
        drivers=(),
        daily=tuple(daily),
    )


def test_a_point_per_day_with_its_exact_running_total() -> None:
    svg = burnup_svg(status([1_234_560_000, 10_000, 0], projected=5_000_000_000), THRESHOLDS, TZ)
    root = ET.fromstring(svg)
    days = [e for e in root.iter("{http://www.w3.org/2000/svg}circle")]
    assert [d.get("data-day") for d in days] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [d.get("data-spent") for d in days] == ["1234.56", "1234.57", "1234.57"]
    assert "$1,234.56 so far" in svg and 'data-projected="5000.00"' in svg
    assert "b: $1,234.57 of $1,000.00 (123.5%) so far, forecast $5,000.00" in root.get("aria-label", "")
    assert len(re.findall(r'class="threshold"', svg)) == 2 and svg.count('class="budget"') == 1


def test_words_from_a_hostile_name_stay_words() -> None:
    svg = burnup_svg(status([5], name='"><script>x</script>'), THRESHOLDS, TZ)
    root = ET.fromstring(svg)
    assert not list(root.iter("script")) and not list(root.iter("{http://www.w3.org/2000/svg}script"))
    assert root.get("aria-label", "").startswith('"><script>x</script>: ')


@pytest.mark.parametrize("daily", [[], [0], [0] * 31, [10**15] * 31])
def test_edge_periods_draw(daily: list[int]) -> None:
    for small in (False, True):
        ET.fromstring(burnup_svg(status(daily), THRESHOLDS, TZ, small=small))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-(10**12), 10**13), max_size=31),
    st.integers(1, 10**14),
    st.none() | st.integers(-(10**12), 10**15),
)
def test_any_status_gives_valid_svg_inside_its_box(daily: list[int], amount: int, projected: int | None) -> None:
    svg = burnup_svg(status(daily, amount, projected), THRESHOLDS, TZ)
    root = ET.fromstring(svg)
    for circle in root.iter("{http://www.w3.org/2000/svg}circle"):
        assert 0 <= float(circle.get("cx", "-1")) <= 640


def test_a_bar_per_day_against_the_even_share() -> None:
    svg = daily_bars_svg(status([31_000_000, 0, -5_000_000]), TZ)
    bars = list(ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}rect"))
    assert [b.get("data-spent") for b in bars] == ["31.00", "0.00", "-5.00"]
    assert all(float(b.get("height", "-1")) >= 0 for b in bars)  # a credit draws no bar below the axis
    assert "an even share of the budget is $32.26 a day" in svg  # $1,000 over March's 31 days
