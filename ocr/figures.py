"""Figures of a page: photos, drawings, charts and logos, found as ink that no text line covers.

    find_figures(rgb, lines) -> [Figure(box, lines)]

The page is looked at scaled down until its median line is LINE_PIXELS high. Ink is what is
INK_CONTRAST or more darker than the paper (the page's PAPER_PERCENTILE brightness) in any colour
channel. Rules (strokes at least RULE_LENGTH line heights long and thinner than RULE_THICKNESS:
table rulings, underlines, frames) are taken away first, then the text lines are wiped out, and what
is left is closed over a line height and taken in connected pieces. A piece counts when it is
MIN_PIECE line heights or more each way, its ink covers MIN_INK of it or more (not a table's rulings
around a struck-out line) and it keeps clear of the picture's edges (the dark edge of a scan, the
table under a photographed receipt). Each piece takes in the lines within LABEL_GAP line heights of
it whose phrases (words less than a line height apart) are short (LABEL_MAX_WORDS words at most) and
that are not captions: the labels of a drawing. Pieces within MERGE_GAP line heights of each other
are one figure, kept when it is MIN_SIZE line heights or more each way; its lines are its labels and
every line whose centre lies on it.
Geometry of the image, no model.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import median
from typing import Sequence

import cv2
import numpy as np

from .layout import Line
from .regions import CAPTION_LABEL

LINE_PIXELS = 6
PAPER_PERCENTILE = 90
INK_CONTRAST = 60
RULE_LENGTH = 4.0
RULE_THICKNESS = 0.5
MERGE_GAP = 1.5
LABEL_MAX_WORDS = 4
LABEL_GAP = 1.25
MIN_SIZE = 4.0
MIN_PIECE = 2.0
MIN_INK = 0.2
EDGE_MARGIN = 0.01
TEXT_PAD = 0.3


@dataclass(frozen=True)
class Figure:
    """A figure's rectangle (x0, y0, x1, y1) on the page and the lines (indices) printed on it."""

    box: tuple[float, float, float, float]
    lines: tuple[int, ...]


def find_figures(rgb: np.ndarray, lines: Sequence[Line]) -> list[Figure]:
    """The figures of a page (see the module docstring), top to bottom."""
    if not lines:
        return []
    height, width = rgb.shape[:2]
    bounds = [_bounds(line) for line in lines]
    line_height = median(b[3] - b[1] for b in bounds)
    scale = max(1, round(line_height / LINE_PIXELS))
    rects = [[v / scale for v in b] for b in bounds]  # on the small picture
    unit = line_height / scale  # a line height on the small picture
    ink = _ink(rgb, scale, rects, unit)
    labels = {i for i, line in enumerate(lines)
              if _is_label(line, line_height) and not CAPTION_LABEL.match(line.text.strip())}
    edge = EDGE_MARGIN * max(ink.shape)
    pieces = [(x0, y0, x1, y1) for x0, y0, x1, y1 in _pieces(ink, unit)
              if _ink_share(ink, (x0, y0, x1, y1)) >= MIN_INK
              and min(x0, y0, ink.shape[1] - x1, ink.shape[0] - y1) > edge]
    figures = []
    for box, members in _grow(pieces, rects, sorted(labels), unit):
        x0, y0, x1, y1 = box
        if x1 - x0 < MIN_SIZE * unit or y1 - y0 < MIN_SIZE * unit:
            continue
        inside = {i for i, r in enumerate(rects) if _centre_in(r, box)}
        page_box = (max(0.0, x0 * scale), max(0.0, y0 * scale),
                    min(float(width), x1 * scale), min(float(height), y1 * scale))
        figures.append(Figure(page_box, tuple(sorted(inside | members))))
    return sorted(figures, key=lambda figure: (figure.box[1], figure.box[0]))


def _is_label(line: Line, height: float) -> bool:
    """Whether every phrase of the line (its words apart by less than a line height) is short."""
    if not line.words:
        return len(line.text.split()) <= LABEL_MAX_WORDS
    run = 1
    for before, word in zip(line.words, line.words[1:]):
        gap = min(p[0] for p in word.box) - max(p[0] for p in before.box)
        run = 1 if gap > height else run + 1
        if run > LABEL_MAX_WORDS:
            return False
    return True


def _bounds(line: Line) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in line.box], [p[1] for p in line.box]
    return min(xs), min(ys), max(xs), max(ys)


def _ink(rgb: np.ndarray, scale: int, rects: list[list[float]], unit: float) -> np.ndarray:
    """The ink of the picture scaled down by scale that is neither text nor a rule, as 0/1."""
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (max(1, width // scale), max(1, height // scale)), interpolation=cv2.INTER_AREA)
    darkest = small.min(axis=2).astype(np.int16)
    paper = np.percentile(small.max(axis=2), PAPER_PERCENTILE)
    ink = ((paper - darkest) >= INK_CONTRAST).astype(np.uint8)
    length = max(3, int(RULE_LENGTH * unit))
    thickness = max(2, int(round(RULE_THICKNESS * unit)))
    strokes = (cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))
               | cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, length))))
    thick = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (thickness, thickness)))
    ink &= 1 - (strokes & (1 - thick))
    pad = TEXT_PAD * unit
    for x0, y0, x1, y1 in rects:
        ink[max(0, int(y0 - pad)):int(y1 + pad) + 1, max(0, int(x0 - pad)):int(x1 + pad) + 1] = 0
    return ink


def _pieces(ink: np.ndarray, unit: float) -> list[list[float]]:
    """Boxes of the connected pieces of the ink closed over a line height, MIN_PIECE line heights or
    more each way."""
    size = max(3, int(unit))
    closed = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    return [list(map(float, _piece_box(stats[i]))) for i in range(1, count)
            if min(stats[i][2], stats[i][3]) >= MIN_PIECE * unit]


def _ink_share(ink: np.ndarray, box: Sequence[float]) -> float:
    x0, y0, x1, y1 = (int(v) for v in box)
    return float(ink[y0:y1, x0:x1].mean())


def _piece_box(stats: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in stats[:4])
    return x, y, x + w, y + h


def _grow(pieces: Sequence[Sequence[float]], rects: list[list[float]], labels: list[int],
          unit: float) -> list[tuple[list[float], set[int]]]:
    """Each piece with the labels within LABEL_GAP line heights of it, joined while they come within
    MERGE_GAP line heights of each other."""
    groups: list[tuple[list[float], set[int]]] = []
    for piece in pieces:
        members = {i for i in labels if _near(piece, rects[i], LABEL_GAP * unit)}
        box = list(piece)
        for i in members:
            box = _union(box, rects[i])
        groups.append((box, members))
    joined = True
    while joined:
        joined = False
        for a, b in ((a, b) for a in range(len(groups)) for b in range(a + 1, len(groups))):
            if _near(groups[a][0], groups[b][0], MERGE_GAP * unit):
                (box, members), (other, theirs) = groups[a], groups.pop(b)
                groups[a] = (_union(box, other), members | theirs)
                joined = True
                break
    return groups


def _near(a: Sequence[float], b: Sequence[float], gap: float) -> bool:
    return a[0] - gap <= b[2] and b[0] - gap <= a[2] and a[1] - gap <= b[3] and b[1] - gap <= a[3]


def _union(a: Sequence[float], b: Sequence[float]) -> list[float]:
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def _centre_in(r: Sequence[float], box: Sequence[float]) -> bool:
    cx, cy = (r[0] + r[2]) / 2, (r[1] + r[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]
