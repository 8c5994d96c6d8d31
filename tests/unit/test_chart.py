from __future__ import annotations

import struct
import zlib

import pytest

from petcover.domain.chart import AXIS, BACKGROUND, SERIES_COLOURS, line_chart_png


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Minimal PNG reader for what the chart writes: checks signature, CRCs and IHDR."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind, data))
        pos += 12 + length
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height, depth, colour_type, compression, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour_type, compression, filt, interlace) == (8, 2, 0, 0, 0)
    raw = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    stride = width * 3 + 1
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # filter: none
        rows.append(line[1:])
    return width, height, rows


def pixel_count(rows: list[bytes], colour: tuple[int, int, int]) -> int:
    target = bytes(colour)
    return sum(1 for row in rows for x in range(0, len(row), 3) if row[x : x + 3] == target)


def test_png_header_size_and_series_colours() -> None:
    png = line_chart_png(
        {"response p90": [12.0, 30.0, 18.0, 25.0], "processing p90": [60.0, 45.0, 80.0, 70.0]},
        ["05-01", "05-02", "05-03", "05-04"],
    )
    width, height, rows = decode(png)
    assert (width, height) == (640, 320)
    assert pixel_count(rows, SERIES_COLOURS[0]) > 100
    assert pixel_count(rows, SERIES_COLOURS[1]) > 100
    assert pixel_count(rows, SERIES_COLOURS[2]) == 0  # only two series
    assert pixel_count(rows, AXIS) > 600 + 250  # x and y axes
    assert pixel_count(rows, BACKGROUND) > width * height // 2


def test_custom_size_and_axes_position() -> None:
    width, height, rows = decode(line_chart_png({"a": [1.0, 2.0]}, ["x", "y"], width=200, height=100))
    assert (width, height) == (200, 100)
    # y axis at x = 24 from top margin to bottom margin; x axis at y = height - 24
    assert rows[30][24 * 3 : 24 * 3 + 3] == bytes(AXIS)
    assert rows[height - 24][100 * 3 : 100 * 3 + 3] == bytes(AXIS)
    # corner pixel untouched
    assert rows[0][0:3] == bytes(BACKGROUND)


def test_line_goes_up_for_rising_values() -> None:
    _, height, rows = decode(line_chart_png({"a": [0.0, 10.0]}, ["a", "b"], width=100, height=100))
    colour = bytes(SERIES_COLOURS[0])
    ys_at = {x: [y for y in range(height) if rows[y][x * 3 : x * 3 + 3] == colour] for x in (30, 70)}
    assert ys_at[30] and ys_at[70]
    assert min(ys_at[70]) < min(ys_at[30])  # higher value: nearer the top


def test_gaps_empty_and_flat_series() -> None:
    png = line_chart_png({"gap": [1.0, float("nan"), None, 3.0], "flat": [0.0, 0.0, 0.0, 0.0]}, list("abcd"))
    _, _, rows = decode(png)
    assert pixel_count(rows, SERIES_COLOURS[0]) > 0
    assert pixel_count(rows, SERIES_COLOURS[1]) > 0
    _, _, rows = decode(line_chart_png({}, []))
    assert pixel_count(rows, AXIS) > 0


def test_negative_values_draw_a_zero_line() -> None:
    _, _, rows = decode(line_chart_png({"delta": [-5.0, 5.0]}, ["a", "b"], width=100, height=100))
    # zero is half way between bottom (76) and top (24)
    assert rows[50][60 * 3 : 60 * 3 + 3] == bytes(AXIS)


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="width and height"):
        line_chart_png({"a": [1.0]}, ["x"], width=10)
    with pytest.raises(ValueError, match="more values than"):
        line_chart_png({"a": [1.0, 2.0]}, ["x"])
