"""Text-line 0/180 (ocr.textlines): lines printed upside down on an upright page are read turned back,
upright lines never are. Real dev pages with lines turned where they lie (fixtures/upside_down.py)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fixtures.upside_down import turn_lines_in_place
from ocr.metrics import cer, normalize

MAX_CER_INCREASE = 0.01  # a page with turned lines reads within +0.01 CER of the same page upright
MIN_CER_LOSS_WITHOUT = 0.03  # without text-line 0/180 the same page reads clearly worse


def _read(path, entry, monkeypatch, upside_down_lines: str = "1"):
    """(upright result, its CER, how many lines were turned, the turned page's result, its CER)."""
    import ocr

    rgb = np.asarray(Image.open(path).convert("RGB"))
    reference = normalize(" ".join(entry["gt_lines"]), **entry["norm"])
    upright = ocr.recognize(rgb)
    turned_page, count = turn_lines_in_place(rgb, upright.pages[0].lines)
    monkeypatch.setenv("OCR_TEXTLINE_ORIENTATION", upside_down_lines)
    turned = ocr.recognize(turned_page)
    return (upright, cer(normalize(upright.text, **entry["norm"]), reference), count,
            turned, cer(normalize(turned.text, **entry["norm"]), reference))


@pytest.mark.parametrize("turn", ["1", "0"], ids=["read-turned", "switched-off"])
def test_receipt_with_lines_upside_down(ocr_dev_manifest, ocr_dev_dir, monkeypatch, turn):
    entry = ocr_dev_manifest["sroie_052"]
    upright, base, count, turned, score = _read(ocr_dev_dir / entry["image"], entry, monkeypatch, turn)
    assert upright.pages[0].orientation.upside_down_lines == 0  # no upright line is turned
    assert count >= 3
    if turn == "0":  # the fixture really breaks the page when nothing turns the lines back
        assert turned.pages[0].orientation.upside_down_lines == 0
        assert score >= base + MIN_CER_LOSS_WITHOUT
        return
    assert score <= base + MAX_CER_INCREASE
    page = turned.pages[0]
    assert page.orientation.upside_down_lines == count
    assert turned.to_json()["pages"][0]["orientation"]["upside_down_lines"] == count
    assert sum(line["upside_down"] for line in turned.to_json()["lines"]) == count


def test_document_page_with_lines_upside_down(pages_dev_manifest, pages_dev_dir, monkeypatch):
    entry = pages_dev_manifest["fedreg-2020-17221-p3"]
    upright, base, count, turned, score = _read(pages_dev_dir / entry["image"], entry, monkeypatch)
    assert upright.pages[0].orientation.upside_down_lines == 0
    assert count >= 40
    assert score <= base + MAX_CER_INCREASE  # upright 0.004, lines turned and not read back 0.160
    assert turned.pages[0].orientation.upside_down_lines >= 0.9 * count


def test_words_of_a_turned_line_run_right_to_left_inside_its_box(ocr_dev_manifest, ocr_dev_dir):
    import ocr
    from ocr.engine import get_engine
    from ocr.textlines import turn_upside_down_lines

    entry = ocr_dev_manifest["sroie_052"]
    rgb = np.asarray(Image.open(ocr_dev_dir / entry["image"]).convert("RGB"))
    upright = ocr.recognize(rgb)
    turned_page, _ = turn_lines_in_place(rgb, upright.pages[0].lines)
    engine = get_engine()
    fragments = turn_upside_down_lines(turned_page, engine.predict(turned_page), engine.recognise)
    turned = [f for f in fragments if f.upside_down and len(f.words) >= 2]
    assert turned
    for fragment in turned:
        xs = [p[0] for p in fragment.box]
        ys = [p[1] for p in fragment.box]
        centres = [np.mean([p[0] for p in word.box]) for word in fragment.words]
        assert centres == sorted(centres, reverse=True)  # the first word is at the right end on the page
        for word in fragment.words:
            assert all(min(xs) - 1 <= x <= max(xs) + 1 and min(ys) - 1 <= y <= max(ys) + 1 for x, y in word.box)
        assert " ".join(word.text for word in fragment.words) == " ".join(fragment.text.split())
