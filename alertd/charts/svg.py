"""A chart as inline SVG: every word escaped, looks as presentation attributes (no inline style,
which a strict Content-Security-Policy forbids), exact values in `data-` attributes and a
`<title>` on hover without a script."""

from __future__ import annotations

from html import escape

from alertd.charts.scene import HEIGHT, STYLES, WIDTH, Chart, Mark


def svg(chart: Chart) -> str:
    label = escape(chart.words, quote=True)
    width, height = chart.size
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(chart.css)}" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="{width}" height="{height}" role="img" aria-label="{label}"><title>{label}</title>'
        + "".join(_element(mark) for mark in chart.marks)
        + "</svg>"
    )


def _element(mark: Mark) -> str:
    attributes = [("class", mark.css), *_geometry(mark), *_looks(mark), *((f"data-{k}", v) for k, v in mark.data)]
    opened = " ".join(f'{name}="{escape(value, quote=True)}"' for name, value in attributes)
    inside = escape(mark.text) + (f"<title>{escape(mark.title)}</title>" if mark.title else "")
    return f"<{mark.shape} {opened}>{inside}</{mark.shape}>" if inside else f"<{mark.shape} {opened}/>"


def _geometry(mark: Mark) -> list[tuple[str, str]]:
    (x, y), *rest = mark.points
    if mark.shape == "line":
        (x2, y2) = rest[0]
        return [("x1", _n(x)), ("y1", _n(y)), ("x2", _n(x2)), ("y2", _n(y2))]
    if mark.shape in ("polyline", "polygon"):
        return [("points", " ".join(f"{_n(px)},{_n(py)}" for px, py in mark.points))]
    if mark.shape == "circle":
        return [("cx", _n(x)), ("cy", _n(y)), ("r", _n(mark.radius))]
    if mark.shape == "rect":
        (x2, y2) = rest[0]
        return [("x", _n(x)), ("y", _n(y)), ("width", _n(x2 - x)), ("height", _n(y2 - y))]
    return [("x", _n(x)), ("y", _n(y)), ("text-anchor", mark.anchor)]  # text


def _looks(mark: Mark) -> list[tuple[str, str]]:
    style = STYLES[mark.css]
    looks = [("fill", style.fill or "none")]
    if style.stroke:
        looks += [("stroke", style.stroke), ("stroke-width", _n(style.width))]
    if style.dash:
        looks.append(("stroke-dasharray", " ".join(map(str, style.dash))))
    if style.font:
        looks += [("font-size", str(style.font)), ("font-family", "sans-serif")]
    return looks


def _n(value: float) -> str:
    return f"{value:.1f}"
