"""Word boxes: split a recognised line into words, each with its own box on the page.

PaddleX reports (return_word_box) the line's text as runs (letters/digits, symbols, spaces) with a
box per run. Every non-space character gets its share of its run's extent along the line; a word
(a maximal run of non-space characters of the final text, spaces restored by ocr/spacing.py
included) spans from its first character's start to its last character's end. The word's box
follows the line quadrilateral across that span, so it keeps the line's height and slant. Lines
whose runs do not match the text (a tile cut, an unexpected PaddleX output) share the line's
length out evenly per character.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layout import Word

Box = Sequence[Sequence[float]]


def split_words(text: str, score: float, runs: Sequence[str], run_boxes: Sequence[Box], line_box: Box) -> tuple[Word, ...]:
    """The words of a line, left to right; box: the line quadrilateral (4 points clockwise from
    top-left); score: the line's confidence, given to each word (the recogniser has no per-word score)."""
    quad = np.asarray(line_box, dtype=np.float64)
    if quad.shape != (4, 2):
        return ()
    spans = _char_spans(text, runs, run_boxes, quad)
    words: list[Word] = []
    start = None
    for k, char in enumerate(text + " "):
        if not char.isspace() and start is None:
            start = k
        elif char.isspace() and start is not None:
            t0, t1 = spans[start][0], spans[k - 1][1]
            words.append(Word(text=text[start:k], score=score, box=_slice(quad, t0, t1)))
            start = None
    return tuple(words)


def _char_spans(text: str, runs: Sequence[str], run_boxes: Sequence[Box], quad: np.ndarray) -> list[tuple[float, float]]:
    """(start, end) of each character of text as fractions of the line's length (0 = left end)."""
    from_runs = _run_spans(runs, run_boxes, quad)
    solid = [i for i, c in enumerate(text) if not c.isspace()]
    if from_runs is None or len(from_runs) != len(solid) or [c for c, _ in from_runs] != [text[i] for i in solid]:
        n = max(len(text), 1)
        return [(k / n, (k + 1) / n) for k in range(len(text))]
    spans = [(0.0, 0.0)] * len(text)
    for i, (_, span) in zip(solid, from_runs):
        spans[i] = span
    return spans


def _run_spans(runs: Sequence[str], run_boxes: Sequence[Box], quad: np.ndarray) -> list[tuple[str, tuple[float, float]]] | None:
    """Each non-space character of the runs with its span along the line; None if unusable."""
    if not runs or len(runs) != len(run_boxes):
        return None
    origin, axis = quad[0], quad[1] - quad[0]
    length2 = float(axis @ axis)
    if length2 <= 0:
        return None
    chars: list[tuple[str, tuple[float, float]]] = []
    for run, box in zip(runs, run_boxes):
        points = np.asarray(box, dtype=np.float64).reshape(-1, 2)
        if not run or points.size == 0:
            continue
        along = (points - origin) @ axis / length2
        lo, hi = float(np.clip(along.min(), 0, 1)), float(np.clip(along.max(), 0, 1))
        step = (hi - lo) / len(run)
        chars.extend((c, (lo + k * step, lo + (k + 1) * step)) for k, c in enumerate(run) if not c.isspace())
    return chars


def _slice(quad: np.ndarray, t0: float, t1: float) -> tuple[tuple[float, float], ...]:
    """The part of the line quadrilateral between fractions t0 and t1 of its length."""
    top = lambda t: quad[0] + (quad[1] - quad[0]) * t  # noqa: E731
    bottom = lambda t: quad[3] + (quad[2] - quad[3]) * t  # noqa: E731
    points = (top(t0), top(t1), bottom(t1), bottom(t0))
    return tuple((round(float(x), 1), round(float(y), 1)) for x, y in points)
