"""Boxes as the file formats want them: integer axis-aligned pixel boxes inside the page."""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Bbox(NamedTuple):
    """x0, y0 (top left) and x1, y1 (bottom right) in page pixels, x1 > x0, y1 > y0."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


def bbox(points: Sequence[Sequence[float]], width: int, height: int) -> Bbox:
    """The smallest integer box around points, clipped to the page, at least 1 x 1 pixel."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0 = min(max(int(min(xs)), 0), width - 1)
    y0 = min(max(int(min(ys)), 0), height - 1)
    x1 = max(min(int(round(max(xs) + 0.49)), width), x0 + 1)
    y1 = max(min(int(round(max(ys) + 0.49)), height), y0 + 1)
    return Bbox(x0, y0, x1, y1)


def line_groups(page) -> list[tuple[str, list[int]]]:
    """(kind, line indices) of each block of an OcrPage in reading order, then any line no block holds."""
    grouped = {i for block in page.blocks for i in block.lines}
    groups = [(block.kind, list(block.lines)) for block in page.blocks]
    return groups + [("text", [i]) for i in range(len(page.lines)) if i not in grouped]
