"""Regions (ocr.regions): titles, paragraphs, tables, headers and footers from known boxes of synthetic
and real pages, their colours in the overlay and their headings in Markdown."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.pages import SyntheticPage
from ocr.export.markdown import page_markdown
from ocr.layout import Fragment, Layout, analyze
from ocr.regions import REGION_KINDS, find_regions
from ocr.orientation import Orientation
from ocr.result import REGION_COLOURS, OcrPage, OcrResult, page_notes

# Real pages of pages-dev, from their ground-truth boxes: what a reader sees at the top and bottom.
REAL_MARGINS = {
    "redp5110-p6": (["1.1 Security fundamentals", "1.2 Current state of IBM i security"],
                    "2 Row and Column Access Control Support in IBM DB2 for i"),
    "nics-checks-2015-11-p1": (["NICS Firearm Background Checks November - 2015"], "Page 1 of 205"),
    "scotus-transcript-p1": ([], "1 Alderson Reporting Company"),
}

# Every caption of the dev pages, from their ground-truth boxes, as (its start, its end): the handbook's
# figure captions, the paper's "Fig." captions and its five-line table caption (ended before the
# table's heading row), the adverse-reactions table's; "Figure 3 was created with ..." on
# creativity-ml-p2 is a sentence.
REAL_CAPTIONS = {
    "amt-handbook-p1": [("Figure 7-26.", "Self-locking nuts."), ("Figure 7-27.", "self-locking nut.")],
    "creativity-ml-p2": [("Fig. 2:", "Aurelia aurita"), ("Fig. 3: DeepDream", "Aurelia aurita")],
    "otsl-paper-p9": [("Table 1. HPO performed", "maintain a much higher mAP score than the HTML counterpart.")],
    "adverse-reactions-table-p1": [("Table 2:", "Tabulated adverse reactions")],
}


def _page(page: SyntheticPage) -> OcrPage:
    """An OcrPage laid out from a synthetic page's known boxes (no engine)."""
    width, height = page.image.size
    layout = analyze([Fragment(box.text, 0.9, box.box) for box in page.segments], width, height)
    return OcrPage(0, width, height, layout.lines, layout.blocks, layout.text, np.asarray(page.image.convert("RGB")),
                   regions=find_regions(layout.lines, layout.blocks, height))


def _texts(layout: Layout | OcrPage, region) -> str:
    return " ".join(layout.lines[i].text for i in region.lines)


@pytest.mark.parametrize("name", ["two_column", "three_column"])
def test_column_page_is_title_paragraphs_footer(pages, name):
    page = _page(pages[name])
    kinds = [r.kind for r in page.regions]
    assert kinds[0] == "title" and kinds[-1] == "footer" and set(kinds[1:-1]) == {"paragraph"}
    assert _texts(page, page.regions[0]) == pages[name].reference.split("\n")[0]
    assert _texts(page, page.regions[-1]).startswith("Page ")
    assert [i for r in page.regions for i in r.lines] == list(range(len(page.lines)))
    assert len(page.regions) > len(page.blocks)  # each column divided into its paragraphs


def test_table_is_one_region_of_its_rows(pages):
    page = _page(pages["table"])
    (table,) = [b for b in page.blocks if b.kind == "table"]
    assert [r.lines for r in page.regions if r.kind == "table"] == [table.lines]
    assert all(r.kind in REGION_KINDS for r in page.regions)


@pytest.mark.parametrize("page_id", sorted(REAL_MARGINS))
def test_real_pages_titles_and_footers(pages_dev_manifest, pages_dev_dir, page_fragments, page_id):
    entry = pages_dev_manifest[page_id]
    width, height = Image.open(pages_dev_dir / entry["image"]).size
    layout = analyze(page_fragments(entry), width, height)
    regions = find_regions(layout.lines, layout.blocks, height)
    titles, footer = REAL_MARGINS[page_id]
    assert [_texts(layout, r) for r in regions if r.kind == "title"] == titles
    assert [_texts(layout, r) for r in regions if r.kind == "footer"] == [footer]
    assert regions[-1].kind == "footer"


def test_overlay_fills_each_region_in_its_colour(pages):
    page = _page(pages["two_column"])
    overlay = np.asarray(OcrResult([page], page.text, page.width, page.height, {}, {}).overlay(0)).astype(float)
    plain = np.asarray(pages["two_column"].image.convert("RGB")).astype(float)
    for region in page.regions:
        (x0, y0), (x1, y1) = region.box[0], region.box[2]
        tint = (overlay - plain)[int(y0):int(y1), int(x0):int(x1)].reshape(-1, 3).mean(axis=0)
        colour = np.asarray(REGION_COLOURS[region.kind], dtype=float)
        # white paper blended toward the colour: the channels drop in the colour's proportions
        assert np.corrcoef(tint, colour - 255)[0, 1] > 0.9, region.kind


def test_markdown_heads_the_page_with_its_title(pages):
    page = _page(pages["two_column"])
    blocks = page_markdown(page).split("\n\n")
    assert blocks[0] == "## " + pages["two_column"].reference.split("\n")[0]
    assert blocks[-1].startswith("Page ") and len(blocks) == len(page.regions)


def test_real_pages_captions_and_nothing_else(pages_dev_manifest, pages_dev_dir, page_fragments):
    for page_id, entry in pages_dev_manifest.items():
        width, height = Image.open(pages_dev_dir / entry["image"]).size
        layout = analyze(page_fragments(entry), width, height)
        captions = [r for r in find_regions(layout.lines, layout.blocks, height) if r.kind == "caption"]
        texts = [_texts(layout, r) for r in captions]
        expected = REAL_CAPTIONS.get(page_id, [])
        assert len(texts) == len(expected), (page_id, texts)
        assert all(t.startswith(start) and t.endswith(end) for t, (start, end) in zip(texts, expected)), texts

def test_markdown_sets_captions_in_italics(pages_dev_manifest, pages_dev_dir, page_fragments):
    entry = pages_dev_manifest["amt-handbook-p1"]
    width, height = Image.open(pages_dev_dir / entry["image"]).size
    layout = analyze(page_fragments(entry), width, height)
    page = OcrPage(0, width, height, layout.lines, layout.blocks, layout.text, np.zeros((8, 8, 3), np.uint8),
                   regions=find_regions(layout.lines, layout.blocks, height))
    assert "*Figure 7-26. Self-locking nuts.*" in page_markdown(page).split("\n\n")


def test_page_notes_count_the_regions_and_the_turns(pages):
    page = _page(pages["two_column"])
    page.orientation = Orientation(angle=180, confidence=0.97, classified=180, upside_down_lines=0)
    paragraphs = sum(r.kind == "paragraph" for r in page.regions)
    notes = page_notes(OcrResult([page], page.text, page.width, page.height, {}, {}).to_json())
    assert notes.startswith(f"**Page 1**: {len(page.lines)} lines (1 title, {paragraphs} paragraphs, 1 footer)")
    assert "read turned back by 180° (classifier 0.97)" in notes and "upside down" not in notes
