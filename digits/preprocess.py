"""Any image of handwriting -> MNIST-format 28x28 digits.

Steps, as MNIST itself was made: open the image (raster formats only, size checked before decoding; large
images are shrunk first), find the ink (polarity or alpha decided from the image), drop faint
background and specks, crop to the ink, scale the longer side to 20 px (anti-aliased), paste into 28x28
with the centre of mass at (14, 14). Output images hold ink 1.0 on a 0.0 background.
"""
from __future__ import annotations

import functools
import io
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digits.errors import EmptyCanvasError, InputError

ImageSource = Union[str, os.PathLike, bytes, bytearray, Image.Image, np.ndarray, None]

RASTER_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PPM")  # the only formats Image.open may try
_OPENED_FORMATS = frozenset(RASTER_FORMATS) | {"MPO"}  # Image.format of those (a phone's multi-picture JPEG: MPO)
MAX_PIXELS = 4096 * 4096  # larger images (width x height) are refused before their pixels are decoded
MAX_SIDE = 2000           # images with a longer side are shrunk (whole factor, box filter) before the ink is found
DIGIT_SIDE = 400          # ...or to this for a single digit (preprocess): the model sees 20 px of it, and a quarter
                          # of the pixels of an 800 px canvas halves the work of a /digit call
_POSTSCRIPT = (b"%!", b"\xc5\xd0\xd3\xc6")  # a PostScript program (after blanks), a DOS EPS binary header
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")  # how RASTER_FORMATS start
# What Pillow raises for damaged image data (found by fuzzing truncated and corrupted files of each format).
_DAMAGED = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error, zlib.error)

MIN_CONTRAST = 24 / 255  # strongest ink weaker than this (fraction of full scale): the canvas is empty
FAINT = 0.08             # ink below this fraction of the strongest ink is background
STROKE = 0.15            # ink at or above this fraction of the strongest ink forms strokes
SPECK = 0.02             # strokes with less area than this fraction of the largest stroke are specks
MIN_EXTENT = 0.015       # the largest stroke must span this fraction of the image's longer side...
MIN_EXTENT_PX = 3        # ...and at least this many pixels, or the canvas counts as empty
THIN = 0.06              # strokes thinner than this fraction of the digit's size are thickened...
THICK_TARGET = 0.10      # ...to this fraction (MNIST's median is 0.12)
MAX_RADIUS = 24          # growing strokes by more px is done on a copy shrunk by a whole factor (bounds the cost)
BOX = 20                 # MNIST: longer side of the digit
SIZE = 28                # MNIST: image side
CENTRE = 14.0            # MNIST: centre of mass (row, column)
ROW_HEIGHT, ROW_WIDTH = 32, 112  # the row model's input: a piece of touching digits...
ROW_INK = 28             # ...scaled to this height, left-aligned after ROW_MARGIN px (squeezed if wider)
ROW_MARGIN = 4
ROW_MAX_ASPECT = (ROW_WIDTH - 2 * ROW_MARGIN) / ROW_INK  # wider pieces do not fit (to_row squeezes them)
ROW_DIGITS = 3           # the row model reads pieces of up to this many digits
ROW_BLANK = 10           # the row model's last output: the CTC blank (after the digits 0-9)
ROW_STRIDE = 4           # input columns per output column of the row model
# Pixel statistics of the MNIST training set (ink = 1.0 on a 0.0 background): the model's input normalisation.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

_3x3 = np.ones((3, 3), np.uint8)


@dataclass
class Strokes:
    """Ink of one image after cleaning, split into connected strokes."""

    ink: np.ndarray     # (H, W) float32 in [0, 1]: 1.0 is the strongest ink, specks and faint background are 0
    labels: np.ndarray  # (H, W) int32: stroke id 1..K per pixel, 0 for background
    boxes: np.ndarray   # (K, 4) int: x0, y0, x1, y1 (end exclusive) of stroke id k at row k - 1
    areas: np.ndarray   # (K,) int: pixels of stroke id k at k - 1
    scale: int = 1      # input pixels per pixel of these arrays (large images are shrunk first)


