"""ocr.spacing: spaces put back from the gaps on the page (text rendered with a real font)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import ocr
from fixtures.pages import find_font
from ocr.spacing import restore_spaces

SIZE = 40


@pytest.fixture(scope="module")
def mono() -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(find_font("mono")), SIZE)


def render(printed: str, runs: list[str], font: ImageFont.FreeTypeFont):
    """The page with `printed` on it, and the boxes of `runs` (printed without its spaces, in order)
    the way the recogniser reports them: from each run's first to its last glyph."""
    page = Image.new("RGB", (40 + int(font.getlength(printed)), 3 * SIZE), 255)
    x, y = 20, SIZE
    ImageDraw.Draw(page).text((x, y), printed, font=font, fill=(0, 0, 0))
    boxes, position = [], 0
    for run in runs:
        position = printed.index(run, position)
        start = x + font.getlength(printed[:position])
        position += len(run)
        stop = x + font.getlength(printed[:position])
        boxes.append([(start, y), (stop, y), (stop, y + SIZE), (start, y + SIZE)])
    line = [(x - SIZE / 2, y - SIZE / 2), (page.width - 1, y - SIZE / 2), (page.width - 1, y + 1.5 * SIZE), (x - SIZE / 2, y + 1.5 * SIZE)]
    return np.asarray(page), boxes, line


def test_a_space_goes_back_where_the_page_shows_one(mono):
    page, boxes, line = render("TOTAL : 5.00", ["TOTAL", ":", "5.00"], mono)
    assert restore_spaces(page, "TOTAL:5.00", ["TOTAL", ":", "5.00"], boxes, line) == "TOTAL : 5.00"


def test_no_space_where_the_glyphs_touch(mono):
    page, boxes, line = render("TOTAL:5.00", ["TOTAL", ":", "5.00"], mono)
    assert restore_spaces(page, "TOTAL:5.00", ["TOTAL", ":", "5.00"], boxes, line) == "TOTAL:5.00"


def test_only_the_missing_space_is_added(mono):
    page, boxes, line = render("TEL: 03-4021", ["TEL", ":", "03-4021"], mono)
    assert restore_spaces(page, "TEL:03-4021", ["TEL", ":", "03-4021"], boxes, line) == "TEL: 03-4021"


def test_no_space_inside_a_web_address_or_before_a_comma(mono):
    runs = ["www", ".", "example", ".", "com", ","]
    page, boxes, line = render("www . example . com ,", runs, mono)
    assert restore_spaces(page, "www.example.com,", runs, boxes, line) == "www.example.com,"


def test_runs_that_do_not_make_up_the_text_leave_it_alone(mono):
    page, boxes, line = render("TOTAL : 5.00", ["TOTAL", ":", "5.00"], mono)
    assert restore_spaces(page, "TOTAL:5.0", ["TOTAL", ":", "5.00"], boxes, line) == "TOTAL:5.0"
    assert restore_spaces(page, "TOTAL", ["TOTAL"], boxes[:1], line) == "TOTAL"


def test_the_engine_puts_back_a_space_the_recogniser_dropped(samples_dir):
    # The recogniser alone reads this receipt's "DATE : 10-03-2018" as "Date :10-03-2018".
    assert "Date : 10-03-2018" in ocr.recognize(samples_dir / "documents" / "receipt_043.jpg").text
