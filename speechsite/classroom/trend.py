"""A student's overall score over time, drawn as inline SVG on the server (no chart library, no JS).

The geometry is computed here and the markup lives in templates/classroom/_trend.html, so every
label goes through the template engine's escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 12, 36  # room for the axis labels
# Five attempts smooth out one bad take without hiding a real change over a few weeks.
MOVING_AVERAGE_WINDOW = 5
MIN_POINTS_FOR_AVERAGE = 3
Y_TICKS = (0, 20, 40, 60, 80, 100)
MAX_X_TICKS = 4


@dataclass(frozen=True)
class TrendPoint:
    """One scored attempt: when, and its overall score (0-100)."""

    when: datetime
    score: float


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    score: float
    label: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # SVG text-anchor: the outer dates are kept inside the plot


@dataclass
class TrendPlot:
    points: list[PlotPoint]
    line: str
    average_line: str
    aria_label: str
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_caption: str = ""  # the day, when the ticks are times of that day
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def moving_average(values: list[float], window: int = MOVING_AVERAGE_WINDOW) -> list[float]:
    """The trailing mean at each point (over fewer values at the start, where fewer exist)."""
    averages = []
    for index in range(len(values)):
        recent = values[max(0, index - window + 1) : index + 1]
        averages.append(sum(recent) / len(recent))
    return averages


def describe(scores: list[float]) -> str:
    """What the plot shows, for people who cannot see it."""
    if not scores:
        return "No scored attempts yet"
    if len(scores) == 1:
        return f"Overall score {scores[0]:.0f} in 1 attempt"
    return f"Overall score from {scores[0]:.0f} to {scores[-1]:.0f} over {len(scores)} attempts"


def _clamp(score: float) -> float:
    return max(0.0, min(100.0, score))


def build_plot(points: list[TrendPoint]) -> TrendPlot | None:
    """The plot's geometry, oldest attempt on the left; None when there is nothing to draw."""
    if not points:
        return None
    points = sorted(points, key=lambda point: point.when)
    left, right, top, bottom = LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM
    first, last = points[0].when, points[-1].when
    span = (last - first).total_seconds()

    def x_of(when: datetime) -> float:
        if span <= 0:  # one attempt, or all at the same moment: the middle
            return round((left + right) / 2, 1)
        return round(left + (when - first).total_seconds() / span * (right - left), 1)

    def y_of(score: float) -> float:
        return round(bottom - _clamp(score) / 100 * (bottom - top), 1)

    plotted = [
        PlotPoint(
            x=x_of(point.when),
            y=y_of(point.score),
            score=point.score,
            label=f"{timezone.localtime(point.when):%Y-%m-%d %H:%M}: {point.score:.0f}",
        )
        for point in points
    ]
    scores = [point.score for point in points]
    average_line = ""
    if len(points) >= MIN_POINTS_FOR_AVERAGE:
        averages = moving_average(scores)
        average_line = " ".join(f"{p.x},{y_of(a)}" for p, a in zip(plotted, averages, strict=True))
    return TrendPlot(
        points=plotted,
        line=" ".join(f"{p.x},{p.y}" for p in plotted) if len(plotted) > 1 else "",
        average_line=average_line,
        aria_label=describe(scores),
        x_ticks=_x_ticks(first, last, x_of),
        y_ticks=[Tick(position=y_of(value), label=str(value)) for value in Y_TICKS],
        x_caption=f"{timezone.localtime(first):%Y-%m-%d}" if span > 0 and _same_day(first, last) else "",
    )


def _same_day(first: datetime, last: datetime) -> bool:
    return timezone.localtime(first).date() == timezone.localtime(last).date()


def _x_ticks(first: datetime, last: datetime, x_of) -> list[Tick]:
    """Evenly spaced dates; times of day instead when every attempt was on the same day."""
    same_day = _same_day(first, last)
    count = 1 if first == last else MAX_X_TICKS
    ticks = []
    for index in range(count):
        when = first + (last - first) * (index / (count - 1)) if count > 1 else first
        local = timezone.localtime(when)
        label = f"{local:%H:%M}" if same_day and count > 1 else f"{local:%Y-%m-%d}"
        if ticks and ticks[-1].label == label:
            continue  # a short span would repeat a date
        ticks.append(Tick(position=x_of(when), label=label))
    if len(ticks) > 1:
        ticks[0] = Tick(ticks[0].position, ticks[0].label, "start")
        ticks[-1] = Tick(ticks[-1].position, ticks[-1].label, "end")
    return ticks


def render_trend(points: list[TrendPoint]) -> str:
    """The plot as an SVG element, or the empty state when no attempt has a score."""
    return render_to_string("classroom/_trend.html", {"plot": build_plot(points), "window": MOVING_AVERAGE_WINDOW})
