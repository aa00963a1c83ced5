"""Training data for the segment model: the pieces the number reader scores, cut from numbers written with
MNIST *training* digits, each labelled with its digit (0-9) or NOT_ONE_DIGIT (part of a digit, parts of two).

Each number is drawn as bench/digits.py draws its test numbers (enlarged, sizes varied, touching or far
apart, on a slope; digits.synth), a little wider in every range, and the drawing remembers which digit each
pixel of ink belongs to. The reader's own stroke groups and candidate cuts (digits.number) are then labelled by how much
of one digit's ink they hold, and how much of their ink is that digit's.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from tqdm import tqdm

from digits.number import Piece, scored_pieces, stroke_groups
from digits.preprocess import find_strokes, to_mnist
from digits.synth import NumberStyle, number_ink, number_layout, render

# bench/digits.py's numbers (NumberStyle()), a little wider in every range and touching more often
STYLE = NumberStyle(factor=(3, 10), spread=0.2, touching_share=0.5, touching=(-8, 2), gaps=(3, 60), slope=0.1,
                    jitter=0.06)
NOT_ONE_DIGIT = 10  # the segment model's eleventh class
WHOLE = 0.92        # a piece holding this fraction of one digit's ink, and made of it by this fraction, is that digit
PART = (0.75, 0.8)  # one holding less than the first of any digit, or made of it by less than the second, is not one
                    # digit; pieces in between are left out (neither clearly right nor clearly wrong)


def owned_pieces(canvas: np.ndarray, owner: np.ndarray, digits: int
                 ) -> Iterator[tuple[Piece, np.ndarray, np.ndarray]]:
    """Every piece the reader scores in a number drawn by digits.synth.number_ink (its ink, and per pixel the
    index of the digit it belongs to), with per digit the share of that digit's ink the piece holds and the
    share of the piece's ink that is that digit's."""
    strokes = find_strokes(render(canvas))
    owner = owner[::strokes.scale, ::strokes.scale][:strokes.labels.shape[0], :strokes.labels.shape[1]]
    totals = np.maximum(np.bincount(owner[(strokes.labels > 0) & (owner >= 0)], minlength=digits), 1)
    for group in stroke_groups(strokes):
        for piece in scored_pieces(group):
            h, w = piece.mask.shape
            ids = owner[piece.y:piece.y + h, piece.x:piece.x + w][piece.mask]
            counts = np.bincount(ids[ids >= 0], minlength=digits)
            yield piece, counts / totals, counts / max(piece.mask.sum(), 1)


def labelled_pieces(canvas: np.ndarray, owner: np.ndarray, labels: np.ndarray) -> Iterator[tuple[np.ndarray, int]]:
    """(28, 28) MNIST-format image and label of every piece the reader scores in this number (ambiguous ones
    left out)."""
    for piece, held, made_of in owned_pieces(canvas, owner, len(labels)):
        best = int(made_of.argmax())
        if held[best] >= WHOLE and made_of[best] >= WHOLE:
            yield to_mnist(piece.ink, piece.mask), int(labels[best])
        elif held[best] < PART[0] or made_of[best] < PART[1]:
            yield to_mnist(piece.ink, piece.mask), NOT_ONE_DIGIT


def make(images: np.ndarray, labels: np.ndarray, numbers: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) uint8 images and (N,) labels from `numbers` numbers of 2-12 random digits of `images`."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in tqdm(range(numbers), desc="numbers", unit="number"):
        picked = rng.choice(len(images), size=int(rng.integers(2, 13)), replace=False)
        canvas, owner = number_ink(images[picked], *number_layout(len(picked), rng, STYLE))
        for x, y in labelled_pieces(canvas, owner, labels[picked]):
            xs.append((x * 255).round().astype(np.uint8))
            ys.append(y)
    return np.stack(xs), np.array(ys, np.int64)
