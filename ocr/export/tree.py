"""An OcrPage as OCRmyPDF's engine-neutral OcrElement tree (page > paragraph > line > word), the input
of its PDF text-layer renderer and what the OCRmyPDF plugin hands back to OCRmyPDF."""
from __future__ import annotations

from ocrmypdf.hocrtransform import BoundingBox, OcrClass, OcrElement

from ..layout import Line
from ..result import OcrPage
from .geometry import bbox


def page_element(page: OcrPage, dpi: float, page_number: int | None = None) -> OcrElement:
    """The page's blocks as paragraphs, their lines and the lines' words, with pixel boxes."""
    root = OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(0, 0, page.width, page.height), dpi=dpi,
                      page_number=page.index if page_number is None else page_number)
    grouped = {i for block in page.blocks for i in block.lines}
    groups = [b.lines for b in page.blocks] + [[i] for i in range(len(page.lines)) if i not in grouped]
    for members in groups:
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
