"""Charts drawn on the server as inline SVG: no script and nothing loaded from elsewhere, so
they pass the pages' Content-Security-Policy and show without JavaScript. Geometry is computed
here (integers only, in SVG user units); ``templates/chart.html`` draws it, every label
escaped. Each bar also carries its figure as text (``<title>`` and a table next to the chart),
so the chart is never the only way to read a number."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, LABELS = 640, 220, 24  # the drawing, and the band under it for the labels


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str  # the figure as people read it, e.g. "USD 1,250.00"
    x: int
    y: int
    width: int
    height: int
    negative: bool


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: tuple[Bar, ...]
    baseline: int  # y of the zero line
    width: int = WIDTH
    height: int = HEIGHT + LABELS


def bars(title: str, points: Sequence[tuple[str, int, str]]) -> BarChart:
    """A bar per ``(label, value, shown)``, scaled to the largest magnitude; values below zero
    hang under the zero line."""
    top = max((value for _, value, _ in points), default=0)
    bottom = min((value for _, value, _ in points), default=0)
    span = max(top - min(bottom, 0), 1)
    baseline = HEIGHT * max(top, 0) // span if bottom < 0 else HEIGHT
    slot = WIDTH // max(len(points), 1)
    gap = max(slot // 5, 1)
    drawn = []
    for index, (label, value, shown) in enumerate(points):
        size = HEIGHT * abs(value) // span
        y = baseline - size if value >= 0 else baseline
        drawn.append(Bar(label, shown, index * slot + gap // 2, y, slot - gap, size, value < 0))
    return BarChart(title, tuple(drawn), baseline)