def load_image(source: ImageSource) -> Image.Image:
    """Open a path, encoded bytes, PIL image or numpy array as a PIL image in mode L, LA, RGB or RGBA.
    None (nothing drawn or sent) raises EmptyCanvasError; anything else unusable raises InputError."""
    if source is None:
        raise EmptyCanvasError()
    if isinstance(source, Image.Image):
        image = _checked(source, "the image")
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    elif isinstance(source, (bytes, bytearray, memoryview)):
        image = _open(io.BytesIO(bytes(source)), "the uploaded data")
    elif isinstance(source, (str, os.PathLike)):
        if not os.path.isfile(source):
            raise InputError(f"Image file not found: {source}")
        with open(source, "rb") as file:
            image = _open(file, os.fspath(source))
    else:
        raise InputError(f"Cannot read an image from a {type(source).__name__}; pass a path, bytes, "
                         "a PIL image or a numpy array.")
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode.startswith("I;16"):
        return Image.fromarray((np.asarray(image, dtype=np.float32) / 257).astype(np.uint8))
    has_alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB" if len(image.getbands()) > 1 else "L")


def _check_size(width: int, height: int) -> None:
    """Raise InputError for an image with no pixels or more than MAX_PIXELS (checked before decoding)."""
    if width * height > MAX_PIXELS:
        raise _too_large(f"{width} x {height} pixels ({width * height / 1e6:.1f} megapixels)")
    if width < 1 or height < 1:
        raise InputError("The image has no pixels.")


def _too_large(size: str) -> InputError:
    return InputError(f"The image is too large: {size}; the limit is {MAX_PIXELS / 1e6:.1f} megapixels.")


def _postscript(name: str) -> InputError:
    return InputError(f"PostScript/EPS files are not accepted: {name} is one (a program, not a picture). "
                      f"Send a {_accepted()} image.")


def _open(file: BinaryIO, name: str) -> Image.Image:
    """Decode an image file of one of RASTER_FORMATS, upright (EXIF rotation applied); its size is checked
    from the header before any pixel data is decoded."""
    head = file.read(1024)
    file.seek(0)
    if not head:
        raise InputError(f"Cannot read {name}: it is empty (0 bytes).")
    if head.lstrip(b" \t\r\n\f\x00").removeprefix(b"\xef\xbb\xbf").startswith(_POSTSCRIPT):
        raise _postscript(name)
    with _reading(name, looks_like_image=_looks_raster(head)):
        image = Image.open(file, formats=RASTER_FORMATS)  # reads the header only
    image = _checked(image, name)
    with _reading(name):
        ImageOps.exif_transpose(image, in_place=True)  # in place: a copy of every upload costs ~10 ms
    return image


def _checked(image: Image.Image, name: str) -> Image.Image:
    """The image, size-checked and then decoded (PIL images may still be lazy: one read from a file of another
    format than RASTER_FORMATS is refused before that, as loading an EPS image runs Ghostscript)."""
    if image.format == "EPS":
        raise _postscript(name)
    if image.format is not None and image.format not in _OPENED_FORMATS:
        raise InputError(f"Cannot read {name}: {image.format} images are not accepted; send a {_accepted()} image.")
    _check_size(image.width, image.height)
    with _reading(name):
        image.load()
    return image


@contextmanager
def _reading(name: str, looks_like_image: bool = True) -> Iterator[None]:
    """Pillow's errors while opening or decoding `name`, as InputErrors that say what is wrong (an unidentified
    file that starts like one of RASTER_FORMATS is a damaged image, not a file of another kind)."""
    damaged = f"Cannot read {name}: the image data is damaged or cut short"
    try:
        yield
    except UnidentifiedImageError:
        if looks_like_image:
            raise InputError(f"{damaged}.") from None
        raise InputError(f"Cannot read {name}: it is not a {_accepted()} image.") from None
    except Image.DecompressionBombError:  # Pillow's own limit (2 x Image.MAX_IMAGE_PIXELS), hit while opening
        raise _too_large(f"more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels") from None
    except _DAMAGED as exc:
        raise InputError(f"{damaged} ({exc}).") from exc


