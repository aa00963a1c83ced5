"""Sidebars (ocr.sidebars): the journal's margin notes of a real title page read after the text they
stand beside, on the page and on a two-up sheet, and nowhere else on the dev pages, receipts or
synthetic pages."""
from __future__ import annotations

import numpy as np
from PIL import Image

import ocr
from fixtures.two_up import GUTTER
from ocr.export.markdown import page_markdown
from ocr.layout import Fragment, analyze
from ocr.metrics import cer, normalize
from ocr.regions import find_regions
from ocr.result import OcrPage

PAGE = "shiftwork-paper-p1"  # an Emerald article's title page: imprint, dates and DOI down the left margin
NOTES = ["ER", "29,2", "162", "Received 4 October 2005", "Revised 7 March 2006", "Accepted 8 March 2006",
         "Employee Relations", "Vol. 29 No. 2, 2007", "pp. 162-177", "© Emerald Group Publishing Limited",
         "0142-5455", "DOI 10.1108/01425450710719996"]


def _text(layout) -> str:
    return " ".join(line.text for line in layout.lines)


def _sidebar_lines(layout) -> list[str]:
    return [layout.lines[i].text for block in layout.blocks if block.kind == "sidebar" for i in block.lines]


def _size(folder, entry) -> tuple[int, int]:
    with Image.open(folder / entry["image"]) as image:
        return image.size


def test_margin_notes_are_read_after_the_page(pages_dev_manifest, pages_dev_dir, page_fragments):
    entry = pages_dev_manifest[PAGE]
    width, height = _size(pages_dev_dir, entry)
    layout = analyze(page_fragments(entry), width, height)
    assert _sidebar_lines(layout) == NOTES
    assert layout.blocks[-1].kind == "sidebar"
    # read row by row with the title and the abstract, as before sidebars: 0.115
    assert cer(normalize(_text(layout)), normalize(" ".join(entry["gt_lines"]))) <= 0.01
    regions = find_regions(layout.lines, layout.blocks, height)
    assert [r.kind for r in regions][-1] == "sidebar"
    page = OcrPage(0, width, height, layout.lines, layout.blocks, layout.text, np.zeros((8, 8, 3), np.uint8),
                   regions=regions)
    assert page_markdown(page).split("\n\n")[-1] == "> " + " ".join(NOTES)


def test_no_sidebar_elsewhere(pages_dev_manifest, pages_dev_dir, ocr_dev_manifest, ocr_dev_dir, page_fragments, pages):
    for folder, manifest in ((pages_dev_dir, pages_dev_manifest), (ocr_dev_dir, ocr_dev_manifest)):
        for page_id, entry in manifest.items():
            if page_id != PAGE:
                assert _sidebar_lines(analyze(page_fragments(entry), *_size(folder, entry))) == [], page_id
    for name, page in pages.items():
        layout = analyze([Fragment(box.text, 0.9, box.box) for box in page.segments], *page.image.size)
        assert _sidebar_lines(layout) == [], name


def test_two_up_sheet_reads_the_notes_with_their_page(pages_dev_manifest, pages_dev_dir, page_fragments):
    """The title page on the left of a two-up sheet, a paper page on the right (fixtures/two_up.py):
    the notes come after the left page's text and before the right page's."""
    left, right = pages_dev_manifest[PAGE], pages_dev_manifest["otsl-paper-p9"]
    (lw, lh), (rw, rh) = _size(pages_dev_dir, left), _size(pages_dev_dir, right)
    scale = lh / rh
    moved = [Fragment(f.text, f.score, tuple((x * scale + lw + GUTTER, y * scale) for x, y in f.box))
             for f in page_fragments(right)]
    layout = analyze(page_fragments(left) + moved, lw + GUTTER + round(rw * scale), lh)
    assert _sidebar_lines(layout) == NOTES
    expected = " ".join(left["gt_lines"] + right["gt_lines"])
    assert cer(normalize(_text(layout)), normalize(expected)) <= 0.01


def test_title_page_end_to_end(pages_dev_manifest, pages_dev_dir):
    """Through the engine: the notes are a sidebar region, read last (CER 0.119 before sidebars)."""
    entry = pages_dev_manifest[PAGE]
    page = ocr.recognize(pages_dev_dir / entry["image"]).pages[0]
    kinds = [r.kind for r in page.regions]
    assert kinds[-1] == "sidebar"
    notes = " ".join(page.lines[i].text for i in page.regions[-1].lines)
    assert notes.startswith("ER 29,2 162 Received 4 October 2005") and notes.endswith("DOI 10.1108/01425450710719996")
    text = " ".join(line.text for line in page.lines)
    assert cer(normalize(text), normalize(" ".join(entry["gt_lines"]))) <= 0.02
