"""Stacked cells: a tall detector box that is really a column of short horizontal texts.

In dense numeric tables (rows about 1.5 text heights apart, single digits per cell) the DB
detector joins the cells of one column over several rows into one tall box. PaddleOCR then
takes the box for vertical text, turns it by 90 degrees and reads the digits sideways: the
values of five rows come out as one garbled word ("495120") in no row at all. `stack_pieces()`
cuts such a box at the blank pixel rows between its texts; the engine reads each piece upright
and keeps the pieces only when they read more confidently than the box did (real vertical text,
such as a label printed sideways in a margin, reads better whole and stays as it is).
"""
from __future__ import annotations

import numpy as np

# PaddleOCR reads a crop turned by 90 degrees when it is this many times taller than wide.
VERTICAL_RATIO = 1.5
# A pixel is ink when it is darker than the crop's mid grey; a crop whose darkest and lightest
# pixels differ by less than 2 x INK_CONTRAST (0-255) has no text to cut.
INK_CONTRAST = 40
# Table rules: a pixel column (row) of the box that is ink over RULE_SHARE of its length is a
# ruling line, not text, and is ignored.
RULE_SHARE = 0.8
# Stacked rows are separated by blank pixel rows of at least MIN_ROW_GAP x their (median) ink
# height (the line spacing: 0.5-0.7 on the dense NICS table); the letters of a word printed
# sideways are 1-2 px apart (0.1-0.25) and are not split.
MIN_ROW_GAP = 0.3
# Pieces: ink runs at least MIN_PIECE_PX high, at least 2 of them. Each piece is cut out with
# PIECE_MARGIN x its ink height above and below (no further than half-way to its neighbours) and
# gets a box padded by BOX_PADDING x its ink height, about what the detector's unclip gives.
MIN_PIECE_PX = 4
PIECE_MARGIN = 0.3
BOX_PADDING = 0.6


def is_stack_candidate(poly: np.ndarray) -> bool:
    """True for a box PaddleOCR would read as vertical text (taller than VERTICAL_RATIO x wide)."""
    p = np.asarray(poly, dtype=np.float64)
    width = p[:, 0].max() - p[:, 0].min()
    height = p[:, 1].max() - p[:, 1].min()
    return width > 0 and height >= VERTICAL_RATIO * width


def stack_pieces(rgb: np.ndarray, poly: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The horizontal pieces of a tall box: (crop to recognise, box as 4 points clockwise from
    top-left in image pixels) per ink run, top to bottom; [] unless there are two or more."""
    p = np.asarray(poly, dtype=np.float64)
    height, width = rgb.shape[:2]
    x0, x1 = max(int(p[:, 0].min()), 0), min(int(np.ceil(p[:, 0].max())), width)
    y0, y1 = max(int(p[:, 1].min()), 0), min(int(np.ceil(p[:, 1].max())), height)
    if x1 - x0 < 2 or y1 - y0 < 2 * MIN_PIECE_PX:
        return []
    grey = rgb[y0:y1, x0:x1].mean(axis=2)
    if grey.max() - grey.min() < 2 * INK_CONTRAST:
        return []
    mid = (float(grey.max()) + float(grey.min())) / 2
    ink = grey < mid
    ink[:, ink.mean(axis=0) >= RULE_SHARE] = False  # vertical table rules through the box
    ink[ink.mean(axis=1) >= RULE_SHARE, :] = False  # horizontal rules
    runs = _runs(ink.any(axis=1))
    # runs cut by the box's top or bottom edge are parts of the neighbouring rows (padded boxes)
    runs = [(a, b) for a, b in runs
            if 0 < a and b < y1 - y0 and MIN_PIECE_PX <= b - a < (x1 - x0) * VERTICAL_RATIO]
    if len(runs) < 2:
        return []
    # rows of text lie a line spacing apart; the letters of a word printed sideways almost touch
    heights = sorted(b - a for a, b in runs)
    if min(c - b for (_, b), (c, _) in zip(runs, runs[1:])) < MIN_ROW_GAP * heights[len(heights) // 2]:
        return []
    pieces = []
    for k, (a, b) in enumerate(runs):
        ink = b - a
        upper = (runs[k - 1][1] + a) / 2 if k else 0
        lower = (b + runs[k + 1][0]) / 2 if k + 1 < len(runs) else y1 - y0
        top = int(max(upper, a - PIECE_MARGIN * ink))
        bottom = int(np.ceil(min(lower, b + PIECE_MARGIN * ink)))
        crop = np.ascontiguousarray(rgb[y0 + top:y0 + bottom, x0:x1])
        pad = BOX_PADDING * ink
        box = np.array([[x0, y0 + a - pad], [x1, y0 + a - pad], [x1, y0 + b + pad], [x0, y0 + b + pad]],
                       dtype=np.float64)
        pieces.append((crop, box))
    return pieces


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of True values."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