def _looks_raster(head: bytes) -> bool:
    """Whether a file's first 12 bytes are the signature of one of RASTER_FORMATS."""
    return head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def _accepted() -> str:
    """'PNG, JPEG, ... or PPM': the accepted formats, for messages."""
    return f"{', '.join(RASTER_FORMATS[:-1])} or {RASTER_FORMATS[-1]}"


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (2, 3, 4))):
        raise InputError(f"Cannot read an image from an array of shape {array.shape}; expected (H, W), "
                         "(H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4).")
    _check_size(array.shape[1], array.shape[0])
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.asarray(array, dtype=np.float64)
        if np.nanmax(array) <= 1.0:
            array = array * 255
        array = np.clip(np.nan_to_num(array), 0, 255).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))  # mode from the shape: L, LA, RGB or RGBA


def ink_map(image: Image.Image) -> np.ndarray:
    """(H, W) float32: how strongly each pixel is ink, 1.0 for the strongest; faint background is 0.

    Transparent canvas (alpha at the border mostly clear): the ink is the alpha channel. Otherwise the
    paper colour is the median of the border and the ink is the colour deviation from it, darker or lighter
    than the paper, whichever reaches further. (Computed on 8-bit channels with OpenCV: float arrays and
    numpy's max over the channel axis cost ~100 ms per 800x800 canvas.)
    """
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    colour = pixels
    if image.mode in ("LA", "RGBA"):
        colour, alpha = pixels[..., :-1], pixels[..., -1]
        if alpha.min() < 255:
            if np.median(_border(alpha[..., None])) < 128:
                return _relative(alpha)
            opaque = colour[alpha >= 128]
            paper = np.median(opaque if len(opaque) else colour.reshape(-1, colour.shape[2]), axis=0)
            weight = alpha[..., None].astype(np.float32) / 255
            colour = (colour * weight + paper * (1 - weight)).round().astype(np.uint8)
    paper = np.median(_border(colour), axis=0).round().astype(np.uint8)
    channels = cv2.split(np.ascontiguousarray(colour))
    darker = functools.reduce(cv2.max, [cv2.subtract(np.full_like(c, p), c) for c, p in zip(channels, paper)])
    lighter = functools.reduce(cv2.max, [cv2.subtract(c, np.full_like(c, p)) for c, p in zip(channels, paper)])
    return _relative(darker if darker.max() >= lighter.max() else lighter)


def _border(pixels: np.ndarray) -> np.ndarray:
    """(N, C) pixels of the outer ring (2% of the shorter side, at least 1 px)."""
    ring = max(1, round(0.02 * min(pixels.shape[:2])))
    channels = pixels.shape[2]
    strips = (pixels[:ring], pixels[-ring:], pixels[ring:-ring, :ring], pixels[ring:-ring, -ring:])
    return np.concatenate([strip.reshape(-1, channels) for strip in strips])


def _relative(ink: np.ndarray) -> np.ndarray:
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST * 255:
        raise EmptyCanvasError()
    ink = ink.astype(np.float32) * np.float32(1 / strongest)
    ink[ink < FAINT] = 0
    return ink


def _shrunk(image: Image.Image, max_side: int = MAX_SIDE) -> tuple[Image.Image, int]:
    """The image reduced by the smallest whole factor that brings its longer side to max_side or less (each
    pixel the mean of factor x factor input pixels, colour weighted by alpha), and the factor."""
    factor = -(-max(image.size) // max_side)
    if factor == 1:
        return image, 1
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(image.mode)
    if premultiplied is None:
        return image.reduce(factor), factor
    return image.convert(premultiplied).reduce(factor).convert(image.mode), factor


def find_strokes(source: ImageSource, max_side: int = MAX_SIDE) -> Strokes:
    """Clean ink of an image (shrunk first if its longer side exceeds max_side) split into connected strokes;
    raises EmptyCanvasError if there is none."""
    image, scale = _shrunk(load_image(source), max_side)
    ink = ink_map(image)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink >= STROKE).astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if len(areas) == 0:
        raise EmptyCanvasError()
    largest = stats[1 + areas.argmax()]
    extent = max(largest[cv2.CC_STAT_WIDTH], largest[cv2.CC_STAT_HEIGHT])
    if extent < max(MIN_EXTENT_PX, MIN_EXTENT * max(ink.shape)):
        raise EmptyCanvasError()
    keep = 1 + np.flatnonzero(areas >= SPECK * areas.max())
    relabel = np.zeros(count, np.int32)
    relabel[keep] = np.arange(1, len(keep) + 1)
    labels = relabel[labels]
    ink[cv2.dilate((labels > 0).astype(np.uint8), _3x3) == 0] = 0
    x, y, w, h = (stats[keep, i] for i in range(4))
    return Strokes(ink=ink, labels=labels, boxes=np.stack([x, y, x + w, y + h], axis=1), areas=areas[keep - 1],
                   scale=scale)


