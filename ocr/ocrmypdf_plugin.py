"""OCRmyPDF plugin: OCR Studio's engine (PP-OCRv6, our reading order and word boxes) instead of Tesseract.

    pip install -r requirements-ocrmypdf.txt
    ocrmypdf --plugin ocr.ocrmypdf_plugin input.pdf output.pdf

OCRmyPDF keeps doing what it does (rasterising, PDF/A, optimisation, grafting the text layer onto the
original pages); for each page image it asks this engine, which runs ocr.recognize() offline on the shipped
models and hands back OCRmyPDF's engine-neutral OcrElement tree (generate_ocr), or hOCR / a text-only PDF
for OCRmyPDF versions that ask for those. OCRmyPDF's --language and Tesseract options are ignored.
"""
from __future__ import annotations

from pathlib import Path

from ocrmypdf import hookimpl
from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement
from ocrmypdf.pluginspec import OcrEngine, OrientationConfidence
from PIL import Image

from .layout import Line
from .export.geometry import bbox, line_groups
from .result import OcrPage, OcrResult

ENGINE_NAME = "ocrstudio"
OTHER_ENGINES = {"tesseract", "none"}  # --ocr-engine values that choose someone else


def _recognize(input_file: Path) -> tuple[OcrResult, float]:
    """OCR one page image; its dpi (as OCRmyPDF rasterised it)."""
    from .pipeline import recognize

    with Image.open(input_file) as image:
        dpi = image.info.get("dpi", (300, 300))
    return recognize(Path(input_file)), float(dpi[0] if isinstance(dpi, tuple) else dpi) or 300.0


class OcrStudioEngine(OcrEngine):
    """OcrEngine that reads page images with ocr.recognize()."""

    @staticmethod
    def version() -> str:
        from importlib.metadata import version

        return f"paddleocr {version('paddleocr')}"

    @staticmethod
    def creator_tag(options) -> str:
        return f"OCR Studio (PP-OCRv6, {OcrStudioEngine.version()})"

    def __str__(self) -> str:
        return f"OCR Studio ({self.version()})"

    @staticmethod
    def languages(options) -> set[str]:
        return {"eng", "chi_sim"}  # what the shipped PP-OCRv6 recogniser reads; --language is not used

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)

    @staticmethod
    def get_deskew(input_file: Path, options) -> float:
        return 0.0

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0) -> tuple[OcrElement, str]:
        result, dpi = _recognize(input_file)
        return page_element(result.pages[0], dpi, page_number), result.text

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options) -> None:
        from .export import hocr

        result, _ = _recognize(input_file)
        Path(output_hocr).write_bytes(hocr.write(result))
        Path(output_text).write_text(result.text, encoding="utf-8")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options) -> None:
        from .export.pdf import render_pages

        result, dpi = _recognize(input_file)
        Path(output_pdf).write_bytes(render_pages([(result.pages[0], dpi)]))
        Path(output_text).write_text(result.text, encoding="utf-8")


@hookimpl
def get_ocr_engine(options=None):
    """This engine, unless --ocr-engine names another one."""
    if options is not None and getattr(options, "ocr_engine", "auto") in OTHER_ENGINES:
        return None
    return OcrStudioEngine()


def page_element(page: OcrPage, dpi: float, page_number: int | None = None) -> OcrElement:
    """The page's blocks as paragraphs, their lines and the lines' words, with pixel boxes."""
    root = OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(0, 0, page.width, page.height), dpi=dpi,
                      page_number=page.index if page_number is None else page_number)
    for _, members in line_groups(page):
        lines = [_line(page.lines[i], page) for i in members]
        lines = [line for line in lines if line is not None]
        if not lines:
            continue
        box = _union([line.bbox for line in lines])
        root.children.append(OcrElement(ocr_class=OcrClass.PARAGRAPH, bbox=box, children=lines, direction="ltr"))
    return root


def _line(line: Line, page: OcrPage) -> OcrElement | None:
    words = [(w.text, w.score, w.box) for w in line.words]
    if not words and line.text.strip():  # no word boxes: the line as one word
        words = [(line.text.strip(), line.score, line.box)]
    if not words:
        return None
    children = []
    for text, score, points in words:
        b = bbox(points, page.width, page.height)
        children.append(OcrElement(ocr_class=OcrClass.WORD, bbox=BoundingBox(b.x0, b.y0, b.x1, b.y1),
                                   text=text, confidence=float(score)))
    b = bbox(line.box, page.width, page.height)
    return OcrElement(ocr_class=OcrClass.LINE, bbox=BoundingBox(b.x0, b.y0, b.x1, b.y1), children=children,
                      direction="ltr", text=line.text)


def _union(boxes: list[BoundingBox]) -> BoundingBox:
    return BoundingBox(min(b.left for b in boxes), min(b.top for b in boxes),
                       max(b.right for b in boxes), max(b.bottom for b in boxes))
