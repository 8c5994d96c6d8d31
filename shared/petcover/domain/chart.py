"""A line chart as PNG bytes, standard library only (zlib + struct).

Good enough for a trend picture attached to a daily report: white background, axes, a tick per
label on the x axis, one coloured polyline per series. No text: the report carries the numbers.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import TypeGuard

Colour = tuple[int, int, int]

BACKGROUND: Colour = (255, 255, 255)
AXIS: Colour = (0, 0, 0)
GRID: Colour = (225, 225, 225)
# Series colours in order; they repeat after the last one.
SERIES_COLOURS: tuple[Colour, ...] = (
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
)

MARGIN = 24
MIN_SIZE = 2 * MARGIN + 16
MAX_SIZE = 4096


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(BACKGROUND) * (width * height))

    def set(self, x: int, y: int, colour: Colour) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(colour)

    def line(self, x0: int, y0: int, x1: int, y1: int, colour: Colour, thick: bool = False) -> None:
        # Bresenham; ``thick`` also paints the pixel below so a 1px line is easy to see.
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            self.set(x0, y0, colour)
            if thick:
                self.set(x0, y0 + 1, colour)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def png(self) -> bytes:
        row = self.width * 3
        # Filter byte 0 (none) before every scanline.
        raw = b"".join(b"\x00" + self.pixels[y * row : (y + 1) * row] for y in range(self.height))
        ihdr = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def line_chart_png(
    series: Mapping[str, Sequence[float | None]],
    labels: Sequence[str],
    width: int = 640,
    height: int = 320,
) -> bytes:
    """One polyline per series over ``labels`` (x positions). NaN or None values break the line.

    The y axis spans 0 (or the lowest value, if negative) to the highest value.
    """
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ValueError(f"width and height must be within {MIN_SIZE}..{MAX_SIZE}")
    for name, values in series.items():
        if len(values) > len(labels):
            raise ValueError(f"series {name!r} has more values than there are labels")

    canvas = _Canvas(width, height)
    left, right = MARGIN, width - MARGIN
    top, bottom = MARGIN, height - MARGIN

    finite = [v for values in series.values() for v in values if _finite(v)]
    low = min([0.0, *finite])
    high = max([low + 1.0, *finite])  # a flat or empty chart still has a span

    def y_of(value: float) -> int:
        return round(bottom - (value - low) / (high - low) * (bottom - top))

    slots = max(len(labels) - 1, 1)

    def x_of(index: int) -> int:
        return round(left + index * (right - left) / slots)

    for i in range(1, 5):  # light horizontal grid at quarters
        y = round(bottom - i * (bottom - top) / 4)
        canvas.line(left + 1, y, right, y, GRID)
    canvas.line(left, top, left, bottom, AXIS)
    canvas.line(left, bottom, right, bottom, AXIS)
    if low < 0:
        canvas.line(left, y_of(0.0), right, y_of(0.0), AXIS)
    for i in range(len(labels)):
        canvas.line(x_of(i), bottom, x_of(i), bottom + 4, AXIS)

    for n, values in enumerate(series.values()):
        colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
        previous: tuple[int, int] | None = None
        for i, value in enumerate(values):
            if not _finite(value):
                previous = None  # a gap breaks the line
                continue
            point = (x_of(i), y_of(value))
            if previous is None:
                canvas.set(*point, colour)  # a lone point is still visible
            else:
                canvas.line(*previous, *point, colour, thick=True)
            previous = point
    return canvas.png()


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)
