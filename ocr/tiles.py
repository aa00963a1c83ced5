"""Tiles for very tall or very wide images, so that detection does not shrink their text away.

The detector sees an image scaled down to OCR_DET_LIMIT_SIDE on its long side: a 627 x 12280 strip
of stacked receipts becomes 65 x 1280 and its small text vanishes (8 dev receipts stacked into
627 x 9221 kept 43 % of their lines; with tiles 97.6 %, docs/ocr.md). An image whose long side is
more than TILE_MIN_ASPECT x its short side is read in overlapping tiles along the long side, each
about the shape of a receipt (TILE_ASPECT x the short side, never shorter than the detection size).
Each tile keeps the text centred in its own share of the page (overlaps split in the middle), so a
line cut by a tile edge is kept from the tile that sees it whole; a line that two tiles still
both report is kept once (by box overlap: the longer text, then the higher score, wins).

In a tall image the tile edges run between text lines; in a wide one they cut through lines, so
a wide image's lines are trimmed to the word runs centred in the tile's share, with an overlap
that holds a whole word; a word both neighbours still keep (each tile estimates the run boxes
itself) is dropped from the second.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

# Tile only images more elongated than this: the dev receipts go up to 3.25 (892 x 2897), A4 is 1.41.
TILE_MIN_ASPECT = 4.0
# Tile long side in short sides: the shape of a typical dev receipt (627 x 1535 is 2.45), which
# the detection settings were tuned on.
TILE_ASPECT = 2.5
# Overlap between neighbouring tiles, in short sides: tall images need more than one text line's
# height (receipt lines are 2-5 % of the width), wide images more than one word's width.
ACROSS_LINES_OVERLAP = 0.25
ALONG_LINES_OVERLAP = 1.0
# ... and in a wide image at least this share of the tile (a low banner's tiles are 1280 px long
# but only a few words fit in one short side).
ALONG_LINES_MIN_OVERLAP = 0.25
# Two fragments from neighbouring tiles are the same text when their boxes overlap by these shares
# of the smaller box's height and width. Boxes of neighbouring lines overlap vertically by ~10 %
# on the dev receipts (up to half in dense print), the same line read twice by 80 % or more.
DUPLICATE_HEIGHT_OVERLAP = 0.7
DUPLICATE_WIDTH_OVERLAP = 0.5


@dataclass(frozen=True, eq=False)
class RawLine:
    """One recognised text line as PaddleX reports it, in the pixels of the image it was read from:
    box = 4 points clockwise from top-left; runs = the text split into runs of letters/digits,
    symbols and spaces ("".join(runs) == text), run_boxes = one box per run."""

    text: str
    score: float
    box: np.ndarray  # 4 x 2 float
    runs: tuple[str, ...]
    run_boxes: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class Tile:
    """A window of the page (x0:x1, y0:y1) that keeps the text centred in keep_from..keep_to
    along the long side (page pixels; y for a tall page, x for a wide one)."""

    x0: int
    y0: int
    x1: int
    y1: int
    keep_from: float = -math.inf
    keep_to: float = math.inf
    vertical: bool = True

    @property
    def offset(self) -> int:
        """Where the tile starts along the long side."""
        return self.y0 if self.vertical else self.x0

    def keep(self, line: RawLine) -> RawLine | None:
        """The part of a line (tile pixels) that this tile is responsible for, or None."""
        low, high = self.keep_from - self.offset, self.keep_to - self.offset
        if self.vertical:
            return line if low <= _centre(line.box)[1] < high else None
        return _trim_to_columns(line, low, high)

    def to_page(self, line: RawLine) -> RawLine:
        """A line read in this tile, in page pixels."""
        shift = np.array([self.x0, self.y0], dtype=np.float64)
        return replace(line, box=line.box + shift, run_boxes=tuple(box + shift for box in line.run_boxes))


def plan_tiles(width: int, height: int, min_length: int) -> list[Tile]:
    """One tile for the whole image, or overlapping tiles along the long side of an elongated one;
    min_length: the shortest tile (the detection size; shorter tiles would gain nothing)."""
    vertical = height > width
    long_side, short_side = max(width, height), min(width, height)
    length = max(round(TILE_ASPECT * short_side), min_length)
    if long_side <= TILE_MIN_ASPECT * short_side or long_side <= length:
        return [Tile(0, 0, width, height, vertical=vertical)]
    if vertical:
        overlap = round(ACROSS_LINES_OVERLAP * short_side)
    else:
        overlap = max(round(ALONG_LINES_OVERLAP * short_side), round(ALONG_LINES_MIN_OVERLAP * length))
    overlap = min(overlap, length // 2)
    count = math.ceil((long_side - overlap) / (length - overlap))
    starts = [round(i * (long_side - length) / (count - 1)) for i in range(count)]
    ends = [start + length for start in starts]
    cuts = [(ends[i] + starts[i + 1]) / 2 for i in range(count - 1)]
    bounds = [-math.inf, *cuts, math.inf]
    tiles = []
    for i, (start, end) in enumerate(zip(starts, ends)):
        x0, y0, x1, y1 = (0, start, width, end) if vertical else (start, 0, end, height)
        tiles.append(Tile(x0, y0, x1, y1, bounds[i], bounds[i + 1], vertical))
    return tiles


def merge_tiles(per_tile: Sequence[Sequence[RawLine]], tiles: Sequence[Tile]) -> list[RawLine]:
    """All tiles' lines (page pixels), with text that two neighbouring tiles both read kept once."""
    kept: list[list[RawLine | None]] = [list(lines) for lines in per_tile]
    for i in range(len(tiles) - 1):
        _merge_neighbours(kept[i], kept[i + 1], tiles[i], tiles[i + 1])
    return [line for lines in kept for line in lines if line is not None]


