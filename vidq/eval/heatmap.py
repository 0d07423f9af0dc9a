"""The depth x frames accuracy heat map as a PNG, drawn with PIL (no matplotlib).

Rows are needle depths (0% at the top), columns frame counts; each cell is coloured from
red (0%) through yellow to green (100%), as Video-XL's NIAH plots are, and carries its
accuracy as text.  Knows nothing about how the accuracies were measured.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from vidq.store import atomic_path

CELL_W, CELL_H = 72, 40  # pixels per cell
MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 70, 56, 16, 40  # pixels around the grid
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
EMPTY = (200, 200, 200)  # a cell with no scored case
STOPS = ((0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80)))  # red -> yellow -> green


def colour(value: float | None) -> tuple[int, int, int]:
    """RGB for an accuracy in [0, 1] (grey for None), linear between the colour stops.

    >>> colour(0.0), colour(1.0)
    ((215, 48, 39), (26, 152, 80))
    """
    if value is None:
        return EMPTY
    v = min(1.0, max(0.0, float(value)))
    for (x0, c0), (x1, c1) in itertools.pairwise(STOPS):
        if v <= x1:
            t = (v - x0) / (x1 - x0)
            return tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))  # type: ignore[return-value]
    return STOPS[-1][1]


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def _centre(draw, box: tuple[float, float, float, float], text: str, font, fill=INK) -> None:
    x0, y0, x1, y1 = box
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((x0 + x1 - (right - left)) / 2 - left, (y0 + y1 - (bottom - top)) / 2 - top), text, font=font, fill=fill)


def render_heatmap(grid: Sequence[Sequence[float | None]], depths: Sequence[float], frames: Sequence[int],
                   title: str = "Needle in a haystack"):
    """A PIL image of ``grid[d][f]`` (accuracy of depth ``d`` at frame count ``f``, or None)."""
    from PIL import Image, ImageDraw

    if len(grid) != len(depths) or any(len(row) != len(frames) for row in grid):
        raise ValueError(f"grid is {len(grid)}x{len(grid[0]) if grid else 0}, labels are {len(depths)}x{len(frames)}")
    width = MARGIN_LEFT + CELL_W * len(frames) + MARGIN_RIGHT
    height = MARGIN_TOP + CELL_H * len(depths) + MARGIN_BOTTOM
    img = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    small, big = _font(13), _font(15)
    _centre(draw, (0, 0, width, MARGIN_TOP - 22), title, big)
    for j, n in enumerate(frames):
        x = MARGIN_LEFT + j * CELL_W
        _centre(draw, (x, MARGIN_TOP - 22, x + CELL_W, MARGIN_TOP - 2), str(n), small)
    _centre(draw, (MARGIN_LEFT, height - MARGIN_BOTTOM + 8, width - MARGIN_RIGHT, height - 4), "frames", small)
    for i, d in enumerate(depths):
        y = MARGIN_TOP + i * CELL_H
        _centre(draw, (0, y, MARGIN_LEFT - 6, y + CELL_H), f"{d * 100:.0f}%", small)
        for j, value in enumerate(grid[i]):
            x = MARGIN_LEFT + j * CELL_W
            draw.rectangle((x, y, x + CELL_W - 1, y + CELL_H - 1), fill=colour(value), outline=BACKGROUND)
            _centre(draw, (x, y, x + CELL_W, y + CELL_H), "-" if value is None else f"{value * 100:.0f}%", small)
    draw.text((4, MARGIN_TOP - 20), "depth", font=small, fill=INK)
    return img


def write_heatmap(path: str | os.PathLike, grid: Sequence[Sequence[float | None]], depths: Sequence[float],
                  frames: Sequence[int], title: str = "Needle in a haystack") -> Path:
    """Render and write the PNG atomically; returns the path."""
    target = Path(path)
    img = render_heatmap(grid, depths, frames, title)
    with atomic_path(target) as tmp:
        img.save(tmp, format="PNG")
    return target
