"""The training data cut from numbers of MNIST training digits: the segment model's pieces and the row model's
rows are the reader's own pieces, labelled with the digits they hold."""
from __future__ import annotations

import numpy as np

from digits import rows, segments
from digits.config import MNIST_DIR
from digits.data import load_mnist
from digits.preprocess import ROW_HEIGHT, ROW_WIDTH
from digits.synth import number_ink


def test_rows_hold_whole_digits_left_to_right_and_the_touching_pair_is_one_row():
    images, labels = load_mnist(MNIST_DIR, "train")
    picked = [0, 1, 2, 3]  # 5 0 4 1; the 0 and the 4 touch, the others stand apart
    canvas, owner = number_ink(images[picked], [6] * 4, [50, -4, 50], [0] * 4)
    text = "".join(map(str, labels[picked]))
    found = list(rows.labelled_rows(canvas, owner, labels[picked], np.random.default_rng(0)))
    assert all(row.shape == (ROW_HEIGHT, ROW_WIDTH) and 0 <= row.min() and row.max() <= 1 for row, _ in found)
    readings = ["".join(map(str, digits)) for _, digits in found]
    assert all(reading in text for reading in readings)  # whole digits only, in writing order
    assert text[1:3] in readings


def test_segment_pieces_are_whole_digits_or_not_one_digit():
    images, labels = load_mnist(MNIST_DIR, "train")
    picked = [0, 1, 2, 3]
    canvas, owner = number_ink(images[picked], [6] * 4, [50, -4, 50], [0] * 4)
    found = list(segments.labelled_pieces(canvas, owner, labels[picked]))
    assert {label for _, label in found} <= set(labels[picked].tolist()) | {segments.NOT_ONE_DIGIT}
    assert segments.NOT_ONE_DIGIT in {label for _, label in found}  # the touching pair, or parts of it
    assert set(labels[picked].tolist()) <= {label for _, label in found}
