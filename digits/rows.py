"""Training data for the row model: pieces of touching digits as the number reader cuts them (stroke groups and
the candidate digits of its cuts), from numbers written with MNIST *training* digits, each labelled with the
digits it holds whole, left to right (1 to ROW_DIGITS of them).

The numbers are drawn as for the segment model (digits.segments.STYLE: touching more often than the bench's);
pieces holding part of a digit beyond a sliver are left out.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from digits.preprocess import ROW_DIGITS, to_row
from digits.segments import STYLE, WHOLE, owned_pieces
from digits.synth import number_ink, number_layout

SLIVER = 0.04       # a piece may hold this fraction of its ink from digits it does not hold whole
SINGLES_KEPT = 0.2  # share of the one-digit pieces kept (they are most; the digit model reads them anyway)


def labelled_rows(canvas: np.ndarray, owner: np.ndarray, labels: np.ndarray, rng: np.random.Generator
                  ) -> Iterator[tuple[np.ndarray, list[int]]]:
    """(ROW_HEIGHT, ROW_WIDTH) row images and their digits, left to right, of the clean pieces the reader
    scores in this number (its digits are written left to right in index order)."""
    seen = set()
    for piece, held, made_of in owned_pieces(canvas, owner, len(labels)):
        key = (piece.box(), int(piece.mask.sum()))  # cuts through the gap between two digits: the same piece
        if key in seen:
            continue
        seen.add(key)
        whole = np.flatnonzero(held >= WHOLE)
        if not 1 <= len(whole) <= ROW_DIGITS or made_of[whole].sum() < 1 - SLIVER:
            continue
        if len(whole) == 1 and rng.random() >= SINGLES_KEPT:
            continue
        yield to_row(piece.ink, piece.mask), [int(labels[k]) for k in whole]


def make(images: np.ndarray, labels: np.ndarray, numbers: int, seed: int) -> tuple[np.ndarray, list[list[int]]]:
    """(N, ROW_HEIGHT, ROW_WIDTH) uint8 row images and their digit sequences from `numbers` numbers of 2-12
    random digits of `images`."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in tqdm(range(numbers), desc="numbers", unit="number", mininterval=10):
        picked = rng.choice(len(images), size=int(rng.integers(2, 13)), replace=False)
        canvas, owner = number_ink(images[picked], *number_layout(len(picked), rng, STYLE))
        for x, y in labelled_rows(canvas, owner, labels[picked], rng):
            xs.append((x * 255).round().astype(np.uint8))
            ys.append(y)
    return np.stack(xs), ys
