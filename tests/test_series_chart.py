"""An anomaly series' chart (pure): a line broken at gaps, the band where there is a range,
anomalous buckets flagged with their exact values, alerted ones ringed, words escaped."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from alertd.charts.anomaly import series_chart
from alertd.charts.png import png
from alertd.charts.svg import svg
from alertd.rules.verdicts import Point

SVG = "{http://www.w3.org/2000/svg}"
BERLIN = ZoneInfo("Europe/Berlin")
FIRST = 1_796_000_400  # 2026-11-30T01:00Z
M = 1_000_000


def calm(value: int | None, expected: int | None = 2 * M) -> Point:
    return Point(value, expected, 0.0, False, "", 0.1, 4.0)


def elements(chart_svg: str, css: str) -> list[ET.Element]:
    return [e for e in ET.fromstring(chart_svg).iter() if e.get("class") == css and e.get("data-legend") is None]


def test_gaps_break_the_line_and_flags_carry_exact_values() -> None:
    points = [
        calm(2 * M),
        calm(2 * M),
        calm(None, None),
        calm(2 * M),
        Point(9_500_001, 2 * M, 9.0, True, "spike", 0.1, 4.0),
    ]
    points += [calm(2 * M, None)]  # no range yet
    text = svg(series_chart("w <b>", FIRST, 3600, points, "USD", BERLIN, alerted={FIRST + 4 * 3600}))
    lines = elements(text, "series")
    assert [len(e.get("points", "").split()) for e in lines] == [2, 3]  # before the gap, after it
    [flag] = elements(text, "flagged")
    assert flag.get("data-value") == "9.500001" and flag.get("data-bucket") == "2026-11-30T06:00+01:00"
    assert "expected $2.00" in ET.tostring(flag, encoding="unicode")
    assert len(elements(text, "alerted")) == 1
    assert [len(e.get("points", "").split()) for e in elements(text, "band")] == [4, 4]  # two stretches, up and back
    root = ET.fromstring(text)
    assert root.get("aria-label", "") == "w <b>: spend per hour over 6 hours; 1 anomalous; the latest $2.00"
    assert "<b>" not in text  # escaped in the markup


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.none() | st.integers(-(10**9), 10**13), st.none() | st.integers(0, 10**13), st.booleans()),
        max_size=200,
    )
)
def test_any_series_draws_inside_its_box(rows: list[tuple[int | None, int | None, bool]]) -> None:
    points = [Point(v, e, 5.0 if a else 0.0, a and v is not None, "spike" if a else "", 0.3, 4.0) for v, e, a in rows]
    chart = series_chart("w", FIRST, 86400, points, "USD", BERLIN)
    for element in ET.fromstring(svg(chart)).iter(f"{SVG}circle"):
        assert 0 <= float(element.get("cx", "-1")) <= 640 and 0 <= float(element.get("cy", "-1")) <= 260
    Image.open(io.BytesIO(png(chart))).verify()
