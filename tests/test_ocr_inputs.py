"""Inputs of ocr.recognize(): source types, image modes, EXIF, bad files, PDFs (pages, limits, errors)."""
from __future__ import annotations

import time
import weakref
from io import BytesIO
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import EpsImagePlugin, Image, ImageDraw, ImageFont, PngImagePlugin

import ocr
from ocr import engine, inputs, pdf
from ocr.config import settings
from ocr.inputs import RASTER_FORMATS, array_to_rgb, image_to_rgb
from ocr.result import OVERLAY_MAX_PIXELS, PAGE_SEPARATOR

LINES = ["INVOICE 2024-117", "TOTAL 58.40 EUR"]


def render(lines: list[str], size: tuple[int, int] = (640, 200)) -> Image.Image:
    """Black DejaVu Sans text on white, one line per entry."""
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 36)
    except OSError:
        font = ImageFont.load_default(36)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for row, line in enumerate(lines):
        draw.text((30, 30 + row * 70), line, fill=0, font=font)
    return image


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def words(result: ocr.OcrResult) -> list[str]:
    return result.text.split()


@pytest.fixture(scope="module")
def page() -> Image.Image:
    return render(LINES)


@pytest.fixture(scope="module")
def expected_words(page: Image.Image) -> list[str]:
    result = ocr.recognize(page.convert("RGB"))
    assert result.text.split("\n") == LINES  # the rendered page reads back exactly
    return words(result)


# ---- source types -------------------------------------------------------------------------------


def test_path_bytes_pil_and_numpy_sources_agree(page: Image.Image, expected_words: list[str], tmp_path: Path) -> None:
    path = tmp_path / "page.png"
    page.save(path)
    for source in (str(path), path, path.read_bytes(), np.asarray(page.convert("RGB")), np.asarray(page)):
        assert words(ocr.recognize(source)) == expected_words


# ---- image modes and orientation ----------------------------------------------------------------


def transparent_text(page: Image.Image) -> Image.Image:
    """Black text on a fully transparent background (alpha = ink)."""
    alpha = Image.eval(page, lambda v: 255 - v)
    rgba = Image.new("RGBA", page.size, (0, 0, 0, 0))
    rgba.putalpha(alpha)
    return rgba


def palette_with_transparent_background(page: Image.Image) -> Image.Image:
    palette = page.convert("P")
    palette.info["transparency"] = palette.getpixel((0, 0))
    return palette


def sixteen_bit(page: Image.Image) -> Image.Image:
    return Image.fromarray(np.asarray(page).astype(np.uint16) * 257)


def exif_rotated(page: Image.Image) -> Image.Image:
    """Stored sideways with EXIF Orientation 6 (display rotated 90 degrees clockwise)."""
    stored = page.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return Image.open(BytesIO(png_bytes(stored, exif=exif)))  # kept un-re-encoded: EXIF must survive


@pytest.mark.parametrize(
    "variant",
    [
        lambda p: p.convert("RGB"),
        transparent_text,
        lambda p: transparent_text(p).convert("LA"),
        palette_with_transparent_background,
        lambda p: p.convert("CMYK"),
        sixteen_bit,
        exif_rotated,
    ],
    ids=["rgb", "rgba", "la", "p-transparency", "cmyk", "16-bit", "exif-rotated"],
)
def test_image_modes_give_the_same_text(page: Image.Image, expected_words: list[str], variant) -> None:
    image = variant(page)
    if image.mode != "CMYK" and not image.getexif():  # through a PNG file, as uploads arrive
        image = Image.open(BytesIO(png_bytes(image)))
    assert words(ocr.recognize(image)) == expected_words


def test_transparency_is_flattened_on_white(page: Image.Image) -> None:
    rgb = image_to_rgb(transparent_text(page), 10**8)
    assert rgb.shape == (page.height, page.width, 3)
    assert (rgb[0, 0] == 255).all()
    assert np.abs(rgb[:, :, 0].astype(int) - np.asarray(page)).max() <= 1


