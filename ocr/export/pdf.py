"""Searchable PDF: the page as it was, with an invisible text layer whose words sit on their boxes.

Libraries (docs/export.md says why): fpdf2 writes the text layer: each word in text render mode 3
(invisible), in the glyph-less font Occulta (OCRmyPDF's, every Unicode character blank, so no script
is ever missing), sized to its line's height and stretched horizontally to its box, which is how
Tesseract and OCRmyPDF place their words. pikepdf puts that layer onto the ORIGINAL pages of a PDF
input as a form XObject, so vector text, images, page size and /Rotate stay as they were. For an image,
the image itself (a JPEG as it is) is the page, at its own dpi or IMAGE_DPI.
"""
from __future__ import annotations

import tempfile
from io import BytesIO
from pathlib import Path

import pikepdf
from PIL import Image

from ..config import settings
from ..errors import InputError
from ..inputs import open_document, open_image, sniff
from ..result import OcrPage, OcrResult
from .geometry import Bbox, bbox

IMAGE_DPI = 300.0  # an image without a (plausible) dpi of its own becomes a page at this resolution
PLAUSIBLE_DPI = (50.0, 2400.0)
FONT = Path(__file__).parent / "fonts" / "Occulta.ttf"  # ascent 0.8 em, descent 0.2 em
FONT_ASCENT = 0.8
MIN_FONT_PT = 1.0


def write(result: OcrResult, source: bytes) -> bytes:
    """The searchable PDF of a recognised source (the bytes recognize() read)."""
    if sniff(source) == "pdf":
        return _graft(result, source)
    return _image_pdf(result, source)


def render_pages(pages: list[tuple[OcrPage, float]], images: list[Path] | None = None) -> bytes:
    """One PDF page per (page, dpi), page size = pixels at that dpi, holding the invisible words;
    with images, each image fills its page under the words."""
    from fpdf import FPDF
    from fpdf.enums import TextMode

    pdf = FPDF(unit="pt")
    pdf.set_auto_page_break(auto=False)
    pdf.c_margin = 0
    pdf.set_creator("OCR Studio")
    pdf.add_font("Occulta", fname=str(FONT))
    for k, (page, dpi) in enumerate(pages):
        scale = 72.0 / dpi
        width, height = page.width * scale, page.height * scale
        pdf.add_page(format=(width, height))
        if images:
            pdf.image(str(images[k]), x=0, y=0, w=width, h=height)
        pdf.text_mode = TextMode.INVISIBLE
        for line in page.lines:
            _words(pdf, line, page, scale)
        pdf.text_mode = TextMode.FILL
    return bytes(pdf.output())


def _words(pdf, line, page: OcrPage, scale: float) -> None:
    """A line's words, each on its box: font size = the box height, stretched to the box width; an
    explicit space, stretched over the gap, follows every word but the last, so text extractors
    split the words where we did. A line printed upside down (ocr/textlines.py; its word boxes run
    right to left) is drawn upside down too, so the text layer runs the way the print does."""
    words = [(w.text, bbox(w.box, page.width, page.height)) for w in line.words]
    if not words and line.text.strip():
        words = [(line.text.strip(), bbox(line.box, page.width, page.height))]
    if line.upside_down and words:
        # drawn mirrored about the line's centre, under a half turn about the same point
        cx = round((min(b.x0 for _, b in words) + max(b.x1 for _, b in words)) / 2)
        cy = round((min(b.y0 for _, b in words) + max(b.y1 for _, b in words)) / 2)
        words = [(text, Bbox(2 * cx - b.x1, 2 * cy - b.y1, 2 * cx - b.x0, 2 * cy - b.y0)) for text, b in words]
        with pdf.rotation(180, x=cx * scale, y=cy * scale):
            _draw(pdf, words, scale)
    else:
        _draw(pdf, words, scale)


def _draw(pdf, words, scale: float) -> None:
    for k, (text, b) in enumerate(words):
        size = max(b.height * scale, MIN_FONT_PT)
        pdf.set_font("Occulta", size=size)
        baseline = b.y0 * scale + FONT_ASCENT * size
        _stretched(pdf, text, b.x0 * scale, baseline, b.width * scale)
        if k + 1 < len(words):
            gap = max(words[k + 1][1].x0 - b.x1, 1) * scale
            _stretched(pdf, " ", b.x1 * scale, baseline, gap)
    pdf.set_stretching(100.0)


def _stretched(pdf, text: str, x: float, baseline: float, width: float) -> None:
    pdf.set_stretching(100.0)  # get_string_width() counts the current stretching in
    natural = pdf.get_string_width(text)
    if natural > 0:
        pdf.set_stretching(100.0 * width / natural)
        pdf.text(x, baseline, text)


