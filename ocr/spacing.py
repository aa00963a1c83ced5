"""Spaces the recogniser left out: put back where the page shows a word-sized gap.

The recogniser often reads "Cashier : admin" or "TEL : 03-4021" as "Cashier:admin" and "TEL:03-4021".
PaddleX reports where each run of letters/digits and each run of symbols sits in the line; where two
neighbouring runs meet without a space and the ink between them leaves a gap of at least SPACE_GAP x
the text height, a space goes in. Inside a run of letters the recogniser's own spacing is kept:
narrow letters (i, l) leave gaps that look like spaces.
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# Blank columns (in text heights) that make a space: a word space is 0.25-0.6 em, the gap between
# a letter and a colon or dash next to it well under that. Checked on the dev receipts (docs/ocr.md).
SPACE_GAP = 0.5
# Latin typography: no space goes before these, nor after the openers, nor around a dot between
# letters or digits ("www.example.com", "p.t.2811").
NO_SPACE_BEFORE = frozenset(",.;!?)]}%")
NO_SPACE_AFTER = frozenset("([{")

Box = Sequence[Sequence[float]]


def restore_spaces(page: np.ndarray, text: str, runs: Sequence[str], run_boxes: Sequence[Box], line_box: Box) -> str:
    """text with a space added between neighbouring runs that the page shows apart.

    page: the RGB uint8 image; runs: the line's text split into runs (PaddleX `text_word`, joined they
    give text); run_boxes: each run's box in page pixels (`text_word_region`); line_box: the
    detected line quadrilateral. Lines whose runs do not add up to text come back unchanged."""
    if len(runs) < 2 or "".join(runs) != text or len(runs) != len(run_boxes):
        return text
    line = np.asarray(line_box, dtype=np.float64)
    x0, y0 = np.floor(line.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(line.max(axis=0)).astype(int)
    band = page[y0:y1, x0:x1]
    if band.size == 0:
        return text
    ink = _ink(cv2.cvtColor(band, cv2.COLOR_RGB2GRAY))
    rows = ink.sum(axis=1)
    text_height = int((rows >= 0.2 * rows.max()).sum()) if rows.max() else 0
    if text_height < 4:
        return text
    inked_columns = ink.any(axis=0)
    step = (y1 - y0) / 6  # one recogniser time step: 8 px of a 48 px-high line
    out = runs[0]
    for right, left_box, right_box in zip(runs[1:], run_boxes, run_boxes[1:]):
        if _may_add_space(out, right):
            start = int(max(p[0] for p in left_box) - step) - x0
            stop = int(min(p[0] for p in right_box) + step) - x0
            if _longest_blank(inked_columns[max(start, 0):max(stop, 0)]) >= SPACE_GAP * text_height:
                out += " "
        out += right
    return out


def _may_add_space(before: str, after: str) -> bool:
    a, b = before[-1], after[0]
    if a.isspace() or b.isspace() or b in NO_SPACE_BEFORE or a in NO_SPACE_AFTER:
        return False
    return not (a == "." and len(before) > 1 and before[-2].isalnum() and b.isalnum())


def _ink(band: np.ndarray) -> np.ndarray:
    """Dark pixels of a text band (Otsu threshold)."""
    threshold, _ = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return band < threshold


def _longest_blank(inked: np.ndarray) -> int:
    """Length of the longest run of False in a 1-D boolean array."""
    longest = current = 0
    for value in inked:
        current = 0 if value else current + 1
        longest = max(longest, current)
    return longest
