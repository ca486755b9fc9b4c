"""Bar charts drawn on the server as inline SVG, for the portal's usage and the dashboard's
reports: no script, no style attribute and nothing loaded from elsewhere, so they pass the
pages' Content-Security-Policy and show without JavaScript. The geometry is computed here
(exact: ``int`` and ``Decimal``, never a float, in SVG user units); ``templates/chart.html``
draws it, every label escaped. Each bar carries its figure as text (a ``<title>``) and pages
print the figures as a table too, so a chart is never the only way to read a number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH, HEIGHT = 640, 200
AXIS = 24  # room under the drawing for the labels
TOP = 18  # room above it for the largest figure
GAP = 2
TICKS = 8  # labels printed at most, so they never overlap


@dataclass(frozen=True)
class Bar:
    label: str  # a day ("03-14"), a month ("2026-03"), a bucket
    shown: str  # the figure as people read it, e.g. "USD 1,250.00" or "12.5"
    x: int
    y: int
    width: int
    height: int
    negative: bool = False


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    baseline: int  # y of the zero line
    peak: str  # the largest figure, as shown, printed at the top
    ticks: tuple[Bar, ...]  # the bars whose labels are printed
    width: int = WIDTH
    height: int = HEIGHT


def bars(title: str, points: Sequence[tuple[str, Decimal | int, str]]) -> BarChart:
    """A bar per ``(label, value, shown)``, scaled so the values from the lowest (or zero) to the
    highest fill the drawing; values below zero hang under the zero line, and a value that is
    not zero shows at least one unit high."""
    values = [Decimal(value) for _, value, _ in points]
    top, bottom = max([*values, Decimal(0)]), min([*values, Decimal(0)])
    span = (top - bottom) or Decimal(1)
    room = HEIGHT - AXIS - TOP
    baseline = TOP + (int(room * top / span) if top or bottom else room)  # all zero: the line at the bottom
    slot = WIDTH // max(len(points), 1)
    drawn = []
    for index, ((label, _, shown), value) in enumerate(zip(points, values, strict=True)):
        size = max(int(room * abs(value) / span), 1 if value else 0)
        y = baseline - size if value >= 0 else baseline
        drawn.append(Bar(label, shown, index * slot + GAP // 2, y, max(slot - GAP, 1), size, value < 0))
    peak = points[values.index(top)][2] if points and top in values else "0"
    every = max(1, -(-len(drawn) // TICKS))
    return BarChart(title, tuple(drawn), baseline, peak, tuple(drawn[::every]))