def _image_pdf(result: OcrResult, source: bytes) -> bytes:
    """Each page of an image (or multi-page TIFF) as a PDF page under its text layer."""
    dpi = _image_dpi(source)
    with tempfile.TemporaryDirectory(prefix="ocr-pdf-") as folder:
        paths = _page_images(source, Path(folder), len(result.pages))
        return render_pages([(page, dpi) for page in result.pages], paths)


def _image_dpi(source: bytes) -> float:
    try:
        with open_image(source) as image:
            value = image.info.get("dpi", (0, 0))
    except InputError:
        return IMAGE_DPI
    dpi = float(value[0] if isinstance(value, tuple) else value or 0)
    return dpi if PLAUSIBLE_DPI[0] <= dpi <= PLAUSIBLE_DPI[1] else IMAGE_DPI


def _page_images(source: bytes, folder: Path, count: int) -> list[Path]:
    """The picture of each page as a file fpdf2 embeds: a JPEG as it is (no re-encoding) unless it
    has to be turned (EXIF orientation), anything else as the decoded page in PNG (lossless)."""
    with open_image(source) as image:
        upright = image.getexif().get(0x0112, 1) == 1
        if image.format == "JPEG" and upright and image.mode in ("RGB", "L"):
            path = folder / "page-1.jpg"
            path.write_bytes(source)
            return [path]
    paths = []
    for k, rgb in enumerate(open_document(source, settings()).pages):
        if k >= count:
            break
        path = folder / f"page-{k + 1}.png"
        Image.fromarray(rgb).save(path, compress_level=3)
        paths.append(path)
    return paths


def _graft(result: OcrResult, source: bytes) -> bytes:
    """The original PDF with the text layer of each page added on top of its content."""
    with pikepdf.open(BytesIO(source)) as original:
        if len(original.pages) != len(result.pages):
            raise InputError(f"The PDF has {len(original.pages)} pages but {len(result.pages)} were read.")
        boxes = [_visible_box(page) for page in original.pages]
        layers = []
        for page, (box, rotate) in zip(result.pages, boxes):
            shown_width = (box[2] - box[0]) if rotate in (0, 180) else (box[3] - box[1])
            layers.append((page, page.width * 72.0 / shown_width))
        with pikepdf.open(BytesIO(render_pages(layers))) as text:
            for base, layer, (box, rotate) in zip(original.pages, text.pages, boxes):
                _stamp(original, base, layer, box, rotate)
        out = BytesIO()
        original.save(out)
        return out.getvalue()


def _visible_box(page: pikepdf.Page) -> tuple[tuple[float, float, float, float], int]:
    """The crop box (what a viewer shows, and what the page was rendered from) and /Rotate."""
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), rotate


def _stamp(pdf: pikepdf.Pdf, base: pikepdf.Page, layer: pikepdf.Page, box, rotate: int) -> None:
    """Draw the text layer (a page as seen upright) onto base's visible box, undoing its /Rotate."""
    form = pdf.copy_foreign(layer.as_form_xobject())
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    lw, lh = (float(v) for v in layer.mediabox[2:])
    matrix = _rotation_matrix(rotate, x0, y0, w, h, lw, lh)
    name = base.add_resource(form, pikepdf.Name.XObject, prefix="OcrStudio")
    content = pikepdf.unparse_content_stream([
        pikepdf.ContentStreamInstruction([], pikepdf.Operator("q")),
        pikepdf.ContentStreamInstruction(list(matrix), pikepdf.Operator("cm")),
        pikepdf.ContentStreamInstruction([name], pikepdf.Operator("Do")),
        pikepdf.ContentStreamInstruction([], pikepdf.Operator("Q")),
    ])
    base.contents_add(pdf.make_stream(b"q\n"), prepend=True)  # the original content keeps its
    base.contents_add(pdf.make_stream(b"\nQ\n" + content))       # graphics state to itself


def _rotation_matrix(rotate: int, x0: float, y0: float, w: float, h: float, lw: float, lh: float) -> tuple[float, ...]:
    """cm matrix taking the upright text layer (lw x lh points, origin bottom left) onto the page's
    unrotated user space, for a page shown turned clockwise by rotate degrees."""
    if rotate == 90:
        return (0, h / lw, -w / lh, 0, x0 + w, y0)
    if rotate == 180:
        return (-w / lw, 0, 0, -h / lh, x0 + w, y0 + h)
    if rotate == 270:
        return (0, -h / lw, w / lh, 0, x0, y0 + h)
    return (w / lw, 0, 0, h / lh, x0, y0)
