"""hOCR, ALTO, Markdown, text and JSON written from real OCR results (samples and pages-dev pages)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree
from ocrmypdf.hocrtransform import HocrParser

from ocr.errors import InputError
from ocr.export import FORMATS, output_name, parse_formats, render
from ocr.pipeline import recognize

DATA = Path(__file__).parent / "data"
XHTML = "{http://www.w3.org/1999/xhtml}"
ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"


class _OfflineXlink(etree.Resolver):
    """The ALTO schema imports xlink.xsd from loc.gov: answer with the shipped copy."""

    def resolve(self, url, pubid, context):
        if url.endswith("xlink.xsd"):
            return self.resolve_filename(str(DATA / "xlink.xsd"), context)
        return None


@pytest.fixture(scope="module")
def alto_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_OfflineXlink())
    return etree.XMLSchema(etree.parse(str(DATA / "alto-4-4.xsd"), parser))


@pytest.fixture(scope="module")
def receipt(samples_dir):
    return recognize(samples_dir / "documents" / "receipt_043.jpg")


@pytest.fixture(scope="module")
def table_page():
    path = Path(__file__).resolve().parents[2] / "shared" / "data" / "pages-dev" / "images" / "adverse-reactions-table-p1.png"
    return recognize(path)


@pytest.fixture(scope="module")
def two_pages(tmp_path_factory, samples_dir):
    """A two-page PDF: the receipt and the two-column page, as raster pages."""
    from PIL import Image

    path = tmp_path_factory.mktemp("pdf") / "two_pages.pdf"
    first = Image.open(samples_dir / "documents" / "receipt_052.jpg").convert("RGB")
    second = Image.open(samples_dir / "documents" / "two_column.png").convert("RGB")
    first.save(path, save_all=True, append_images=[second], resolution=150)
    return path, recognize(path)


def test_words_cover_every_line(receipt):
    for line in receipt.pages[0].lines:
        assert [w.text for w in line.words] == line.text.split(), line.text
    data = receipt.to_json()
    assert all("words" in line for line in data["lines"])
    assert data["pages"][0]["lines"][0]["words"][0]["text"] == receipt.pages[0].lines[0].words[0].text


def test_word_boxes_lie_inside_their_line_left_to_right(receipt):
    for line in receipt.pages[0].lines:
        xs = [min(p[0] for p in w.box) for w in line.words]
        assert xs == sorted(xs), line.text
        lx0, lx1 = min(p[0] for p in line.box), max(p[0] for p in line.box)
        for w in line.words:
            assert lx0 - 2 <= min(p[0] for p in w.box) < max(p[0] for p in w.box) <= lx1 + 2


def test_hocr_parses_with_one_page_per_page_and_word_boxes(two_pages):
    path, result = two_pages
    data = render(result, "hocr", path.read_bytes(), path.name)
    root = etree.fromstring(data)
    pages = root.findall(f".//{XHTML}div[@class='ocr_page']")
    assert len(pages) == 2
    for page, ours in zip(pages, result.pages):
        assert page.get("title").startswith(f"bbox 0 0 {ours.width} {ours.height}")
        words = page.findall(f".//{XHTML}span[@class='ocrx_word']")
        assert [w.text for w in words] == [w.text for line in ours.lines for w in line.words]
        assert all("x_wconf" in w.get("title") and w.get("title").startswith("bbox ") for w in words)
        assert page.findall(f".//{XHTML}div[@class='ocr_carea']") and page.findall(f".//{XHTML}span[@class='ocr_line']")
    # OCRmyPDF's own hOCR parser reads it too: words with boxes, in our reading order
    tmp = path.with_suffix(".hocr")
    tmp.write_bytes(data)
    parsed = HocrParser(tmp).parse()
    words = parsed.iter_by_class("ocrx_word")
    assert [w.text for w in words] == [w.text for line in result.pages[0].lines for w in line.words]
    assert all(w.bbox is not None and w.bbox.width > 0 for w in words)


def test_alto_validates_against_the_official_schema(two_pages, receipt, table_page, alto_schema):
    path, result = two_pages
    for res, name in ((result, path.name), (receipt, "receipt_043.jpg"), (table_page, "table.png")):
        doc = etree.fromstring(render(res, "alto", b"", name))
        assert alto_schema.validate(doc), alto_schema.error_log
        assert len(doc.findall(f".//{ALTO}Page")) == len(res.pages)
        strings = [s.get("CONTENT") for s in doc.iter(f"{ALTO}String")]
        assert strings == [w.text for p in res.pages for line in p.lines for w in line.words]


def test_alto_schema_rejects_a_broken_document(receipt, alto_schema):
    """The validation really checks: a String without its CONTENT is refused."""
    doc = etree.fromstring(render(receipt, "alto", b"", "r.jpg"))
    del next(doc.iter(f"{ALTO}String")).attrib["CONTENT"]
    assert not alto_schema.validate(doc)


def test_table_page_gives_a_markdown_table(table_page):
    md = render(table_page, "md", b"").decode()
    tables = [block for block in md.split("\n\n") if block.startswith("| ")]
    assert tables, md
    rows = tables[0].splitlines()
    assert set(rows[1].strip("|").split("|")) == {"---"}
    width = rows[0].count(" | ")
    assert width >= 1 and all(r.count(" | ") - r.count("\\| ") == width for r in rows[2:] if not r.startswith("|---"))
    table_blocks = [b for b in table_page.pages[0].blocks if b.kind == "table"]
    assert len(tables) == len(table_blocks)


def test_markdown_keeps_all_the_words_in_reading_order(receipt):
    md = render(receipt, "md", b"").decode()
    flat = [w for w in md.replace("|", " ").replace("\\", " ").replace("#", " ").split() if w != "---"]
    assert flat == [w for w in receipt.text.replace("|", " ").replace("#", " ").split()]


def test_text_and_json_are_the_ocr_result(receipt):
    assert render(receipt, "txt", b"").decode() == receipt.text + "\n"
    assert json.loads(render(receipt, "json", b"")) == json.loads(json.dumps(receipt.to_json()))


def test_formats_and_names():
    assert parse_formats("pdf, ALTO,md,md") == ["pdf", "alto", "md"]
    assert parse_formats(["json", "markdown"]) == ["md", "json"]
    with pytest.raises(InputError, match="docx"):
        parse_formats("pdf,docx")
    with pytest.raises(InputError):
        parse_formats("")
    assert [output_name("a/scan.v2.pdf", f) for f in FORMATS] == [
        "scan.v2.pdf", "scan.v2.hocr", "scan.v2.alto.xml", "scan.v2.md", "scan.v2.txt", "scan.v2.json"]


@pytest.fixture(scope="module")
def turned_receipt(samples_dir, tmp_path_factory):
    """A receipt with some of its lines printed upside down where they lie (fixtures/upside_down.py)."""
    import numpy as np
    from PIL import Image

    from fixtures.upside_down import turn_lines_in_place

    rgb = np.asarray(Image.open(samples_dir / "documents" / "receipt_052.jpg").convert("RGB"))
    turned, count = turn_lines_in_place(rgb, recognize(rgb).pages[0].lines)
    path = tmp_path_factory.mktemp("turned") / "receipt_turned.png"
    Image.fromarray(turned).save(path)
    result = recognize(path)
    assert result.pages[0].orientation.upside_down_lines == count >= 3
    return path, result


def test_upside_down_lines_are_marked_turned(turned_receipt, alto_schema):
    """hOCR gives each such line `textangle 180`; ALTO puts them in text blocks of their own with
    ROTATION="180", and still validates with every word in reading order."""
    path, result = turned_receipt
    count = result.pages[0].orientation.upside_down_lines
    hocr = etree.fromstring(render(result, "hocr", path.read_bytes(), path.name))
    lines = hocr.findall(f".//{XHTML}span[@class='ocr_line']")
    assert sum("textangle 180" in line.get("title") for line in lines) == count
    alto = etree.fromstring(render(result, "alto", b"", path.name))
    assert alto_schema.validate(alto), alto_schema.error_log
    rotated = [block for block in alto.iter(f"{ALTO}TextBlock") if block.get("ROTATION") == "180"]
    assert sum(len(block.findall(f"{ALTO}TextLine")) for block in rotated) == count
    strings = [s.get("CONTENT") for s in alto.iter(f"{ALTO}String")]
    assert strings == [w.text for line in result.pages[0].lines for w in line.words]
