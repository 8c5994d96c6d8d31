"""Daily line charts as PNG, drawn with matplotlib (Agg canvas, no pyplot global state).

``trend_figure`` builds the labelled figure (title, one panel per y axis with its unit, dates on
the x axis, a legend); ``figure_png`` encodes it; ``line_chart_png`` does both.

matplotlib is imported inside the functions that draw, not at module level: it takes the better
part of a second to import and only the daily report job draws, so the other handlers that load
the domain package stay quick to start.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, TypeGuard

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Series colours in order; they repeat after the last one. Reports publish them as the legend.
SERIES_COLOURS: tuple[str, ...] = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
GRID = "#e1e1e1"
DATE_FORMAT = "%Y-%m-%d"
MAX_DATE_TICKS = 8
DPI = 100
MIN_SIZE = 200
MAX_SIZE = 4096


@dataclass(frozen=True)
class Series:
    """One line: its legend text, the y axis it is read on, its values per day and its colour.

    Series with the same ``axis`` (a label with the unit, e.g. "Response time (min)") share a panel.
    A None or NaN value leaves a gap in the line.
    """

    label: str
    axis: str
    values: Sequence[float | None]
    colour: str


def trend_figure(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    width: int = 1000,
    height: int = 720,
) -> Figure:
    """The labelled figure, ``width`` x ``height`` pixels: one panel per distinct axis, stacked
    over the shared date axis; each panel's y axis spans 0 (or its lowest value) to its highest."""
    from matplotlib.figure import Figure  # lazy: see the module docstring

    _check(days, series, width, height)
    axes_labels = list(dict.fromkeys(s.axis for s in series)) or [""]
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    fig.suptitle(title, fontsize="large", fontweight="bold")
    panels = fig.subplots(len(axes_labels), 1, sharex=True, squeeze=False)[:, 0]
    for ax, axis_label in zip(panels, axes_labels, strict=True):
        shown = [s for s in series if s.axis == axis_label]
        for s in shown:
            ax.plot(
                list(days[: len(s.values)]),
                [_plotted(v) for v in s.values],
                label=s.label,
                color=s.colour,
                linewidth=2,
                marker="o",
                markersize=5,
                clip_on=False,  # a point on the axis (a zero) stays whole
            )
        _scale_y(ax, [v for s in shown for v in s.values])
        ax.set_ylabel(axis_label)
        ax.grid(True, color=GRID)
    _date_axis(panels[-1], days, x_label)
    if series:
        fig.legend(loc="outside lower center", ncols=min(len(series), 4), frameon=False)
    return fig


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, rendered by the Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # lazy: see the module docstring

    out = io.BytesIO()
    FigureCanvasAgg(fig).print_png(out)
    return out.getvalue()


def line_chart_png(
    days: Sequence[date],
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    width: int = 1000,
    height: int = 720,
) -> bytes:
    """``trend_figure`` as PNG bytes."""
    return figure_png(trend_figure(days, series, title=title, x_label=x_label, width=width, height=height))


def _check(days: Sequence[date], series: Sequence[Series], width: int, height: int) -> None:
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ValueError(f"width and height must be within {MIN_SIZE}..{MAX_SIZE}")
    for s in series:
        if len(s.values) > len(days):
            raise ValueError(f"series {s.label!r} has more values than there are days")


def _plotted(value: float | None) -> float:
    return float(value) if _finite(value) else math.nan  # NaN: matplotlib breaks the line there


def _scale_y(ax: Axes, values: Sequence[float | None]) -> None:
    finite = [float(v) for v in values if _finite(v)]
    low = min([0.0, *finite])
    high = max([low + 1.0, *finite])  # a flat or empty panel still has a span
    ax.set_ylim(low, high + (high - low) * 0.08)  # headroom so the top point is not cut
    if low < 0:
        ax.axhline(0.0, color="black", linewidth=0.8)


def _date_axis(ax: Axes, days: Sequence[date], x_label: str) -> None:
    from matplotlib import dates as mdates  # lazy: see the module docstring

    ax.set_xlabel(x_label)
    if not days:
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", color="grey")
        ax.set_xticks([])
        return
    first, last = min(days), max(days)
    span = (last - first).days + 1
    # Half a day either side, set explicitly: autoscaling a single day would span years.
    ax.set_xlim(mdates.date2num(first) - 0.5, mdates.date2num(last) + 0.5)
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, math.ceil(span / MAX_DATE_TICKS))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(DATE_FORMAT))
    ax.tick_params(axis="x", labelrotation=30, labelrotation_mode="xtick")  # label ends at its tick


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def bar_chart_png(
    labels: Sequence[str], values: Sequence[float], *, title: str, y_label: str, width: int = 1000, height: int = 600
) -> bytes:
    """One bar per label (e.g. loss ratio per channel, product and month), the value written on each bar."""
    from matplotlib.figure import Figure  # lazy: see the module docstring

    if not MIN_SIZE <= width <= MAX_SIZE or not MIN_SIZE <= height <= MAX_SIZE:
        raise ValueError(f"chart size {width}x{height} is outside {MIN_SIZE}..{MAX_SIZE}")
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    ax = fig.add_subplot()
    xs = list(range(len(labels)))
    bars = ax.bar(xs, [_plotted(v) for v in values], color=SERIES_COLOURS[0])
    ax.bar_label(bars, labels=[f"{v:.1%}" if _finite(v) else "-" for v in values], fontsize=8)
    ax.set_xticks(xs, list(labels), rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.grid(axis="y", color=GRID)
    fig.tight_layout()
    return figure_png(fig)
