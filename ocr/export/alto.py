"""ALTO 4.4 XML (https://www.loc.gov/standards/alto/), valid against the official XSD: one Page per page,
text blocks as TextBlock, tables as a ComposedBlock TYPE="table" with one TextBlock per row, lines as
TextLine, words as String (WC = confidence 0-1) with SP between them. Pixel units. Written with lxml."""
from __future__ import annotations

from importlib.metadata import version
from itertools import groupby

from lxml import etree
from lxml.builder import ElementMaker

from ..layout import Line
from ..result import OcrPage, OcrResult
from .geometry import Bbox, bbox, line_groups

ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{ALTO_NS} http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"

A = ElementMaker(namespace=ALTO_NS, nsmap={None: ALTO_NS, "xsi": XSI_NS})


def write(result: OcrResult, file_name: str = "") -> bytes:
    """The whole result as one ALTO document; file_name goes into sourceImageInformation."""
    description = A.Description(A.MeasurementUnit("pixel"))
    if file_name:
        description.append(A.sourceImageInformation(A.fileName(file_name)))
    description.append(A.Processing(
        A.processingStepDescription("text detection, recognition and reading order"),
        A.processingSoftware(A.softwareName("OCR Studio"),
                             A.softwareVersion(f"paddleocr {version('paddleocr')}"),
                             A.applicationDescription(_models(result))),
        ID="ocr"))
    layout = A.Layout(*(_page(page) for page in result.pages))
    root = A.alto(description, layout)
    root.set(f"{{{XSI_NS}}}schemaLocation", SCHEMA_LOCATION)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _models(result: OcrResult) -> str:
    return ", ".join(m["name"] for m in result.model.get("models", [])) or "PaddleOCR"


def _box(b: Bbox) -> dict[str, str]:
    return {"HPOS": str(b.x0), "VPOS": str(b.y0), "WIDTH": str(b.width), "HEIGHT": str(b.height)}


def _page(page: OcrPage) -> etree._Element:
    n = page.index + 1
    space = A.PrintSpace(_box(Bbox(0, 0, page.width, page.height)), ID=f"P{n}_PS")
    for k, (kind, members) in enumerate(line_groups(page), 1):
        if not members:
            continue
        ident = f"P{n}_B{k}"
        if kind == "table":
            table = A.ComposedBlock(_span(page, members), ID=ident, TYPE="table")
            for r, i in enumerate(members, 1):
                table.append(_block(page, [i], f"{ident}_R{r}"))
            space.append(table)
        else:  # lines printed upside down (ocr/textlines.py) in blocks of their own, ROTATION="180"
            runs = [list(run) for _, run in groupby(members, key=lambda i: page.lines[i].upside_down)]
            for r, run in enumerate(runs, 1):
                space.append(_block(page, run, ident if len(runs) == 1 else f"{ident}_{r}"))
    return A.Page(space, ID=f"P{n}", PHYSICAL_IMG_NR=str(n),
                  WIDTH=str(page.width), HEIGHT=str(page.height), PROCESSING="ocr")


def _span(page: OcrPage, members: list[int]) -> dict[str, str]:
    return _box(bbox([p for i in members for p in page.lines[i].box], page.width, page.height))


def _block(page: OcrPage, members: list[int], ident: str) -> etree._Element:
    block = A.TextBlock(_span(page, members), ID=ident)
    if page.lines[members[0]].upside_down:
        block.set("ROTATION", "180")
    for i in members:
        block.append(_line(page.lines[i], page, f"{ident}_L{i + 1}"))
    return block


def _line(line: Line, page: OcrPage, ident: str) -> etree._Element:
    element = A.TextLine(_box(bbox(line.box, page.width, page.height)), ID=ident)
    words = [(w.text, w.score, w.box) for w in line.words] or [(line.text, line.score, line.box)]
    previous: Bbox | None = None
    for k, (text, score, points) in enumerate(words, 1):
        b = bbox(points, page.width, page.height)
        if previous is not None:
            gap = max(b.x0 - previous.x1, 0)
            element.append(A.SP(HPOS=str(previous.x1), VPOS=str(previous.y0), WIDTH=str(gap)))
        element.append(A.String(_box(b), ID=f"{ident}_W{k}", CONTENT=text, WC=f"{max(0.0, min(1.0, score)):.3f}"))
        previous = b
    return element