def _merge_neighbours(first: list[RawLine | None], second: list[RawLine | None], tile_a: Tile, tile_b: Tile) -> None:
    """In place, for lines of two neighbouring tiles on the same row: the same line read twice ->
    the weaker becomes None; a line of the second tile that starts with words the first tile
    already has (run boxes estimated a little differently by each tile) loses those words."""
    for a, line_a in enumerate(first):
        if line_a is None or not _reaches(line_a.box, tile_b):
            continue
        for b, line_b in enumerate(second):
            if line_b is None or not _reaches(line_b.box, tile_a) or not _same_row(line_a.box, line_b.box):
                continue
            if _same_stretch(line_a.box, line_b.box):
                if _strength(line_a) < _strength(line_b):
                    first[a] = None
                    break
                second[b] = None
            else:
                second[b] = _without_repeated_runs(line_a, line_b)


def _reaches(box: np.ndarray, other: Tile) -> bool:
    """Whether a box (page pixels) reaches into the other tile's window."""
    x0, y0, x1, y1 = _bounds(box)
    return x0 < other.x1 and x1 > other.x0 and y0 < other.y1 and y1 > other.y0


def _without_repeated_runs(first: RawLine, second: RawLine) -> RawLine | None:
    """second without its leading runs that first has at the same place with the same text."""
    if not _runs_usable(second):
        return second
    start, repeated = 0, False
    while start < len(second.runs):
        if second.runs[start].strip():
            if not _repeats(first, second, start):
                break
            repeated = True
        start += 1
    if not repeated:
        return second
    if start == len(second.runs):
        return None
    runs, boxes = second.runs[start:], second.run_boxes[start:]
    left = min(p[0] for p in boxes[0])
    right = max(p[0] for box in boxes for p in box)
    return RawLine("".join(runs), second.score, _cut_box(second.box, left, right), runs, boxes)


def _repeats(first: RawLine, second: RawLine, index: int) -> bool:
    """Whether run index of second is also a run of first, at the same place."""
    text, box = second.runs[index], second.run_boxes[index]
    x0, _, x1, _ = _bounds(box)
    for other_text, other_box in zip(first.runs, first.run_boxes):
        ox0, _, ox1, _ = _bounds(other_box)
        if other_text == text and _share(x0, x1, ox0, ox1) >= DUPLICATE_WIDTH_OVERLAP:
            return True
    return False


def _strength(line: RawLine) -> tuple[int, float]:
    return len(line.text.strip()), line.score


def _same_row(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes are on the same text line (their heights overlap)."""
    _, ay0, _, ay1 = _bounds(a)
    _, by0, _, by1 = _bounds(b)
    return _share(ay0, ay1, by0, by1) >= DUPLICATE_HEIGHT_OVERLAP


def _same_stretch(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two boxes of one row cover the same stretch of it."""
    ax0, _, ax1, _ = _bounds(a)
    bx0, _, bx1, _ = _bounds(b)
    return _share(ax0, ax1, bx0, bx1) >= DUPLICATE_WIDTH_OVERLAP


def _share(a0: float, a1: float, b0: float, b1: float) -> float:
    """Overlap of two intervals over the shorter one."""
    shorter = min(a1 - a0, b1 - b0)
    return max(0.0, min(a1, b1) - max(a0, b0)) / shorter if shorter > 0 else 0.0


def _bounds(box: Sequence[Sequence[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in box], [p[1] for p in box]
    return min(xs), min(ys), max(xs), max(ys)


def _centre(box: np.ndarray) -> tuple[float, float]:
    x0, y0, x1, y1 = _bounds(box)
    return (x0 + x1) / 2, (y0 + y1) / 2


def _trim_to_columns(line: RawLine, low: float, high: float) -> RawLine | None:
    """The runs of a line whose centres lie in low..high (x), with the box cut to them."""
    if not _runs_usable(line):
        return line if low <= _centre(line.box)[0] < high else None  # no usable runs: all or nothing
    keep = [low <= _centre(box)[0] < high for box in line.run_boxes]
    if all(keep):
        return line
    indices = [i for i, kept in enumerate(keep) if kept and line.runs[i].strip()]
    if not indices:
        return None
    first, last = indices[0], indices[-1]
    runs, boxes = line.runs[first:last + 1], line.run_boxes[first:last + 1]
    left = min(p[0] for box in boxes for p in box)
    right = max(p[0] for box in boxes for p in box)
    return RawLine("".join(runs), line.score, _cut_box(line.box, left, right), runs, boxes)


def _runs_usable(line: RawLine) -> bool:
    """Whether the runs spell the text and each has a box."""
    return bool(line.runs) and "".join(line.runs) == line.text and len(line.runs) == len(line.run_boxes)


def _cut_box(box: np.ndarray, left: float, right: float) -> np.ndarray:
    """The part of a line quadrilateral between x = left and x = right (along its top and bottom edges)."""
    p = np.asarray(box, dtype=np.float64)

    def along(a: np.ndarray, b: np.ndarray, x: float) -> np.ndarray:
        t = 0.0 if b[0] == a[0] else float(np.clip((x - a[0]) / (b[0] - a[0]), 0.0, 1.0))
        return a + t * (b - a)

    top_left, top_right, bottom_right, bottom_left = p
    return np.array([
        along(top_left, top_right, left), along(top_left, top_right, right),
        along(bottom_left, bottom_right, right), along(bottom_left, bottom_right, left),
    ])
