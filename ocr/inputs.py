"""Turn what the caller gives recognize() into RGB pages: paths, bytes, PIL images, numpy arrays, PDFs,
multi-page TIFFs.

Only the raster formats in RASTER_FORMATS are ever decoded (every Image.open in ocr/ passes
formats=RASTER_FORMATS): Pillow also recognises PostScript/EPS by content, whatever the file name,
and renders it by running Ghostscript with no time limit, so a 74-byte "{ } loop" file would hang
the call forever. PostScript is recognised by its header and refused with its own message.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Union

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps, UnidentifiedImageError

from .config import Settings
from .errors import InputError
from .pdf import open_pdf

Source = Union[str, os.PathLike, bytes, bytearray, Image.Image, np.ndarray]

# Pillow formats (Image.open(fp, formats=RASTER_FORMATS)) that scans and photos of documents come
# in; all are decoded inside the process by Pillow's own C code, none runs another program.
RASTER_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PPM")
# Image.format values those openers produce: a phone's multi-picture JPEG opens as "MPO".
ACCEPTED_IMAGE_FORMATS = frozenset(RASTER_FORMATS) | {"MPO"}
FORMAT_NAMES = "PNG, JPEG, WebP, TIFF, BMP, GIF, PPM"

PDF_MAGIC = b"%PDF-"
POSTSCRIPT_MAGIC = b"%!"  # "%!PS-Adobe-3.0", "%!PS", "%!" all start a PostScript program
EPS_BINARY_MAGIC = b"\xc5\xd0\xd3\xc6"  # DOS EPS binary header
_LEADING_BLANKS = b" \t\r\n\f\x00"
_UTF8_BOM = b"\xef\xbb\xbf"
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_WIDE_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
PIXEL_BAND = 512  # rows of pixels copied out of Pillow at a time (see _rgb_array)

POSTSCRIPT_REFUSED = (
    "PostScript/EPS files are not accepted: reading them means running a PostScript program. "
    "Convert the file to PDF or PNG and upload it again."
)
NOT_AN_IMAGE = (
    f"The file is neither a PDF nor an image format that can be read ({FORMAT_NAMES}). "
    "Check that it really is a scan or photo."
)


@dataclass
class Document:
    """The pages of one input, produced lazily (PDF and TIFF pages are decoded one at a time)."""

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
    kind = sniff(data)
    if kind == "postscript":
        raise InputError(POSTSCRIPT_REFUSED)
    if kind == "pdf":
        return Document(*open_pdf(data, config))
    return decode_document(data, config)


def sniff(data: bytes) -> str:
    """"pdf" or "postscript" when the file starts with that header (after blanks or a UTF-8
    byte-order mark), else "image". A "%PDF-" further in (a PNG text chunk, say) does not count."""
    head = data[:1024]
    if head.startswith(EPS_BINARY_MAGIC):
        return "postscript"
    head = head.lstrip(_LEADING_BLANKS)
    head = head[len(_UTF8_BOM):].lstrip(_LEADING_BLANKS) if head.startswith(_UTF8_BOM) else head
    if head.startswith(PDF_MAGIC):
        return "pdf"
    if head.startswith(POSTSCRIPT_MAGIC):
        return "postscript"
    return "image"


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


def open_image(data: bytes) -> Image.Image:
    """Read the header of an image in one of RASTER_FORMATS (no pixels decoded yet)."""
    try:
        return Image.open(BytesIO(data), formats=RASTER_FORMATS)
    except Image.DecompressionBombError:  # Pillow's own limit, in case OCR_MAX_PIXELS is higher
        raise InputError(
            f"The image is too large: more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels."
        ) from None
    except UnidentifiedImageError:
        raise InputError(NOT_AN_IMAGE) from None
    except (OSError, SyntaxError, ValueError, EOFError):  # a header Pillow recognised but cannot parse
        raise InputError("The image file is damaged or incomplete and cannot be decoded.") from None


def decode_document(data: bytes, config: Settings) -> Document:
    """An image file as a document: every page of a multi-page TIFF, the first frame of anything
    else (animated GIF/WebP frames and the second picture of an MPO are not pages)."""
    image = open_image(data)
    if image.format != "TIFF":
        return _single(image_to_rgb(image, config.max_pixels))
    count = _frame_count(image, config.max_pdf_pages + 1)
    if count > config.max_pdf_pages:
        raise InputError(
            f"The TIFF file has more than {config.max_pdf_pages} pages; at most {config.max_pdf_pages} pages "
            "are read per file (OCR_MAX_PDF_PAGES). Split it into smaller files."
        )
    return Document(count, _tiff_pages(image, count, config.max_pixels))


def _frame_count(image: Image.Image, most: int) -> int:
    """Number of frames, counting no further than most (each seek reads one more directory)."""
    count = 1
    while count < most:
        try:
            image.seek(count)
        except EOFError:
            break
        except (OSError, SyntaxError, ValueError):
            raise InputError(f"Page {count + 1} of the TIFF file is damaged and cannot be read.") from None
        count += 1
    image.seek(0)
    return count


def _tiff_pages(image: Image.Image, count: int, max_pixels: int) -> Iterator[np.ndarray]:
    """The TIFF's pages one at a time, each checked against the pixel limit before decoding."""
    for index in range(count):
        try:
            image.seek(index)
        except (EOFError, OSError, SyntaxError, ValueError):
            raise InputError(f"Page {index + 1} of the TIFF file is damaged and cannot be read.") from None
        yield image_to_rgb(image, max_pixels)


def check_format(image: Image.Image) -> None:
    """Refuse a PIL image read from a file in a format outside RASTER_FORMATS before its pixels are
    loaded: loading an EPS image runs Ghostscript. Images made in memory have no format."""
    if not isinstance(image, ImageFile.ImageFile) or image.format is None:
        return
    if image.format == "EPS":
        raise InputError(POSTSCRIPT_REFUSED)
    if image.format not in ACCEPTED_IMAGE_FORMATS:
        raise InputError(f"{image.format} images are not accepted ({FORMAT_NAMES} are); convert it to PNG or JPEG.")


def image_to_rgb(image: Image.Image, max_pixels: int) -> np.ndarray:
    """Apply EXIF orientation and convert any mode to RGB uint8, flattening transparency on white."""
    check_format(image)
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
    return _rgb_array(image)


def _rgb_array(image: Image.Image) -> np.ndarray:
    """An RGB image's pixels as an H x W x 3 array, copied PIXEL_BAND rows at a time. np.asarray() of
    the whole image goes through tobytes(), which holds its chunks and their join at once: on a
    35-megapixel scan three copies of the pixels besides Pillow's own, ~330 MB at the peak."""
    out = np.empty((image.height, image.width, 3), dtype=np.uint8)
    for top in range(0, image.height, PIXEL_BAND):
        bottom = min(image.height, top + PIXEL_BAND)
        out[top:bottom] = np.asarray(image.crop((0, top, image.width, bottom)))
    return out


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
