"""Long printed lines read at three quarters of their width (ocr/squeeze.py), on a real dev page."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ocr.config import settings
from ocr.engine import get_engine
from ocr.errors import OcrError
from ocr.metrics import cer
from ocr.squeeze import SqueezingRecognizer, squeezable

PAPER_PAGE = "shiftwork-paper-p3"  # two columns of a research paper: 50 lines, most of them long


@pytest.mark.parametrize(("height", "width", "expected"), [
    (24, 1000, True),    # a page's prose line: 2000 px at height 48
    (24, 250, False),    # a short line: 500 px at height 48
    (40, 2000, False),   # tall crop of a big scan (receipts): read as it is
])
def test_which_lines_are_squeezed(height: int, width: int, expected: bool) -> None:
    assert squeezable(np.zeros((height, width, 3), np.uint8)) is expected


@pytest.mark.parametrize("raw", ["0.4", "1.5", "three quarters"])
def test_bad_squeeze_setting_is_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_LINE_SQUEEZE", raw)
    with pytest.raises(OcrError, match="OCR_LINE_SQUEEZE must be"):
        settings()


def test_long_lines_read_narrower_and_as_well(pages_dev_manifest: dict, page_lines: Callable) -> None:
    lines = page_lines(pages_dev_manifest[PAPER_PAGE])
    widths: list[int] = []
    recognizer = get_engine().line_reader.recognizer

    def recording(crops: list[np.ndarray], **params: object) -> list:
        widths.extend(crop.shape[1] for crop in crops)
        return list(recognizer(crops, **params))

    crops = [np.ascontiguousarray(crop[:, :, ::-1]) for crop, _ in lines]  # BGR, as the pipeline gives them
    truth = " ".join(text for _, text in lines)
    full = SqueezingRecognizer(recording, 1.0)(crops)
    full_width = sum(widths)
    widths.clear()
    narrow = SqueezingRecognizer(recording, 0.75)(crops)
    assert sum(squeezable(crop) for crop in crops) > 0.7 * len(crops)
    assert sum(widths) < 0.85 * full_width  # the long lines went in narrower (and few were read again)
    full_cer = cer(" ".join(r["rec_text"] for r in full), truth)
    narrow_cer = cer(" ".join(r["rec_text"] for r in narrow), truth)
    assert full_cer < 0.02
    assert narrow_cer <= full_cer + 0.005
