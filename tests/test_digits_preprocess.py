"""MNIST-style preprocessing of user images: ink polarity, transparency, size, centring, noise, input types."""
from __future__ import annotations

import io
import random
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

import digits
from digits.preprocess import MAX_PIXELS, RASTER_FORMATS, find_strokes, load_image, preprocess
from digits.synth import draw_digit, ink_crop, pen_drawn, place, render


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


# --- Hostile input: only raster formats, PostScript refused, pixel limit, damaged files ------------------------

POSTSCRIPT_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\n{ } loop\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int) -> bytes:
    """A greyscale PNG of any size with almost no pixel data (one compressed row): a few dozen bytes that
    Pillow opens, reading the size from the header; decoding it would need width x height bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(width + 1)))
            + png_chunk(b"IEND", b""))


def encoded(image: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.fixture
def no_ghostscript(monkeypatch):
    """Fail the test if Pillow ever tries to render PostScript (it would run Ghostscript with no time limit)."""
    def refuse(*args, **kwargs):
        raise AssertionError("Pillow ran Ghostscript")
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", refuse)
    monkeypatch.setattr(EpsImagePlugin, "has_ghostscript", lambda: True)


def test_raster_formats_are_a_tuple_of_pillow_formats():
    assert isinstance(RASTER_FORMATS, tuple)
    Image.init()
    assert set(RASTER_FORMATS) <= set(Image.OPEN) and "EPS" not in RASTER_FORMATS


def test_postscript_is_refused_whatever_its_name(tmp_path, no_ghostscript):
    path = tmp_path / "loop.png"
    path.write_bytes(POSTSCRIPT_LOOP)
    binary_eps = b"\xc5\xd0\xd3\xc6" + bytes(26) + POSTSCRIPT_LOOP
    for source in (path, str(path), POSTSCRIPT_LOOP, b"\n  " + POSTSCRIPT_LOOP, binary_eps, Image.open(path)):
        with pytest.raises(digits.InputError, match=r"^PostScript/EPS files are not accepted: "):
            preprocess(source)
    with pytest.raises(digits.InputError, match="PostScript/EPS"):
        digits.read_number(path)


def test_other_formats_are_refused_with_the_accepted_ones_named(drawn, tmp_path):
    small = drawn.resize((80, 80))
    for format in ("ICO", "PCX", "TGA"):
        path = tmp_path / f"digit.{format.lower()}"
        path.write_bytes(encoded(small, format))
        with pytest.raises(digits.InputError, match="it is not a PNG, JPEG, WEBP, TIFF, BMP, GIF or PPM image"):
            preprocess(path)
        with pytest.raises(digits.InputError, match=f"{format} images are not accepted"):
            preprocess(Image.open(path))  # opened elsewhere, not yet decoded


@pytest.mark.parametrize("format", RASTER_FORMATS)
def test_every_accepted_format_reads_the_same(drawn, format):
    image = drawn.convert("RGB") if format == "JPEG" else drawn
    np.testing.assert_allclose(preprocess(encoded(image, format)), preprocess(drawn), atol=0.05)


def test_images_over_the_pixel_limit_are_refused_before_decoding():
    side = int(MAX_PIXELS ** 0.5) + 1
    too_large = r"^The image is too large: .* the limit is 16\.8 megapixels\.$"
    for source in (png_header(9000, 9000), png_header(side, side), png_header(20000, 20000),  # > Pillow's own limit
                   Image.new("L", (side, side)), np.zeros((side, side), bool)):
        with pytest.raises(digits.InputError, match=too_large):
            preprocess(source)
    with pytest.raises(digits.InputError, match=r"9000 x 9000 pixels \(81\.0 megapixels\)"):
        digits.read_number(png_header(9000, 9000))


def test_large_images_are_shrunk_before_the_ink_is_found(mnist):
    large = draw_digit(mnist[0][0], 3000, 400, 500, canvas=(4000, 4000), transparent=True)
    strokes = find_strokes(large)
    assert strokes.scale == 2 and strokes.ink.shape == (2000, 2000)
    reference = preprocess(draw_digit(mnist[0][0], 600, 100, 100))
    assert aligned_difference(preprocess(large), reference) < 0.02
    assert find_strokes(draw_digit(mnist[0][0], 1800, 100, 100, canvas=(2000, 2000))).scale == 1


def test_thin_strokes_on_a_large_drawing_are_thickened_quickly(mnist):
    crop = ink_crop(mnist[0][0])
    ink = pen_drawn(crop, 1800 / max(crop.shape), 8)  # an 8 px pen, 1800 px tall: strokes grow by ~85 px
    canvas = np.zeros((2000, 2000), np.float32)
    place(canvas, ink, 50, 50)
    image = render(canvas)
    started = time.perf_counter()
    probabilities = digits.predict(image)
    assert time.perf_counter() - started < 3  # 6 s when the full-size crop was dilated with an 85 px disk
    assert probabilities.argmax() == mnist[1][0]


@pytest.mark.parametrize("data, message", [
    (b"", "it is empty"),
    (b"not an image, just some text", "it is not a PNG"),
    (b"%PDF-1.7\n1 0 obj\n", "it is not a PNG"),
    (png_header(50, 40)[:-20], "damaged or cut short"),  # pixel data cut short (OSError)
    (png_header(50, 40)[:30], "damaged or cut short"),   # cut inside the header (Pillow: "cannot identify")
    (png_header(50, 40)[:8] + b"\x00\x00\x00\x05" + png_header(50, 40)[12:], "damaged or cut short"),  # ValueError
    (encoded(Image.new("L", (50, 40), 255), "WEBP", exif=b"MM\x00\x15\x00\x00\x00\x08"), "damaged or cut short"),
], ids=["empty", "text", "pdf", "truncated png", "png header cut", "bad IHDR length", "webp with broken exif"])
def test_malformed_bytes_raise_input_error(data, message, tmp_path):
    path = tmp_path / "upload.png"
    path.write_bytes(data)
    for source in (data, path):
        with pytest.raises(digits.InputError, match=message):
            preprocess(source)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning", "ignore:Truncated File Read:UserWarning")
def test_truncated_and_corrupted_files_only_ever_raise_input_error(drawn):
    """Fuzz: every accepted format, cut short or with bytes overwritten, gives an InputError or a reading."""
    rng = random.Random(0)
    small = drawn.resize((60, 60))
    for format in RASTER_FORMATS:
        data = encoded(small.convert("RGB") if format == "JPEG" else small, format)
        for _ in range(60):
            damaged = bytearray(data[:rng.randrange(1, len(data))] if rng.random() < 0.4 else data)
            for _ in range(rng.randint(0, 6)):
                damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            try:
                preprocess(bytes(damaged))
            except digits.InputError as error:
                assert str(error).startswith(("Cannot read the uploaded data: ", "The image is too large: ",
                                              "The image has no pixels.", "Draw a digit first"))
