"""A budget's charts (pure): valid SVG and a PNG that decodes for any status, a point per day,
exact values, the previous period's days and the forecast's range, escaped words."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from alertd.charts.burnup import burnup, daily_bars, period_bars
from alertd.charts.png import DENSITY, png
from alertd.charts.scene import HEIGHT, STYLES, WIDTH
from alertd.charts.svg import svg
from alertd.model import BudgetStatus, Forecast

TZ = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 1, tzinfo=TZ).astimezone(UTC)  # March: the clocks change on the 29th
END = datetime(2026, 4, 1, tzinfo=TZ).astimezone(UTC)
THRESHOLDS = (Decimal(50), Decimal(80), Decimal(100))
SVG = "{http://www.w3.org/2000/svg}"


def status(
    daily: list[int],
    amount: int = 1_000_000_000,
    projected: int | None = None,
    name: str = "b",
    previous: list[int] | None = None,
    band: tuple[int, int] | None = None,
) -> BudgetStatus:
    before = previous if previous is not None else [d // 2 for d in daily]
    return BudgetStatus(
        rule=name,
        currency="USD",
        amount=amount,
        spent=sum(daily),
        period="month",
        period_start=START,
        period_end=END,
        now=START + timedelta(days=len(daily) - 0.5) if daily else START,
        forecast=None
        if projected is None
        else Forecast(projected, None, "seasonal", low=band and band[0], high=band and band[1]),
        previous_spent=sum(before[: len(daily)]),
        contributors=(),
        drivers=(),
        daily=tuple(daily),
        previous_known=any(before),
        previous_daily=tuple(before),
    )


def chart_svg(s: BudgetStatus, small: bool = False) -> ET.Element:
    return ET.fromstring(svg(burnup(s, THRESHOLDS, TZ, small=small)))


def test_a_point_per_day_with_its_exact_running_total() -> None:
    text = svg(burnup(status([1_234_560_000, 10_000, 0], projected=5_000_000_000), THRESHOLDS, TZ))
    root = ET.fromstring(text)
    days = list(root.iter(f"{SVG}circle"))
    assert [d.get("data-day") for d in days] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert [d.get("data-spent") for d in days] == ["1234.56", "1234.57", "1234.57"]
    assert "$1,234.56 so far" in text and 'data-projected="5000.00"' in text
    assert "b: $1,234.57 of $1,000.00 (123.5%) so far, forecast $5,000.00" in root.get("aria-label", "")
    lines = [e.get("class") for e in root.iter(f"{SVG}line") if e.get("data-legend") is None]
    assert lines.count("threshold") == 2 and lines.count("budget") == 1
    assert [e.get("data-legend") for e in root.iter(f"{SVG}line") if e.get("data-legend")] == [
        "spent",
        "budget",
        "forecast",
        "previous period",
    ]


def test_the_previous_period_is_drawn_day_by_day_at_the_same_offsets() -> None:
    # March has 31 days; a previous period of 28 (February) stops at its 28th day.
    root = chart_svg(status([10_000_000] * 5, previous=[1_000_000] * 28))
    (line,) = [e for e in root.iter(f"{SVG}polyline") if e.get("class") == "previous"]
    points = line.get("points", "").split()
    assert len(points) == 29 and line.get("data-total") == "28.00"  # from zero, then a point per day
    xs = [float(p.split(",")[0]) for p in points]
    days = [float(c.get("cx", "")) for c in root.iter(f"{SVG}circle")]
    assert xs[1:5] == days[:4]  # the same day's end, the same x (the fifth point is today's: now)
    assert "the previous period: $5.00 at this point, $28.00 in all" in ET.tostring(root, encoding="unicode")
    assert not [e for e in chart_svg(status([5], previous=[0] * 28)).iter() if e.get("class") == "previous"]


def test_the_forecast_range_is_a_band_from_now_to_the_period_end() -> None:
    root = chart_svg(status([100_000_000] * 10, projected=310_000_000_0, band=(2_500_000_000, 4_000_000_000)))
    (band,) = [e for e in root.iter(f"{SVG}polygon") if e.get("class") == "range"]
    assert (band.get("data-low"), band.get("data-high")) == ("2500.00", "4000.00")
    corners = [tuple(map(float, p.split(","))) for p in band.get("points", "").split()]
    assert corners[1][0] == corners[2][0] == WIDTH - 16 and corners[1][1] < corners[2][1]  # high above low
    assert "($2,500.00 to $4,000.00)" in root.get("aria-label", "")


def test_words_from_a_hostile_name_stay_words() -> None:
    root = chart_svg(status([5], name='"><script>x</script>'))
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert root.get("aria-label", "").startswith('"><script>x</script>: ')


def test_looks_are_attributes_not_inline_style() -> None:
    text = svg(burnup(status([1, 2, 3], projected=10), THRESHOLDS, TZ))
    assert "style=" not in text and "<style" not in text  # the pages' policy forbids inline style
    assert f'stroke="{STYLES["actual"].stroke}"' in text


@pytest.mark.parametrize("daily", [[], [0], [0] * 31, [10**15] * 31, [-(10**9), 5]])
def test_edge_periods_draw(daily: list[int]) -> None:
    for small in (False, True):
        chart_svg(status(daily, projected=sum(daily), band=(0, 2 * abs(sum(daily)))), small)


def test_the_png_is_the_chart_at_twice_the_density() -> None:
    picture = png(burnup(status([100_000_000] * 12, projected=2_000_000_000, band=(1, 3)), THRESHOLDS, TZ))
    image = Image.open(io.BytesIO(picture))
    assert image.format == "PNG" and image.size == (WIDTH * DENSITY, HEIGHT * DENSITY)
    colours = {rgb for _, rgb in image.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert (255, 255, 255) in colours
    # the budget line is drawn: pixels near its red across the plot
    assert any(abs(r - 0xC6) < 12 and abs(g - 0x28) < 12 and abs(b - 0x28) < 12 for r, g, b in colours)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-(10**12), 10**13), max_size=31),
    st.integers(1, 10**14),
    st.none() | st.integers(-(10**12), 10**15),
    st.lists(st.integers(-(10**12), 10**13), max_size=31),
)
def test_any_status_gives_valid_svg_inside_its_box(
    daily: list[int], amount: int, projected: int | None, previous: list[int]
) -> None:
    s = status(daily, amount, projected, previous=previous)
    root = chart_svg(s)
    for circle in root.iter(f"{SVG}circle"):
        assert 0 <= float(circle.get("cx", "-1")) <= WIDTH
        assert 0 <= float(circle.get("cy", "-1")) <= HEIGHT


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(-(10**12), 10**13), max_size=31), st.integers(1, 10**14))
def test_any_status_gives_a_png_that_decodes(daily: list[int], amount: int) -> None:
    picture = png(burnup(status(daily, amount, sum(daily)), THRESHOLDS, TZ))
    Image.open(io.BytesIO(picture)).verify()


def test_a_bar_per_day_against_the_even_share() -> None:
    text = svg(daily_bars(status([31_000_000, 0, -5_000_000]), TZ))
    bars = list(ET.fromstring(text).iter(f"{SVG}rect"))
    assert [b.get("data-spent") for b in bars] == ["31.00", "0.00", "-5.00"]
    assert all(float(b.get("height", "-1")) >= 0 for b in bars)  # a credit draws no bar below the axis
    assert "an even share of the budget is $32.26 a day" in text  # $1,000 over March's 31 days


def test_the_periods_before_against_the_budget() -> None:
    past = [(START - timedelta(days=31 * k), total) for k, total in ((2, 900_000_000), (1, 1_200_000_000))]
    chart = period_bars(status([5_000_000]), past, TZ)
    text = svg(chart)
    bars = [
        (e.get("class"), e.get("data-total")) for e in ET.fromstring(text).iter(f"{SVG}rect") if e.get("data-total")
    ]
    assert bars == [("period", "900.00"), ("period-over", "1200.00"), ("period-now", "5.00")]
    assert chart.words == "b: the last 2 months' totals against $1,000.00; 1 went over"
