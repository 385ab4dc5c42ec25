"""What a chart is made of: marks in a WIDTH×HEIGHT box, each with a class that says how it looks.

The looks live here, not in a stylesheet, so that the SVG (as presentation attributes, which a
strict Content-Security-Policy allows) and the PNG are drawn alike."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 76, 16, 14, 28  # the plot's margins: money ticks left, time below

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Mark:
    shape: str  # line, polyline, polygon, circle, rect (two corners), text (at its baseline)
    css: str  # a key of STYLES
    points: tuple[Point, ...]
    text: str = ""  # a text's words
    anchor: str = "start"  # a text's: start, middle, end
    radius: float = 0.0  # a circle's
    title: str = ""  # said on hover
    data: tuple[tuple[str, str], ...] = ()  # data- attributes: the exact values behind the pixels


@dataclass(frozen=True, slots=True)
class Chart:
    css: str  # the classes of the whole
    size: tuple[int, int]  # shown at, in CSS pixels (the box is scaled to it)
    words: str  # what it shows, in a sentence: alt text, a screen reader's label
    marks: tuple[Mark, ...]


@dataclass(frozen=True, slots=True)
class Style:
    stroke: str | None = None
    fill: str | None = None
    width: float = 1.0
    dash: tuple[int, ...] = ()
    font: int = 0  # a text's size


STYLES = {
    "axis": Style(stroke="#888888"),
    "grid": Style(stroke="#eeeeee"),
    "label": Style(fill="#555555", font=11),
    "budget": Style(stroke="#c62828", width=1.5),
    "threshold": Style(stroke="#ef9a9a", dash=(4, 3)),
    "actual": Style(stroke="#1565c0", width=2),
    "day": Style(fill="#1565c0"),
    "forecast": Style(stroke="#1565c0", dash=(6, 4)),
    "range": Style(fill="#dde8f6"),
    "previous": Style(stroke="#8d8d8d", width=1.5, dash=(3, 3)),
    "now": Style(stroke="#bbbbbb"),
    "bar": Style(fill="#90caf9"),
    "period": Style(fill="#90caf9"),
    "period-over": Style(fill="#e57373"),
    "period-now": Style(fill="#c5cae9"),
    "paper": Style(fill="#ffffff"),
    # a report's stacks, the last for "other"
    "s0": Style(fill="#1565c0"),
    "s1": Style(fill="#ef6c00"),
    "s2": Style(fill="#2e7d32"),
    "s3": Style(fill="#8e24aa"),
    "s4": Style(fill="#00838f"),
    "s5": Style(fill="#c0ca33"),
    "s6": Style(fill="#b0bec5"),
    "band": Style(fill="#e8eef3"),
    "expected": Style(stroke="#78909c", dash=(4, 3)),
    "series": Style(stroke="#1565c0", width=1.5),
    "flagged": Style(fill="#c62828"),
    "alerted": Style(stroke="#c62828", width=1.5),
}


@dataclass(frozen=True, slots=True)
class Scale:
    """Plot coordinates: x from 0 to `span` (days, hours), y from 0 to `top` (micro-units)."""

    span: float
    top: int
    bottom: int = 0  # micro-units at the bottom (below zero for a series of credits)

    def x(self, at: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * at / self.span if self.span else LEFT

    def y(self, micros: int) -> float:
        height = self.top - self.bottom
        return TOP + (HEIGHT - TOP - BOTTOM) * (self.top - micros) / height if height else HEIGHT - BOTTOM


def nice(micros: int) -> int:
    """The least 1, 2 or 5 times a power of ten at or above `micros` (money ticks a person reads)."""
    power = 1
    while True:
        for m in (1, 2, 5):
            if m * power >= micros:
                return m * power
        power *= 10


def hline(css: str, y: float) -> Mark:
    return Mark("line", css, ((LEFT, y), (WIDTH - RIGHT, y)))


def money_axis(scale: Scale, label: str) -> list[Mark]:
    """The baseline, a grid line at each round amount, and its label (`label` formats micro-units)."""
    marks = [hline("axis", HEIGHT - BOTTOM)]
    step = nice((scale.top - scale.bottom) // 4 or 1)
    level = -(-scale.bottom // step) * step
    while level <= scale.top:
        y = scale.y(level)
        marks += [hline("grid", y), Mark("text", "label", ((LEFT - 4, y + 4),), label(level), "end")]
        level += step
    return marks


def time_labels(scale: Scale, ticks: list[tuple[float, str]]) -> list[Mark]:
    """Labels below the plot, each centred on its point; one on the right edge ends there (inside the box)."""
    return [
        Mark("text", "label", ((x, HEIGHT - 8),), words, "end" if x > WIDTH - RIGHT - 2 else "middle")
        for x, words in ((scale.x(at), words) for at, words in ticks)
    ]


def legend(entries: list[tuple[str, str]]) -> list[Mark]:
    """Rows at the plot's top left, on white (over the grid and the now line): a short stroke (or
    a swatch, for a filled class) in each class, then its words."""
    marks: list[Mark] = []
    x, y, right = LEFT + 8.0, TOP + 10.0, LEFT + 8.0
    for css, words in entries:
        step = 22 + 6.5 * len(words) + 14  # about a character's width at the labels' size
        if x + step > WIDTH - RIGHT and x > LEFT + 8:
            x, y = LEFT + 8.0, y + 14
        key = (("legend", words),)
        sample = (
            Mark("line", css, ((x, y - 4), (x + 18, y - 4)), data=key)
            if STYLES[css].stroke
            else Mark("rect", css, ((x + 4, y - 9), (x + 14, y + 1)), data=key)
        )
        marks += [sample, Mark("text", "label", ((x + 22, y),), words)]
        x += step
        right = max(right, x)
    return [Mark("rect", "paper", ((LEFT + 2.0, TOP + 0.0), (right - 6, y + 5))), *marks] if marks else []
