"""Bar charts drawn on the server: the geometry of an inline SVG (no script, no style
attribute, nothing loaded), computed here so the template only prints numbers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

WIDTH = 620
HEIGHT = 180
AXIS = 24  # room under the bars for the day labels
TOP = 18  # room above them for the largest value
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str  # the day, e.g. "03-14"
    value: str  # the quantity, as shown


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    baseline: int
    bars: list[Bar]
    peak: str  # the largest value, labelled on the axis
    ticks: list[Bar]  # the bars whose labels are printed (at most ~8, so they never overlap)


def bar_chart(points: list[tuple[str, Decimal]], shown: list[str]) -> BarChart:
    """One bar per point, scaled to the largest; ``shown`` holds each value as printed."""
    baseline = HEIGHT - AXIS
    peak = max((value for _, value in points), default=Decimal(0))
    slot = WIDTH // max(len(points), 1)
    bars = []
    for index, ((label, value), text) in enumerate(zip(points, shown, strict=True)):
        height = int(value / peak * (baseline - TOP)) if peak > 0 else 0
        if value > 0:
            height = max(height, 1)
        bars.append(Bar(index * slot + GAP // 2, baseline - height, max(slot - GAP, 1), height, label, text))
    every = max(1, -(-len(bars) // 8))
    top = shown[max(range(len(points)), key=lambda k: points[k][1])] if points else "0"
    return BarChart(WIDTH, HEIGHT, baseline, bars, top, bars[::every])
