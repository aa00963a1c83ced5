"""Turn what the caller gives recognize() into RGB pages: paths, bytes, PIL images, numpy arrays, PDFs."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Union

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from .config import Settings
from .errors import InputError
from .pdf import open_pdf

Source = Union[str, os.PathLike, bytes, bytearray, Image.Image, np.ndarray]

PDF_MAGIC = b"%PDF-"
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WIDE_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


@dataclass
class Document:
    """The pages of one input, produced lazily (PDF pages are rendered one at a time)."""

    page_count: int
    pages: Iterator[np.ndarray]  # RGB uint8, H x W x 3


def open_document(source: Source, config: Settings) -> Document:
    """Validate the source and prepare its pages; raises InputError with a readable reason."""
    if isinstance(source, Image.Image):
        return _single(image_to_rgb(source, config.max_pixels))
    if isinstance(source, np.ndarray):
        return _single(array_to_rgb(source, config.max_pixels))
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_file(Path(source))
    else:
        raise InputError(
            f"Cannot read input of type {type(source).__name__}; give a file path, bytes, "
            "a PIL image or a numpy array."
        )
    if not data:
        raise InputError("The file is empty (0 bytes).")
    if PDF_MAGIC in data[:1024]:
        return Document(*open_pdf(data, config))
    return _single(decode_image(data, config.max_pixels))


def _single(page: np.ndarray) -> Document:
    return Document(page_count=1, pages=iter([page]))


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"File not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a file.") from None
    except OSError as error:
        raise InputError(f"Cannot read {path}: {error.strerror or error}.") from None


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Reject images larger than max_pixels before any pixel data is decoded."""
    if width * height > max_pixels:
        raise InputError(
            f"The image is too large: {width} x {height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {max_pixels / 1e6:.1f} megapixels (OCR_MAX_PIXELS)."
        )
    if width < 1 or height < 1:
        raise InputError("The image has no pixels.")


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode image bytes (any format Pillow reads) into an upright RGB array."""
    try:
        image = Image.open(BytesIO(data))  # reads the header only
    except Image.DecompressionBombError:  # Pillow's own limit, in case OCR_MAX_PIXELS is higher
        raise InputError(
            f"The image is too large: more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise InputError(
            "The file is neither a PDF nor an image format that can be read (PNG, JPEG, TIFF, BMP, "
            "GIF, WebP...). Check that it really is a scan or photo."
        ) from None
    return image_to_rgb(image, max_pixels)


def image_to_rgb(image: Image.Image, max_pixels: int) -> np.ndarray:
    """Apply EXIF orientation and convert any mode to RGB uint8, flattening transparency on white."""
    check_pixels(image.width, image.height, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise InputError(
            f"The {image.format or 'image'} file is damaged or incomplete (it may have been cut off "
            "during upload) and cannot be decoded."
        ) from None
    try:
        if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:
            image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        pass  # unreadable EXIF: keep the stored orientation
    if image.mode in _WIDE_MODES:
        return _wide_to_rgb(np.asarray(image), image.mode)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image)


def _wide_to_rgb(values: np.ndarray, mode: str) -> np.ndarray:
    """16-bit or float greyscale to 8-bit RGB."""
    values = values.astype(np.float32)
    if mode.startswith("I;16") or (mode == "I" and values.max(initial=0) > 255):
        values = values / 257.0
    elif mode == "F" and values.max(initial=0) <= 1.0:
        values = values * 255.0
    grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def array_to_rgb(array: np.ndarray, max_pixels: int) -> np.ndarray:
    """A numpy image (H x W grey, H x W x 3 RGB or H x W x 4 RGBA; uint8, uint16, bool or float
    in [0, 1]) to RGB uint8."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(
            f"A numpy image must be H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA); got shape {array.shape}."
        )
    check_pixels(array.shape[1], array.shape[0], max_pixels)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype == np.uint16:
        array = (array / 257.0).round().astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        scale = 255.0 if np.nanmax(array, initial=0) <= 1.0 else 1.0
        array = np.clip(np.nan_to_num(array) * scale, 0, 255).round().astype(np.uint8)
    elif array.dtype != np.uint8:
        raise InputError(f"Unsupported numpy image dtype {array.dtype}; use uint8, uint16, bool or float.")
    return image_to_rgb(Image.fromarray(np.ascontiguousarray(array)), max_pixels)
