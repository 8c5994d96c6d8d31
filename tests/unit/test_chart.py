"""The trend chart: the labelled matplotlib figure, then its PNG encoding."""

from __future__ import annotations

import io
import math
import re
import struct
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.dates import num2date
from matplotlib.image import imread

from petcover.domain.chart import SERIES_COLOURS, Series, line_chart_png, trend_figure

DAYS = [date(2026, 11, 19) + timedelta(days=i) for i in range(4)]
SERIES = [
    Series("Breach rate", "Breach rate (%)", [1.0, 2.5, None, 4.0], SERIES_COLOURS[0]),
    Series("Response p90", "Response time (min)", [12.0, 30.0, float("nan"), 25.0], SERIES_COLOURS[1]),
    Series("Response p50", "Response time (min)", [5.0, 8.0, 6.0, 7.0], SERIES_COLOURS[2]),
]
TITLE = "SLA timeliness, all providers"
X_LABEL = "Report day (local date, Asia/Shanghai)"


def figure(days=DAYS, series=SERIES, **kw):
    return trend_figure(days, series, title=TITLE, x_label=X_LABEL, **kw)


def drawn(fig):
    FigureCanvasAgg(fig).draw()  # tick labels exist once the figure is laid out
    return fig


def lines_by_label(fig):
    lines = [line for ax in fig.axes for line in ax.get_lines()]
    return {line.get_label(): line for line in lines if not line.get_label().startswith("_")}  # "_": unlabelled


# ---------------------------------------------------------------- the figure


def test_the_figure_has_a_title_labelled_axes_with_units_and_a_legend():
    fig = figure()
    assert fig.get_suptitle() == TITLE
    # One panel per y axis, in the order the series name them; the x axis is shared.
    assert [ax.get_ylabel() for ax in fig.axes] == ["Breach rate (%)", "Response time (min)"]
    assert fig.axes[-1].get_xlabel() == X_LABEL
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["Breach rate", "Response p90", "Response p50"]


def test_each_series_is_a_line_in_its_colour_on_its_own_axis_with_gaps_for_missing_values():
    fig = figure()
    lines = lines_by_label(fig)
    assert {name: to_hex(line.get_color()) for name, line in lines.items()} == {
        "Breach rate": SERIES_COLOURS[0],
        "Response p90": SERIES_COLOURS[1],
        "Response p50": SERIES_COLOURS[2],
    }
    assert lines["Breach rate"].axes is fig.axes[0] and lines["Response p50"].axes is fig.axes[1]
    rate = lines["Breach rate"].get_ydata()
    assert [rate[0], rate[1], rate[3]] == [1.0, 2.5, 4.0] and math.isnan(rate[2])  # None: a gap
    assert math.isnan(lines["Response p90"].get_ydata()[2])
    assert list(lines["Response p50"].get_xdata()) == DAYS


def test_the_x_axis_shows_readable_dates_around_the_days():
    fig = drawn(figure())
    ax = fig.axes[-1]
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    low, high = (num2date(x).date() for x in ax.get_xlim())
    assert low == date(2026, 11, 18) and high == date(2026, 11, 22)  # half a day either side


def test_a_fortnight_thins_the_date_ticks_and_a_single_day_stays_a_day_wide():
    fortnight = [date(2026, 11, 8) + timedelta(days=i) for i in range(14)]
    fig = drawn(figure(fortnight, [Series("a", "A (min)", [float(i) for i in range(14)], SERIES_COLOURS[0])]))
    labels = [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()]
    assert 4 <= len(labels) <= 8 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in labels)

    fig = drawn(figure(DAYS[:1], [Series("a", "A (min)", [3.0], SERIES_COLOURS[0])]))
    low, high = fig.axes[-1].get_xlim()
    assert high - low == pytest.approx(1.0)  # not the years autoscaling gives a single point
    assert [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()] == ["2026-11-19"]


def test_the_y_axis_starts_at_zero_or_at_a_negative_low_with_a_zero_line():
    fig = figure(series=[Series("Rate", "Rate (%)", [2.0, 3.0, 4.0, 5.0], SERIES_COLOURS[0])])
    assert fig.axes[0].get_ylim()[0] == 0.0 and fig.axes[0].get_ylim()[1] > 5.0
    fig = figure(series=[Series("Delta", "Delta (min)", [-5.0, 5.0, 0.0, 1.0], SERIES_COLOURS[0])])
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == -5.0
    assert [list(line.get_ydata()) for line in ax.get_lines() if line.get_label().startswith("_")] == [[0.0, 0.0]]


def test_no_days_draws_an_empty_labelled_chart():
    fig = figure([], [])
    assert fig.get_suptitle() == TITLE and fig.axes[-1].get_xlabel() == X_LABEL
    assert [t.get_text() for t in fig.axes[0].texts] == ["No data"]
    assert line_chart_png([], [], title=TITLE, x_label=X_LABEL).startswith(b"\x89PNG\r\n\x1a\n")


def test_refuses_bad_input():
    with pytest.raises(ValueError, match="width and height"):
        figure(width=10)
    with pytest.raises(ValueError, match="more values than"):
        figure(DAYS[:1], [Series("a", "A (min)", [1.0, 2.0], SERIES_COLOURS[0])])


# ---------------------------------------------------------------- the PNG


def colour_pixels(rgb: np.ndarray, colour: str) -> int:
    return int((np.abs(rgb - np.array(to_rgb(colour))).max(axis=2) < 0.02).sum())


def test_the_png_is_a_real_image_of_the_requested_size_with_the_series_drawn():
    png = line_chart_png(DAYS, SERIES, title=TITLE, x_label=X_LABEL, width=800, height=500)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (800, 500)
    rgb = imread(io.BytesIO(png), format="png")[..., :3]
    assert rgb.shape == (500, 800, 3)
    non_white = (rgb < 0.95).any(axis=2).mean()
    assert 0.02 < non_white < 0.5  # drawn on, but mostly background
    for colour in SERIES_COLOURS[:3]:
        assert colour_pixels(rgb, colour) > 100
    assert colour_pixels(rgb, SERIES_COLOURS[3]) == 0  # only three series


def test_the_default_size():
    png = line_chart_png(DAYS, SERIES, title=TITLE, x_label=X_LABEL)
    assert struct.unpack(">II", png[16:24]) == (1000, 720)


def test_importing_the_module_does_not_load_matplotlib():
    shared = Path(__file__).resolve().parents[2] / "shared"
    code = "import sys, petcover.domain.chart; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=shared, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
