"""Page orientation (ocr.orientation): the shipped classifier on real pages, the text-line check,
and turned pages end to end through ocr.recognize."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ocr.config import settings
from ocr.layout import Fragment
from ocr.metrics import cer, normalize
from ocr.orientation import MIN_CONFIDENCE, Orientation, OrientationClassifier, confirms, stands_on_end, turn_back

# Every upright dev page and receipt is classified 0; of the turned ones (3 turns x 56 images)
# 167/168 are named right, the miss with confidence under MIN_CONFIDENCE (docs/layout.md).
MIN_TURNS_NAMED_RIGHT = 0.95
CLASSIFY_SIDE = 1024
END_TO_END_RECEIPT = "sroie_052"
END_TO_END_PAGE = "redp5110-p6"
UNSURE_RECEIPT = "sroie_055"  # turned by 90, the classifier names it 270 with confidence 0.46
MAX_CER_INCREASE = 0.01  # the acceptance: a turned page reads within +0.01 CER of upright


@pytest.fixture(scope="module")
def classifier() -> OrientationClassifier:
    config = settings()
    return OrientationClassifier(config.model_dir, config.threads)


def _images(pages_dev_manifest, pages_dev_dir, ocr_dev_manifest, ocr_dev_dir) -> list[np.ndarray]:
    """Every dev page and receipt, scaled to at most CLASSIFY_SIDE (the classifier looks at a
    256-pixel version; the 35-megapixel scans would only make the test slow)."""
    paths = [pages_dev_dir / e["image"] for e in pages_dev_manifest.values()]
    paths += [ocr_dev_dir / e["image"] for e in ocr_dev_manifest.values()]
    images = []
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (CLASSIFY_SIDE, CLASSIFY_SIDE))  # JPEG: decode at a reduced size
            picture = image.convert("RGB")
            picture.thumbnail((CLASSIFY_SIDE, CLASSIFY_SIDE), Image.Resampling.BOX)
            images.append(np.asarray(picture))
    return images


def _turned(rgb: np.ndarray, angle: int) -> np.ndarray:
    """The image turned clockwise by angle degrees (what a sideways scan looks like)."""
    return np.ascontiguousarray(np.rot90(rgb, -angle // 90))


def test_classifier_on_every_real_page_and_receipt(classifier, pages_dev_manifest, pages_dev_dir,
                                                   ocr_dev_manifest, ocr_dev_dir):
    right, total = 0, 0
    for rgb in _images(pages_dev_manifest, pages_dev_dir, ocr_dev_manifest, ocr_dev_dir):
        angle, confidence = classifier.classify(rgb)
        assert angle == 0 or confidence < MIN_CONFIDENCE  # no upright image may be turned
        for turn in (90, 180, 270):
            named, confidence = classifier.classify(_turned(rgb, turn))
            right += named == turn and confidence >= MIN_CONFIDENCE
            total += 1
    assert right / total >= MIN_TURNS_NAMED_RIGHT


def test_turn_back_undoes_a_clockwise_turn():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    for angle in (0, 90, 180, 270):
        assert np.array_equal(turn_back(_turned(rgb, angle), angle), rgb)


def _line(x0: float, y0: float, width: float, height: float, score: float = 0.95) -> Fragment:
    box = ((x0, y0), (x0 + width, y0), (x0 + width, y0 + height), (x0, y0 + height))
    return Fragment("some words", score, box)


def test_text_lines_must_agree_with_the_classifier():
    flat = [_line(10, 30 * k, 300, 24) for k in range(5)]
    standing = [_line(30 * k, 10, 24, 300) for k in range(5)]
    assert confirms(90, flat, None) and confirms(270, flat, None)
    assert not confirms(90, standing, None)  # the classifier was wrong: the lines were upright before
    upside_down = [_line(10, 30 * k, 300, 24, score=0.7) for k in range(5)]
    assert confirms(180, flat, upside_down)
    assert not confirms(180, flat, flat)  # no better read turned: keep the page as it came
    assert not confirms(180, flat, None)
    assert stands_on_end(standing) and not stands_on_end(flat)
    assert not stands_on_end([])  # a page with no text is not taken for one lying on its side


@pytest.mark.parametrize("angle", [90, 180, 270])
def test_turned_receipt_reads_as_upright(ocr_dev_manifest, ocr_dev_dir, angle):
    import ocr

    entry = ocr_dev_manifest[END_TO_END_RECEIPT]
    rgb = np.asarray(Image.open(ocr_dev_dir / entry["image"]).convert("RGB"))
    reference = normalize(" ".join(entry["gt_lines"]), **entry["norm"])
    upright = ocr.recognize(rgb)
    assert upright.pages[0].orientation == Orientation(0, upright.pages[0].orientation.confidence, 0)
    turned = ocr.recognize(_turned(rgb, angle))
    page = turned.pages[0]
    assert page.orientation.angle == angle and page.orientation.confidence >= MIN_CONFIDENCE
    assert (page.width, page.height) == (upright.pages[0].width, upright.pages[0].height)
    assert turned.overlay().size == upright.overlay().size  # the overlay shows the page turned back
    assert turned.to_json()["pages"][0]["orientation"]["angle"] == angle
    base = cer(normalize(upright.text, **entry["norm"]), reference)
    assert cer(normalize(turned.text, **entry["norm"]), reference) <= base + MAX_CER_INCREASE


def test_sideways_receipt_the_classifier_is_unsure_of_reads_as_upright(ocr_dev_manifest, ocr_dev_dir):
    """Below MIN_CONFIDENCE the page is read as it came; its lines stand on end, so it is read turned
    back both ways and the flat reading with the better scores is kept."""
    import ocr

    entry = ocr_dev_manifest[UNSURE_RECEIPT]
    rgb = np.asarray(Image.open(ocr_dev_dir / entry["image"]).convert("RGB"))
    reference = normalize(" ".join(entry["gt_lines"]), **entry["norm"])
    upright = cer(normalize(ocr.recognize(rgb).text, **entry["norm"]), reference)
    result = ocr.recognize(_turned(rgb, 90))
    orientation = result.pages[0].orientation
    assert orientation.classified in (90, 270) and orientation.confidence < MIN_CONFIDENCE
    assert orientation.angle == 90
    assert cer(normalize(result.text, **entry["norm"]), reference) <= upright + MAX_CER_INCREASE


def test_sideways_document_page_reads_as_upright(pages_dev_manifest, pages_dev_dir):
    import ocr

    entry = pages_dev_manifest[END_TO_END_PAGE]
    rgb = np.asarray(Image.open(pages_dev_dir / entry["image"]).convert("RGB"))
    reference = normalize(" ".join(entry["gt_lines"]))
    result = ocr.recognize(_turned(rgb, 90))
    assert result.pages[0].orientation.angle == 90
    assert cer(normalize(result.text), reference) <= 0.02  # upright: 0.001 (docs/layout.md)
