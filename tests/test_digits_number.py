"""Reading whole numbers: splitting a drawing into digits (separate, split-stroke, touching), order, result."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import digits
from digits.config import MNIST_DIR
from digits.data import load_mnist
from digits.preprocess import find_strokes
from digits.synth import draw_number, ink_crop, place, render, scaled


@pytest.fixture(scope="module")
def by_label() -> dict[str, list[np.ndarray]]:
    """The first MNIST test images of each digit, keyed by the digit as text."""
    images, labels = load_mnist(MNIST_DIR, "test")
    return {str(d): [images[i] for i in np.flatnonzero(labels == d)[:5]] for d in range(10)}


def written(by_label, text: str, factor: float = 6, gaps=None, jitter=None, transparent: bool = False) -> Image.Image:
    """`text` written with MNIST test digits (repeated digits use different samples)."""
    seen: dict[str, int] = {}
    images = []
    for ch in text:
        images.append(by_label[ch][seen.get(ch, 0)])
        seen[ch] = seen.get(ch, 0) + 1
    gaps = [8] * (len(text) - 1) if gaps is None else gaps
    jitter = [0] * len(text) if jitter is None else jitter
    return draw_number(images, factor, gaps, jitter, transparent=transparent)


@pytest.mark.parametrize("text, factor, gaps, jitter", [
    ("2024", 6, [6, 10, 4], [0, 8, -6, 3]),
    ("13579", 8, [3, 12, 5, 7], [-10, 0, 10, -5, 5]),
    ("86", 15, [20], [0, 30]),
    ("402", 3, [2, 3], [0, -2, 2]),
    ("9081726354", 5, [5] * 9, [0, 4, -4, 6, -6, 2, -2, 0, 3, -3]),
])
def test_reads_numbers_written_with_mnist_digits(by_label, text, factor, gaps, jitter):
    result = digits.read_number(written(by_label, text, factor, gaps, jitter))
    assert result.number == text
    assert [d.label for d in result.digits] == list(text)
    lefts = [d.box[0] for d in result.digits]
    assert lefts == sorted(lefts)


def test_transparent_canvas_reads_the_same(by_label):
    assert digits.read_number(written(by_label, "3141", transparent=True)).number == "3141"


def test_digit_drawn_in_two_strokes_is_one_digit(by_label):
    five = scaled(ink_crop(by_label["5"][0]), 8)
    h = five.shape[0]
    five[int(0.22 * h):int(0.30 * h)] = 0  # lift the pen between the 5's hat and its body
    one = scaled(ink_crop(by_label["1"][0]), 8)
    canvas = np.zeros((h + 80, one.shape[1] + five.shape[1] + 120), np.float32)
    place(canvas, one, 40, 40)
    place(canvas, five, 80 + one.shape[1], 40)
    image = render(canvas)
    assert len(find_strokes(image).boxes) == 3, "the 5 should be drawn as two separate strokes"
    assert digits.read_number(image).number == "15"


@pytest.mark.parametrize("text, overlap", [("68", 8), ("09", 4), ("38", 4), ("40", 12), ("83", 4)])
def test_touching_digits_are_split(by_label, text, overlap):
    image = written(by_label, text, factor=8, gaps=[-overlap])
    assert len(find_strokes(image).boxes) == 1, "the two digits should touch"
    result = digits.read_number(image)
    assert result.number == text
    first, second = (d.box for d in result.digits)
    assert first[0] < second[0] and first[2] <= second[2]


def test_specks_between_digits_are_ignored(by_label):
    image = written(by_label, "47", factor=8, gaps=[60])
    page = np.asarray(image).copy()
    height, width = page.shape
    for x in range(20, width - 20, 37):
        page[height - 15:height - 12, x:x + 3] = 0  # dots along the bottom
    page[height // 2:height // 2 + 3, width // 2 - 1:width // 2 + 2] = 0  # a dot between the digits
    assert digits.read_number(Image.fromarray(page)).number == "47"


def test_single_digit_reads_like_predict(by_label):
    image = written(by_label, "6", factor=20)
    result = digits.read_number(image)
    assert result.number == "6"
    np.testing.assert_allclose(result.digits[0].probabilities, digits.predict(image), atol=1e-5)


def test_result_json_and_overlay(by_label):
    image = written(by_label, "305", factor=7, gaps=[10, 10])
    result = digits.read_number(image)
    data = json.loads(json.dumps(result.to_json()))
    assert data["number"] == "305"
    assert [d["label"] for d in data["digits"]] == ["3", "0", "5"]
    for digit in data["digits"]:
        x0, y0, x1, y1 = digit["box"]
        assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height
        assert len(digit["confidences"]) == 3 and digit["confidences"][0]["label"] == digit["label"]
        assert len(digit["probabilities"]) == 10 and abs(sum(digit["probabilities"]) - 1) < 1e-4
    overlay = result.overlay()
    assert overlay.size == image.size and overlay.mode == "RGB"
    x0, y0, x1, _ = data["digits"][1]["box"]
    red = np.asarray(overlay)[y0, x0:x1]  # the top edge of the second box is drawn in red
    assert ((red[:, 0] > 180) & (red[:, 1] < 80)).mean() > 0.9


def test_empty_canvas_raises_a_clear_error():
    with pytest.raises(digits.EmptyCanvasError, match="Draw a digit first"):
        digits.read_number(Image.new("RGBA", (800, 800), (0, 0, 0, 0)))
