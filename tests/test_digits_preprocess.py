"""MNIST-style preprocessing of user images: ink polarity, transparency, size, centring, noise, input types."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

import digits
from digits.config import MNIST_DIR
from digits.data import load_mnist
from digits.preprocess import load_image, preprocess
from digits.synth import draw_digit


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist(MNIST_DIR, "test")


@pytest.fixture(scope="module")
def drawn(mnist) -> Image.Image:
    """Test digit 0 (a 7) drawn 500 px tall, black on a white 800x800 canvas."""
    return draw_digit(mnist[0][0], 500, 150, 120)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((image * rows).sum() / image.sum()), float((image * cols).sum() / image.sum())


@pytest.mark.parametrize("height, x, y", [(500, 150, 120), (60, 700, 20), (250, 0, 540), (30, 5, 760)])
def test_digit_is_20px_with_centre_of_mass_at_14_14(mnist, height, x, y):
    out = preprocess(draw_digit(mnist[0][3], height, x, y))
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 == 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert out.max() == pytest.approx(1.0) and out.min() == 0.0


def test_mnist_images_pass_through_unchanged(mnist):
    images = mnist[0][:300] / 255.0
    out = np.stack([preprocess(im) for im in mnist[0][:300]])
    per_image = np.abs(out - images).mean(axis=(1, 2))
    # Images whose centre of mass lies half way between pixels may move by one pixel, as in MNIST itself.
    assert np.mean(per_image < 0.01) > 0.95
    assert per_image.mean() < 0.01


def aligned_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference, allowing a shift of one pixel (centre of mass rounding)."""
    return min(float(np.abs(np.roll(a, (dy, dx), axis=(0, 1)) - b).mean()) for dy in (-1, 0, 1) for dx in (-1, 0, 1))


def test_mnist_digit_blown_up_to_800px_comes_back_close(mnist):
    images = mnist[0][:100]
    diffs = [aligned_difference(preprocess(draw_digit(im, 600, 100, 100)), im / 255.0) for im in images]
    assert np.mean(diffs) < 0.02
    assert max(diffs) < 0.05


def test_polarity_and_transparency_are_read_from_the_image(drawn):
    reference = preprocess(drawn)
    ink = 255 - np.asarray(drawn).astype(np.int32)
    transparent = np.zeros(ink.shape + (4,), np.uint8)
    transparent[..., 3] = ink
    white_ink = transparent.copy()
    white_ink[..., :3] = 255
    red_on_cream = np.stack([np.full_like(ink, 250), 240 - ink * 240 // 255, 220 - ink * 220 // 255], axis=2)
    variants = {
        "white on black": Image.fromarray(ink.astype(np.uint8)),
        "black on transparent": Image.fromarray(transparent, "RGBA"),
        "white on transparent": Image.fromarray(white_ink, "RGBA"),
        "LA on transparent": Image.fromarray(transparent, "RGBA").convert("LA"),
        "palette": drawn.convert("P"),
        "red on cream RGB": Image.fromarray(red_on_cream.astype(np.uint8), "RGB"),
        "opaque RGBA": drawn.convert("RGBA"),
    }
    for name, image in variants.items():
        np.testing.assert_allclose(preprocess(image), reference, atol=0.03, err_msg=name)


def test_specks_and_faint_background_are_ignored(drawn):
    rng = np.random.default_rng(0)
    page = np.asarray(drawn, dtype=np.float32)
    page = page - 30 * np.linspace(0, 1, page.shape[1])[None, :]      # uneven lighting
    page = page + rng.normal(0, 6, page.shape)                          # sensor noise
    for x, y in rng.integers(10, 790, size=(25, 2)):                    # pen specks
        page[y:y + 3, x:x + 3] = 0
    noisy = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    assert np.abs(preprocess(noisy) - preprocess(drawn)).mean() < 0.02


@pytest.mark.parametrize("canvas", [
    Image.new("L", (800, 800), 255),
    Image.new("RGBA", (800, 800), (0, 0, 0, 0)),
    Image.new("RGB", (400, 300), (40, 40, 40)),
    Image.fromarray(np.random.default_rng(1).normal(240, 4, (600, 600)).clip(0, 255).astype(np.uint8)),
    Image.fromarray(np.pad(np.zeros((2, 2), np.uint8), 399, constant_values=255)),  # one speck
], ids=["white", "transparent", "dark grey", "faint noise", "one speck"])
def test_empty_canvas_raises_a_clear_error(canvas):
    with pytest.raises(digits.EmptyCanvasError, match="Draw a digit first"):
        preprocess(canvas)


def test_accepts_path_bytes_pil_and_arrays(drawn, tmp_path):
    reference = preprocess(drawn)
    buffer = io.BytesIO()
    drawn.save(buffer, format="PNG")
    path = tmp_path / "digit.png"
    path.write_bytes(buffer.getvalue())
    grey = np.asarray(drawn)
    for source in (str(path), path, buffer.getvalue(), grey, np.stack([grey] * 3, axis=2),
                   grey.astype(np.float32) / 255, grey[..., None]):
        np.testing.assert_array_equal(preprocess(source), reference)


def test_unreadable_input_raises_input_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    for source in (b"not an image", tmp_path / "notes.txt", tmp_path / "missing.png", 42, np.zeros((4, 4, 5))):
        with pytest.raises(digits.InputError):
            preprocess(source)


def test_16_bit_greyscale_is_scaled(drawn):
    sixteen = Image.fromarray(np.asarray(drawn).astype(np.uint16) * 257)
    assert load_image(sixteen).mode == "L"
    np.testing.assert_allclose(preprocess(sixteen), preprocess(drawn), atol=1e-3)
