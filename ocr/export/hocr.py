"""hOCR 1.2 (https://kba.github.io/hocr-spec/1.2/): ocr_page > ocr_carea > ocr_par > ocr_line > ocrx_word,
every element with its bbox, words with x_wconf (0-100). Written with lxml."""
from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from ..layout import Line
from ..result import OcrPage, OcrResult
from .geometry import bbox, line_groups

XHTML = "http://www.w3.org/1999/xhtml"
DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')
CAPABILITIES = "ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"

E = ElementMaker(namespace=XHTML, nsmap={None: XHTML})


def write(result: OcrResult, title: str = "OCR Studio") -> bytes:
    """The whole result as one hOCR document (one ocr_page per page)."""
    head = E.head(
        E.title(title),
        E.meta({"http-equiv": "Content-Type", "content": "text/html;charset=utf-8"}),
        E.meta(name="ocr-system", content=f"OCR Studio ({_models(result)})"),
        E.meta(name="ocr-capabilities", content=CAPABILITIES),
        E.meta(name="ocr-number-of-pages", content=str(len(result.pages))),
    )
    body = E.body(*(_page(page) for page in result.pages))
    html = E.html(head, body, {"{http://www.w3.org/XML/1998/namespace}lang": "en", "lang": "en"})
    return etree.tostring(html, xml_declaration=True, encoding="utf-8", doctype=DOCTYPE, pretty_print=True)


def _models(result: OcrResult) -> str:
    return ", ".join(m["name"] for m in result.model.get("models", [])) or "PaddleOCR"


def _title(box, **props: object) -> str:
    parts = [f"bbox {box.x0} {box.y0} {box.x1} {box.y1}"]
    parts += [f"{name} {value}" for name, value in props.items()]
    return "; ".join(parts)


def _page(page: OcrPage) -> etree._Element:
    n = page.index + 1
    div = E.div({"class": "ocr_page", "id": f"page_{n}",
                 "title": f"bbox 0 0 {page.width} {page.height}; ppageno {page.index}"})
    for k, (kind, members) in enumerate(line_groups(page), 1):
        lines = [page.lines[i] for i in members]
        if not lines:
            continue
        box = bbox([p for line in lines for p in line.box], page.width, page.height)
        area = E.div({"class": "ocr_carea", "id": f"block_{n}_{k}", "title": _title(box)})
        par = E.p({"class": "ocr_par", "id": f"par_{n}_{k}", "title": _title(box)})
        if kind != "text":
            par.set("data-kind", kind)  # table, sidebar
        for j, line in zip(members, lines):
            par.append(_line(line, page, f"{n}_{j + 1}"))
        area.append(par)
        div.append(area)
    return div


def _line(line: Line, page: OcrPage, ident: str) -> etree._Element:
    box = bbox(line.box, page.width, page.height)
    turned = {"textangle": 180} if line.upside_down else {}  # printed upside down (ocr/textlines.py)
    span = E.span({"class": "ocr_line", "id": f"line_{ident}",
                   "title": _title(box, **turned, x_wconf=_conf(line.score))})
    words = line.words or []
    for k, word in enumerate(words, 1):
        wbox = bbox(word.box, page.width, page.height)
        w = E.span({"class": "ocrx_word", "id": f"word_{ident}_{k}",
                    "title": _title(wbox, x_wconf=_conf(word.score))}, word.text)
        w.tail = " "
        span.append(w)
    if not words:
        span.text = line.text
    return span


def _conf(score: float) -> int:
    return max(0, min(100, round(score * 100)))