def to_mnist(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(28, 28) float32 MNIST-format image of the strokes in `mask` (with their anti-aliased rim)."""
    digit = np.where(cv2.dilate(mask.astype(np.uint8), _3x3) > 0, ink, 0).astype(np.float32)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    if len(rows) == 0:
        raise EmptyCanvasError()
    digit = _thicken_thin_strokes(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])

    h, w = digit.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(digit, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    small = np.clip(small / small.max(), 0, 1)

    h, w = small.shape
    total = small.sum()
    cy = small.sum(axis=1) @ np.arange(h) / total
    cx = small.sum(axis=0) @ np.arange(w) / total
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top:top + h, left:left + w] = small
    return out


def row_width(width: int, height: int) -> int:
    """Columns of the row model's input that the ink of a piece width x height px fills (after ROW_MARGIN)."""
    return min(ROW_WIDTH - 2 * ROW_MARGIN, max(1, round(width * ROW_INK / height)))


def to_row(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(ROW_HEIGHT, ROW_WIDTH) float32 image of the strokes in `mask` for the row model: ink height ROW_INK,
    the aspect ratio kept (squeezed to fit if wider), vertically centred, ROW_MARGIN px from the left."""
    piece = np.where(cv2.dilate(mask.astype(np.uint8), _3x3) > 0, ink, 0).astype(np.float32)
    rows, cols = np.flatnonzero(piece.any(axis=1)), np.flatnonzero(piece.any(axis=0))
    if len(rows) == 0:
        raise EmptyCanvasError()
    piece = piece[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = piece.shape
    size = (row_width(w, h), ROW_INK)
    small = cv2.resize(piece, size, interpolation=cv2.INTER_AREA if h > ROW_INK else cv2.INTER_LINEAR)
    out = np.zeros((ROW_HEIGHT, ROW_WIDTH), np.float32)
    top = (ROW_HEIGHT - ROW_INK) // 2
    out[top:top + ROW_INK, ROW_MARGIN:ROW_MARGIN + size[0]] = np.clip(small / max(small.max(), 1e-6), 0, 1)
    return out


def _thicken_thin_strokes(digit: np.ndarray) -> np.ndarray:
    """Grow pen strokes much thinner than MNIST's (relative to the digit's size) to an MNIST-like width. A large
    digit (growth over MAX_RADIUS px) is shrunk first: dilation costs grow with the radius squared."""
    strokes = (digit >= STROKE).astype(np.uint8)
    contours, _ = cv2.findContours(strokes, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, closed=True) for c in contours)
    longer = max(digit.shape)
    width = 2 * float(strokes.sum()) / max(perimeter, 1.0) / longer  # area / half perimeter
    radius = round((THICK_TARGET - width) * longer / 2)
    if width >= THIN or radius < 1:
        return digit
    factor = -(-radius // MAX_RADIUS)
    if factor > 1:
        h, w = digit.shape
        digit = cv2.resize(digit, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
        radius = round(radius / factor)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(np.pad(digit, radius), disk)


def normalise(images):
    """The model's input normalisation of [0, 1] MNIST-format images (numpy arrays or torch tensors): the one
    definition, applied inside DigitNet (and so inside its ONNX export); callers pass plain [0, 1] images."""
    return (images - MNIST_MEAN) / MNIST_STD


def preprocess(source: ImageSource) -> np.ndarray:
    """(28, 28) float32 MNIST-format image (ink 1.0 on 0.0) of the single digit drawn in `source`."""
    strokes = find_strokes(source, DIGIT_SIDE)
    return to_mnist(strokes.ink, strokes.labels > 0)

