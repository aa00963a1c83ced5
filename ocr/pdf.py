"""Render PDF pages to RGB images with pypdfium2 (every page is OCR'd, text layer or not)."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .config import Settings
from .errors import InputError

# PDFium is not thread-safe: every call into it holds this lock.
_PDFIUM_LOCK = threading.Lock()
# PDFium's last error is process-wide and a failed load does not always set it: before each load
# it is set to "file access error" by opening this missing path (memory loads never cause that).
_MISSING_PATH = b"/nonexistent/ocr-pdfium-error-reset.pdf"
# A page tree with no pages ("/Count 0") and no page object anywhere in the file.
_ZERO_COUNT = re.compile(rb"/Count\s*0(?![0-9.])")
_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")

NO_PAGES = "The PDF has no pages."


def open_pdf(data: bytes, config: Settings) -> tuple[int, Iterator[np.ndarray]]:
    """Open a PDF and check its page count against OCR_MAX_PDF_PAGES; returns the page count and
    the pages as RGB arrays, rendered lazily (one page in memory at a time)."""
    with _PDFIUM_LOCK:
        _reset_last_error()
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            raise _open_error(error, data) from None
        count = len(pdf)
    if count == 0:
        _close(pdf)
        raise InputError(NO_PAGES)
    if count > config.max_pdf_pages:
        _close(pdf)
        raise InputError(
            f"The PDF has {count} pages; at most {config.max_pdf_pages} pages are read per file "
            "(OCR_MAX_PDF_PAGES). Split it into smaller files."
        )
    return count, _render_pages(pdf, count, config)


def _reset_last_error() -> None:
    """Set PDFium's last error to FPDF_ERR_FILE, so that a load that fails without setting it is told
    apart from one that failed for the previous document's reason."""
    pdfium_c.FPDF_LoadDocument(_MISSING_PATH, None)


def _open_error(error: pdfium.PdfiumError, data: bytes) -> InputError:
    """Why PDFium could not open the file. PDFium refuses a document without pages but sets no error
    code for it (the reset FPDF_ERR_FILE is left); a visible "/Count 0" page tree says the same."""
    code = getattr(error, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return InputError("The PDF is password-protected; remove the password and upload it again.")
    if code in (pdfium_c.FPDF_ERR_FILE, pdfium_c.FPDF_ERR_SUCCESS) or (
        _ZERO_COUNT.search(data) and not _PAGE_OBJECT.search(data)
    ):
        return InputError(NO_PAGES)
    return InputError("The PDF is damaged or not a valid PDF and cannot be opened.")


def _close(pdf: pdfium.PdfDocument) -> None:
    with _PDFIUM_LOCK:
        pdf.close()


def _render_pages(pdf: pdfium.PdfDocument, count: int, config: Settings) -> Iterator[np.ndarray]:
    """Render one page at a time; the generator keeps no reference to a page it has yielded."""
    try:
        for index in range(count):
            yield _render_page(pdf, index, config)
    finally:
        _close(pdf)


def _render_page(pdf: pdfium.PdfDocument, index: int, config: Settings) -> np.ndarray:
    """Page index as RGB at OCR_PDF_DPI, scaled down if it would exceed OCR_PDF_MAX_PIXELS (detection
    sees at most OCR_DET_MAX_SIDE pixels anyway) or OCR_MAX_PIXELS. PDFium
    renders straight into the array's buffer (RGB byte order): one copy of the page, not three."""
    with _PDFIUM_LOCK:
        try:
            page = pdf[index]
            try:
                width, height = page.get_size()  # points (1/72 inch)
                scale = config.pdf_dpi / 72
                limit = min(config.pdf_max_pixels, config.max_pixels)
                if width * height * scale * scale > limit:
                    scale = (limit / (width * height)) ** 0.5
                bitmap = page.render(scale=scale, rev_byteorder=True)
            finally:
                page.close()
        except pdfium.PdfiumError:
            raise InputError(f"Page {index + 1} of the PDF is damaged and cannot be rendered.") from None
    pixels = bitmap.to_numpy()  # shares the bitmap's buffer
    if pixels.ndim == 2:  # a greyscale bitmap
        return np.repeat(pixels[:, :, None], 3, axis=2)
    pixels = pixels[:, :, :3]
    return pixels if pixels.flags.c_contiguous else np.ascontiguousarray(pixels)
