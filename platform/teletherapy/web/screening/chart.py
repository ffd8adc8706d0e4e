"""Geometry of the server-rendered trend chart (an SVG drawn by templates/screening/_chart.html).

Pure arithmetic: scores over time to x/y coordinates, severity bands to shaded rectangles,
sessions to vertical marks. The template draws; a data table beside it carries the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from babel import dates

from teletherapy.services.screening.queries import Series

WIDTH = 640
HEIGHT = 260
LEFT = 44
RIGHT = 110  # room for the band labels
TOP = 12
BOTTOM = 34
BAND_FILLS = {
    "minimal": "#e8f3ec",
    "mild": "#f4f1dc",
    "moderate": "#f8e6d2",
    "moderately_severe": "#f5d9d0",
    "severe": "#f0cfcf",
}


@dataclass(frozen=True)
class BandRect:
    code: str
    y: float
    height: float
    label_y: float
    fill: str


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    total: int
    severity: str
    label: str  # e.g. the date and total, for the <title>
    flag: str | None  # reliable_improvement | reliable_deterioration | recovery | ...


@dataclass(frozen=True)
class Mark:
    x: float
    label: str


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bands: list[BandRect]
    dots: list[Dot]
    path: str
    sessions: list[Mark]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[Tick]


def build_chart(
    series: Series, sessions: list[datetime], *, now: datetime, language: str = "en"
) -> Chart:
    spec = series.instrument
    right = WIDTH - RIGHT
    bottom = HEIGHT - BOTTOM
    instants = [p.completed_at for p in series.points] + list(sessions)
    start = min(instants) if instants else now - timedelta(weeks=8)
    end = max([*instants, start + timedelta(days=14)])
    span = (end - start).total_seconds() or 1.0

    def x_of(at: datetime) -> float:
        return round(LEFT + (right - LEFT) * (at - start).total_seconds() / span, 1)

    def y_of(total: float) -> float:
        return round(bottom - (bottom - TOP) * total / spec.max_total, 1)

    bands = []
    for band in spec.bands:
        top = y_of(band.high + 0.5 if band.high < spec.max_total else band.high)
        low = y_of(band.low - 0.5 if band.low > 0 else band.low)
        bands.append(
            BandRect(
                code=band.code,
                y=top,
                height=round(low - top, 1),
                label_y=round((top + low) / 2 + 4, 1),
                fill=BAND_FILLS.get(band.code, "#eeeeee"),
            )
        )
    dots = []
    for point in series.points:
        flag = None
        if point.change is not None and point.change.category != "no_reliable_change":
            flag = str(point.change.category)
        dots.append(
            Dot(
                x=x_of(point.completed_at),
                y=y_of(point.total),
                total=point.total,
                severity=point.severity,
                label=f"{point.completed_at:%Y-%m-%d}: {point.total}",
                flag=flag,
            )
        )
    path = " ".join(f"{'M' if i == 0 else 'L'}{d.x},{d.y}" for i, d in enumerate(dots))
    step = 5 if spec.max_total > 21 else 3
    y_ticks = [(y_of(v), v) for v in range(0, spec.max_total + 1, step)]
    ticks = []
    month = datetime(start.year, start.month, 1, tzinfo=start.tzinfo)
    while month <= end:
        if month >= start:
            ticks.append(
                Tick(x=x_of(month), label=dates.format_skeleton("yMMM", month, locale=language))
            )
        month = datetime(
            month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=start.tzinfo
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=right,
        plot_top=TOP,
        plot_bottom=bottom,
        bands=bands,
        dots=dots,
        path=path,
        sessions=[Mark(x=x_of(s), label=f"{s:%Y-%m-%d}") for s in sessions],
        y_ticks=y_ticks,
        x_ticks=ticks,
    )