def test_wide_arrays_are_scaled_to_eight_bits() -> None:
    assert array_to_rgb(np.full((4, 4), 65535, np.uint16), 100)[0, 0].tolist() == [255, 255, 255]
    assert array_to_rgb(np.full((4, 4), 0.5, np.float32), 100)[0, 0].tolist() == [128, 128, 128]
    assert array_to_rgb(np.zeros((4, 4, 4), np.uint8), 100)[0, 0].tolist() == [255, 255, 255]  # transparent


def test_blank_page_gives_an_empty_result() -> None:
    result = ocr.recognize(Image.new("RGB", (800, 600), "white"))
    assert result.text == "" and result.pages[0].lines == [] and result.to_json()["lines"] == []
    assert (result.width, result.height) == (800, 600)


# ---- bad inputs ---------------------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ocr.InputError, match="empty"):
        ocr.recognize(path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n")
    with pytest.raises(ocr.InputError, match="neither a PDF nor an image"):
        ocr.recognize(path)


def test_truncated_png(page: Image.Image) -> None:
    data = png_bytes(page.convert("RGB"))
    with pytest.raises(ocr.InputError, match="damaged or incomplete"):
        ocr.recognize(data[: len(data) // 2])


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ocr.InputError, match="not found"):
        ocr.recognize(tmp_path / "nope.jpg")
    with pytest.raises(ocr.InputError, match="folder"):
        ocr.recognize(tmp_path)


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_bytes(Image.new("1", (9_000, 9_000)))  # 81 megapixels in a few kB
    assert len(bomb) < 100_000
    with pytest.raises(ocr.InputError, match="too large.*OCR_MAX_PIXELS"):
        ocr.recognize(bomb)


def test_pixel_limit_comes_from_the_environment(page: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_MAX_PIXELS", "1000")
    for source in (png_bytes(page), page, np.asarray(page)):
        with pytest.raises(ocr.InputError, match="too large"):
            ocr.recognize(source)


def test_unusable_arrays_and_types() -> None:
    with pytest.raises(ocr.InputError, match="shape"):
        ocr.recognize(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(ocr.InputError, match="no pixels"):
        ocr.recognize(np.zeros((0, 10), np.uint8))
    with pytest.raises(ocr.InputError, match="type int"):
        ocr.recognize(42)


# ---- PDFs ---------------------------------------------------------------------------------------

PAGES = [["FIRST PAGE 101"], ["SECOND PAGE 202"], ["THIRD PAGE 303"]]


def pdf_of(pages: list[list[str]]) -> bytes:
    images = [render(lines).convert("RGB") for lines in pages]
    buffer = BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=100)
    return buffer.getvalue()


def text_layer_pdf(text: str) -> bytes:
    """A one-page PDF whose text is real PDF text (Helvetica), not an image."""
    stream = f"BT /F1 28 Tf 60 700 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return build_pdf(objects)


def build_pdf(objects: list[bytes]) -> bytes:
    """A PDF of the given numbered objects (object 1 is the catalog) with a correct xref table."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_pages_in_order_with_progress(tmp_path: Path) -> None:
    path = tmp_path / "scan.bin"  # detected by content, not by name
    path.write_bytes(pdf_of(PAGES))
    calls: list[tuple[int, int]] = []
    result = ocr.recognize(path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert result.text.split(PAGE_SEPARATOR) == [lines[0] for lines in PAGES]
    data = result.to_json()
    assert [p["index"] for p in data["pages"]] == [0, 1, 2]
    assert [line["page"] for line in data["lines"]] == [0, 1, 2]
    assert result.overlay(2).size == (result.pages[2].width, result.pages[2].height)


def test_pdf_page_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_MAX_PDF_PAGES", "2")
    with pytest.raises(ocr.InputError, match="3 pages.*at most 2"):
        ocr.recognize(pdf_of(PAGES))


def test_pdf_text_layer_is_still_ocred() -> None:
    assert ocr.recognize(text_layer_pdf("LAYER TEXT 4711")).text == "LAYER TEXT 4711"


def test_corrupt_pdf() -> None:
    with pytest.raises(ocr.InputError, match="damaged or not a valid PDF"):
        ocr.recognize(b"%PDF-1.7\n" + b"\x00garbage" * 100)


def test_encrypted_pdf() -> None:
    pdf = text_layer_pdf("SECRET")
    encrypt = (
        b"6 0 obj\n<< /Filter /Standard /V 1 /R 2 /P -4 /O <" + b"41" * 32 + b"> /U <" + b"42" * 32 + b"> >>\nendobj\n"
    )
    head, tail = pdf.split(b"xref\n", 1)
    pdf = head + encrypt + b"xref\n" + tail.replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 6 0 R /ID [<01> <01>]")
    with pytest.raises(ocr.InputError, match="password"):
        ocr.recognize(pdf)


def test_pdf_with_no_pages() -> None:
    empty = BytesIO()
    pdfium.PdfDocument.new().save(empty)  # PDFium itself refuses to open this, with no error code
    with pytest.raises(ocr.InputError, match="^The PDF has no pages"):
        ocr.recognize(empty.getvalue())
    hand_made = build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])
    with pytest.raises(ocr.InputError, match="^The PDF has no pages"):
        ocr.recognize(hand_made)


def test_pdf_is_detected_by_its_header_only() -> None:
    """A PNG that mentions "%PDF-" in a text chunk is a PNG; a PDF after blank lines is a PDF."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "%PDF-1.7 exported from a PDF viewer")
    assert ocr.recognize(png_bytes(render(["PNG NOT PDF 42"]), pnginfo=info)).text == "PNG NOT PDF 42"
    assert ocr.recognize(b"\r\n  " + text_layer_pdf("AFTER BLANKS 7")).text == "AFTER BLANKS 7"
    with pytest.raises(ocr.InputError, match="neither a PDF nor an image"):
        ocr.recognize(b"some text, then %PDF-1.4 further in")


# ---- hostile inputs -----------------------------------------------------------------------------

# Pillow recognises PostScript by content and renders it with Ghostscript, which runs this
# program forever: the file must be refused before Pillow sees it.
POSTSCRIPT_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\n{ } loop\n"


@pytest.fixture
def no_ghostscript(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test (instead of hanging it) if anything makes Pillow run Ghostscript."""

    def ghostscript(*args, **kwargs):
        raise AssertionError("Pillow was made to run Ghostscript")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)


@pytest.mark.parametrize(
    "data",
    [POSTSCRIPT_LOOP, b"\xef\xbb\xbf\n" + POSTSCRIPT_LOOP, b"\xc5\xd0\xd3\xc6" + bytes(26) + POSTSCRIPT_LOOP],
    ids=["postscript", "after-bom", "eps-binary-header"],
)
def test_postscript_is_refused_quickly_whatever_the_name(data: bytes, tmp_path: Path, no_ghostscript) -> None:
    path = tmp_path / "loop.png"
    path.write_bytes(data)
    started = time.perf_counter()
    with pytest.raises(ocr.InputError, match=r"^PostScript/EPS files are not accepted.*Convert the file to PDF or PNG"):
        ocr.recognize(path)
    assert time.perf_counter() - started < 3


def test_only_raster_formats_reach_pillow(monkeypatch: pytest.MonkeyPatch, no_ghostscript) -> None:
    """Even past the PostScript check, Image.open is limited to RASTER_FORMATS."""
    assert "EPS" not in RASTER_FORMATS and "PDF" not in RASTER_FORMATS
    monkeypatch.setattr(inputs, "sniff", lambda data: "image")
    with pytest.raises(ocr.InputError, match="neither a PDF nor an image"):
        ocr.recognize(POSTSCRIPT_LOOP)


def test_pil_images_of_other_formats_are_refused_before_loading(no_ghostscript) -> None:
    eps = Image.open(BytesIO(POSTSCRIPT_LOOP))  # the caller opened it; loading it would run Ghostscript
    assert eps.format == "EPS"
    with pytest.raises(ocr.InputError, match="^PostScript/EPS files are not accepted"):
        ocr.recognize(eps)
    icon = BytesIO()
    render(["X"], (64, 64)).save(icon, format="ICO")
    with pytest.raises(ocr.InputError, match="^ICO images are not accepted"):
        ocr.recognize(Image.open(icon))


def tiff_of(pages: list[list[str]]) -> bytes:
    images = [render(lines) for lines in pages]
    buffer = BytesIO()
    images[0].save(buffer, format="TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw")
    return buffer.getvalue()


def test_multi_page_tiff_reads_every_page_with_progress() -> None:
    calls: list[tuple[int, int]] = []
    result = ocr.recognize(tiff_of(PAGES), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert result.text.split(PAGE_SEPARATOR) == [lines[0] for lines in PAGES]


def test_tiff_pages_are_decoded_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = inputs.image_to_rgb
    monkeypatch.setattr(inputs, "image_to_rgb", lambda image, limit: decoded.append(image.tell()) or real(image, limit))
    document = inputs.open_document(tiff_of(PAGES), settings())
    assert document.page_count == 3 and decoded == []
    next(document.pages)
    assert decoded == [0]
    assert [page.shape for page in document.pages] == [(200, 640, 3)] * 2 and decoded == [0, 1, 2]


def test_tiff_page_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_MAX_PDF_PAGES", "2")
    with pytest.raises(ocr.InputError, match="TIFF file has more than 2 pages; at most 2 pages.*OCR_MAX_PDF_PAGES"):
        ocr.recognize(tiff_of(PAGES))


def large_pages_pdf(count: int) -> bytes:
    """count pages of 15 x 10 inches: 3000 x 2000 pixels (6 megapixels) each at 200 dpi."""
    images = [render(lines, (150, 100)).convert("RGB") for lines in [["P"]] * count]
    buffer = BytesIO()
    images[0].save(buffer, format="PDF", save_all=True, append_images=images[1:], resolution=10)
    return buffer.getvalue()


def test_pages_are_released_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """When a page is rendered or read, no earlier page image is still alive (results keep a
    smaller copy for the overlay)."""
    seen: list[weakref.ref] = []
    alive_earlier: list[int] = []
    render_page = pdf._render_page

    def count_alive_then_render(*args) -> np.ndarray:
        alive_earlier.append(sum(ref() is not None for ref in seen))
        return render_page(*args)

    def predict(self, rgb: np.ndarray, before_tile=None) -> list:
        alive_earlier.append(sum(ref() is not None for ref in seen))
        seen.append(weakref.ref(rgb))
        return []

    monkeypatch.setattr(pdf, "_render_page", count_alive_then_render)
    monkeypatch.setattr(engine.Engine, "predict", predict)
    result = ocr.recognize(large_pages_pdf(3))
    assert alive_earlier == [0] * 6
    for page in result.pages:
        assert (page.width, page.height) == (3000, 2000)
        assert page.image.shape[0] * page.image.shape[1] <= OVERLAY_MAX_PIXELS


def test_overlay_of_a_large_page_is_scaled_down(monkeypatch: pytest.MonkeyPatch) -> None:
    page = Image.new("RGB", (3000, 2000), "white")
    page.paste(render(LINES).convert("RGB").resize((1920, 600)), (200, 200))
    result = ocr.recognize(page)
    assert result.text.split("\n") == LINES and (result.width, result.height) == (3000, 2000)
    overlay = result.overlay(0)
    assert overlay.width * overlay.height <= OVERLAY_MAX_PIXELS and abs(overlay.width / overlay.height - 1.5) < 0.01
    red = np.asarray(overlay)[:, :, 0] > 200
    red &= np.asarray(overlay)[:, :, 1] < 60
    scale = overlay.width / 3000
    rows = np.nonzero(red.any(axis=1))[0]
    assert rows.min() >= 150 * scale and rows.max() <= 850 * scale  # boxes drawn where the text is


def test_time_budget_between_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_predict(self, rgb: np.ndarray, before_tile=None) -> list:
        time.sleep(1.1)
        return []

    monkeypatch.setattr(engine.Engine, "predict", slow_predict)
    monkeypatch.setenv("OCR_TIME_BUDGET", "1")
    with pytest.raises(ocr.TimeBudgetError) as caught:
        ocr.recognize(pdf_of(PAGES))
    assert str(caught.value) == (
        "Reading this file took longer than the 1 s limit per request (OCR_TIME_BUDGET) after 1 of 3 pages; "
        "split it into smaller files."
    )
    assert isinstance(caught.value, ocr.InputError)


def test_time_budget_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings().time_budget == 120
    monkeypatch.setenv("OCR_TIME_BUDGET", "soon")
    with pytest.raises(ocr.OcrError, match="OCR_TIME_BUDGET must be a whole number"):
        ocr.recognize(render(LINES))
