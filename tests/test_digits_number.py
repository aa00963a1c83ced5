"""Reading whole numbers: splitting a drawing into digits (separate, split-stroke, touching), order, result."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

import digits
from digits import number
from digits.number import MAX_DIGITS, MAX_STROKES, _group_strokes
from digits.preprocess import find_strokes
from digits.synth import NumberStyle, draw_number, ink_crop, place, render, scaled, written_number


@pytest.fixture(scope="module")
def by_label(mnist) -> dict[str, list[np.ndarray]]:
    """The first MNIST test images of each digit, keyed by the digit as text."""
    images, labels = mnist
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


@pytest.mark.parametrize("text, gaps", [("17", [-5]), ("71", [-5]), ("14", [-5]), ("50", [-5]),
                                        ("2806", [-4, -4, -3]), ("11", [-3])])
def test_overlapping_digits_are_read(by_label, text, gaps):
    """Ink boxes overlapping by a few px: the digits touch, or overlap in x without touching."""
    assert digits.read_number(written(by_label, text, factor=7, gaps=gaps)).number == text


def seeded_number(mnist: tuple[np.ndarray, np.ndarray], seed: int, text: str, lengths: tuple[int, int],
                  style: NumberStyle = NumberStyle()) -> Image.Image:
    """A number of `lengths` (inclusive) random MNIST test digits written as bench/digits.py writes them, from
    its own random seed; `text` is what it must say."""
    images, labels = mnist
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(images), size=int(rng.integers(lengths[0], lengths[1] + 1)), replace=False)
    assert "".join(map(str, labels[picked])) == text
    return written_number(list(images[picked]), rng, style)


@pytest.mark.parametrize("seed, text", [(17, "125"), (26, "153"), (90, "014"), (134, "197"), (159, "738")])
def test_digits_no_straight_cut_parts_are_read_by_the_row_model(monkeypatch, mnist, seed, text):
    """Numbers of 2-3 MNIST test digits, all touching, written as bench/digits.py writes them, where the digits
    lean into each other: the segment model's best chain keeps two of them as one part (without the row model
    "125" reads "65", "153" reads "8"), so the row model reads the piece whole."""
    image = seeded_number(mnist, seed, text, (2, 3), NumberStyle(touching_share=1.0))
    result = digits.read_number(image)
    assert result.number == text
    lefts = [d.box[0] for d in result.digits]
    assert lefts == sorted(lefts) and len(set(lefts)) == len(text)
    monkeypatch.setattr(number, "ROW_DOUBT", 0.0)  # the row model never asked
    assert len(digits.read_number(image).number) < len(text)


@pytest.mark.parametrize("seed, text", [(28, "7493255990"), (83, "16270639199"), (96, "31437258325"),
                                        (421, "3502479")])
def test_number_model_reads_beside_the_digit_model(monkeypatch, mnist, seed, text):
    """Numbers of 7-12 MNIST test digits written as bench/digits.py writes them, where the digit model alone
    misreads one digit ("7493255990" reads "7493755990"; in "31437258325" and "3502479" a 5 the digit model
    reads right on its own, changed by the cut): read with the number model beside it, they come out exact."""
    from digits.predict import classify

    image = seeded_number(mnist, seed, text, (7, 12))
    assert digits.read_number(image).number == text
    monkeypatch.setattr(number, "classify_number_digits", classify)  # the digit model alone
    assert digits.read_number(image).number != text


@pytest.mark.parametrize("seed, text", [(41, "015984137"), (199, "481543")])
def test_segment_model_cuts_what_its_frozen_convolutions_did_not(mnist, seed, text):
    """Numbers of 2-12 MNIST test digits written as bench/digits.py writes them that the segment model read
    wrong before its every layer was fine-tuned (1.11.0: "95984137", "4815213")."""
    assert digits.read_number(seeded_number(mnist, seed, text, (2, 12))).number == text


def test_written_numbers_floor_with_touching_digits(mnist):
    """100 numbers of 2-6 MNIST test digits written as bench/digits.py writes them (a third of the gaps touching
    or overlapping, sizes and slope varied): the segment model must cut them. Before it (classifier-scored cuts
    only) 88 of these read exactly; with it 97, and all 100 since 2026-12-05 (README: 2-6 digits, n = 1000)."""
    images, labels = mnist
    rng = np.random.default_rng(13)
    exact = 0
    for _ in range(100):
        picked = rng.choice(len(images), size=int(rng.integers(2, 7)), replace=False)
        exact += digits.read_number(written_number(list(images[picked]), rng)).number == "".join(map(str, labels[picked]))
    assert exact >= 95


def test_overlay_labels_never_overlap_and_stay_legible(by_label):
    """Narrow digits close together ("1 90 96%" used to run into each other)."""
    from digits.number import LABEL_MIN_PX

    result = digits.read_number(written(by_label, "1190", factor=6, gaps=[4, 4, 4]))
    assert result.number == "1190"
    labels = result.labels()
    boxes = [box for _, _, box in labels]
    for i, a in enumerate(boxes):
        assert 0 <= a[0] < a[2] <= result.image.width and 0 <= a[1] < a[3] <= result.image.height
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"labels {a} and {b} overlap"
    assert all(font.size >= LABEL_MIN_PX for _, font, _ in labels)
    assert [text.split()[0] for text, _, _ in labels] == list("1190")


def test_specks_between_digits_are_ignored(by_label):
    image = written(by_label, "47", factor=8, gaps=[60])
    page = np.asarray(image).copy()
    height, width = page.shape
    for x in range(20, width - 20, 37):
        page[height - 15:height - 12, x:x + 3] = 0  # dots along the bottom
    page[height // 2:height // 2 + 3, width // 2 - 1:width // 2 + 2] = 0  # a dot between the digits
    assert digits.read_number(Image.fromarray(page)).number == "47"


def test_single_digit_reads_like_predict(by_label):
    """predict finds one digit on the image shrunk to DIGIT_SIDE, read_number at up to MAX_SIDE: same answer."""
    image = written(by_label, "6", factor=20)
    assert max(image.size) > 400, "the drawing should be large enough to be shrunk for predict"
    result = digits.read_number(image)
    assert result.number == "6"
    np.testing.assert_allclose(result.digits[0].probabilities, digits.predict(image), atol=0.01)


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


# --- Hostile input: many strokes, too many digits, huge drawings ------------------------------------------------

def dot_grid(size: int, dot: int, step: int, hairline: bool = False) -> Image.Image:
    """Black dots `dot` px square every `step` px on a white canvas (a hairline keeps tiny dots from being specks)."""
    page = np.full((size, size), 255, np.uint8)
    for y in range(5, size - dot, step):
        for x in range(5, size - dot, step):
            page[y:y + dot, x:x + dot] = 0
    if hairline:
        page[size - 3, 5:20] = 0
    return Image.fromarray(page)


@pytest.mark.parametrize("image, strokes", [
    (dot_grid(800, 12, 20), 1600),                 # a 1.9 KB PNG; took 39 s before the limit
    (dot_grid(800, 3, 10, hairline=True), 6399),   # more than 2 minutes before
])
def test_too_many_strokes_are_refused_quickly(image, strokes):
    started = time.perf_counter()
    with pytest.raises(digits.InputError, match=rf"^Too many separate strokes \({strokes}\) to read as a number; "
                                                rf"the limit is {MAX_STROKES}\.$"):
        digits.read_number(image)
    assert time.perf_counter() - started < 5


def test_stroke_grouping_is_near_linear():
    """4,800 strokes stacked in 12 columns group into 12 digits at once (the old pairwise loop restarted after
    every merge: minutes)."""
    boxes = np.array([(100 * column + (row % 3), 10 * row, 100 * column + 60, 10 * row + 8)
                      for column in range(12) for row in range(400)])
    started = time.perf_counter()
    groups = _group_strokes(boxes, np.full(len(boxes), 100))
    assert time.perf_counter() - started < 1
    assert sorted(len(ids) for ids, _ in groups) == [400] * 12
    assert sorted(box[0] for _, box in groups) == [100 * column for column in range(12)]


def test_more_than_twelve_digits_are_refused(by_label):
    image = written(by_label, "1234567890123", factor=3)
    with pytest.raises(digits.InputError, match=rf"found 13 digit-sized parts; at most {MAX_DIGITS} digits are read"):
        digits.read_number(image)
    assert digits.read_number(written(by_label, "123456789012", factor=3)).number == "123456789012"


def test_a_long_thin_line_answers_quickly():
    """A 2 px line 4,000 px long: it used to be cut again and again (6 minutes, "2129 digits")."""
    page = np.full((300, 4100), 255, np.uint8)
    page[149:151, 50:4050] = 0
    started = time.perf_counter()
    with pytest.raises(digits.InputError, match=rf"found more than {MAX_DIGITS} digit-sized parts"):
        digits.read_number(Image.fromarray(page))
    assert time.perf_counter() - started < 5


def test_large_drawing_reads_the_same_with_boxes_in_input_pixels(by_label):
    image = written(by_label, "2024", factor=30, gaps=[40, 60, 30], transparent=True)  # 2,600 px wide: shrunk
    assert image.width > 2000
    result = digits.read_number(image)
    assert result.number == "2024"
    stroke = np.asarray(image)[..., 3] >= 0.15 * 255  # boxes hold the strokes, not their faint rim
    cols, rows = np.flatnonzero(stroke.any(axis=0)), np.flatnonzero(stroke.any(axis=1))
    boxes = np.array([d.box for d in result.digits])
    assert abs(boxes[:, 0].min() - cols[0]) <= 3 and abs(boxes[:, 2].max() - (cols[-1] + 1)) <= 3
    assert abs(boxes[:, 1].min() - rows[0]) <= 3 and abs(boxes[:, 3].max() - (rows[-1] + 1)) <= 3
    assert result.overlay().size == image.size
