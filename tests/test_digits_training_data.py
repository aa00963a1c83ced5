"""The training data cut from numbers of MNIST training digits: the segment model's pieces and the row model's
rows are the reader's own pieces, labelled with the digits they hold."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digits import rows, segments
from digits.data import load_mnist
from digits.preprocess import ROW_HEIGHT, ROW_WIDTH
from digits.synth import number_ink


@pytest.fixture(scope="module")
def five_zero_four_one(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first four MNIST training digits (5 0 4 1) written as a number where the 0 and the 4 touch and the
    others stand apart: (canvas, owner of each pixel, labels)."""
    images, labels = load_mnist(mnist_dir, "train")
    canvas, owner = number_ink(images[:4], [6] * 4, [50, -4, 50], [0] * 4)
    return canvas, owner, labels[:4]


def test_rows_hold_whole_digits_left_to_right_and_the_touching_pair_is_one_row(five_zero_four_one):
    canvas, owner, labels = five_zero_four_one
    text = "".join(map(str, labels))
    found = list(rows.labelled_rows(canvas, owner, labels, np.random.default_rng(0)))
    assert all(row.shape == (ROW_HEIGHT, ROW_WIDTH) and 0 <= row.min() and row.max() <= 1 for row, _ in found)
    readings = ["".join(map(str, digits)) for _, digits in found]
    assert all(reading in text for reading in readings)  # whole digits only, in writing order
    assert text[1:3] in readings


def test_segment_pieces_are_whole_digits_or_not_one_digit(five_zero_four_one):
    canvas, owner, labels = five_zero_four_one
    found = list(segments.labelled_pieces(canvas, owner, labels))
    assert {label for _, label in found} <= set(labels.tolist()) | {segments.NOT_ONE_DIGIT}
    assert segments.NOT_ONE_DIGIT in {label for _, label in found}  # the touching pair, or parts of it
    assert set(labels.tolist()) <= {label for _, label in found}
