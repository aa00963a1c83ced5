"""Render PDF pages to RGB images with pypdfium2 (every page is OCR'd, text layer or not)."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pypdfium2 as pdfium

from .config import Settings
from .errors import InputError

# PDFium is not thread-safe: every call into it holds this lock.
_PDFIUM_LOCK = threading.Lock()


def open_pdf(data: bytes, config: Settings) -> tuple[int, Iterator[np.ndarray]]:
    """Open a PDF and check its page count against OCR_MAX_PDF_PAGES; returns the page count and
    the pages as RGB arrays, rendered lazily."""
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as error:
            if "password" in str(error).lower():
                raise InputError("The PDF is password-protected; remove the password and upload it again.") from None
            raise InputError("The PDF is damaged or not a valid PDF and cannot be opened.") from None
        count = len(pdf)
    if count == 0:
        _close(pdf)
        raise InputError("The PDF has no pages.")
    if count > config.max_pdf_pages:
        _close(pdf)
        raise InputError(
            f"The PDF has {count} pages; at most {config.max_pdf_pages} pages are read per file "
            "(OCR_MAX_PDF_PAGES). Split it into smaller files."
        )
    return count, _render_pages(pdf, count, config)


def _close(pdf: pdfium.PdfDocument) -> None:
    with _PDFIUM_LOCK:
        pdf.close()


def _render_pages(pdf: pdfium.PdfDocument, count: int, config: Settings) -> Iterator[np.ndarray]:
    """Render one page at a time at OCR_PDF_DPI, scaled down if a page would exceed OCR_MAX_PIXELS."""
    try:
        for index in range(count):
            with _PDFIUM_LOCK:
                try:
                    page = pdf[index]
                    width, height = page.get_size()  # points (1/72 inch)
                    scale = config.pdf_dpi / 72
                    if width * height * scale * scale > config.max_pixels:
                        scale = (config.max_pixels / (width * height)) ** 0.5
                    image = page.render(scale=scale).to_pil().convert("RGB")
                    page.close()
                except pdfium.PdfiumError:
                    raise InputError(f"Page {index + 1} of the PDF is damaged and cannot be rendered.") from None
            yield np.asarray(image)
    finally:
        _close(pdf)
