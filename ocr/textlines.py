"""Text lines printed upside down on an upright page (text-line 0/180): read turned, kept when they read.

A line printed upside down (a label turned on a form, a block pasted in the wrong way round) is
detected like any other but recognised as garbage with a middling score (0.5-0.8 on the dev pages
with a band turned in place; an upright line reads 0.95+). Every line read below SUSPECT_SCORE is
therefore read again turned by 180 degrees, and the turned reading replaces it when it scores at
least MIN_TURNED_SCORE and MIN_SCORE_GAIN above the line as it came and holds as much text (at least
MIN_CHARACTERS, and half the characters read as it came): a line that reads the same either way
("0", "SOS") or badly both ways (a smudge) stays as it is. Lines standing on end are left
alone (whole pages turned by 90/180/270 are ocr/orientation.py's). The turned line keeps its box on
the page; its words run from the box's right end to its left, and `upside_down` marks it.

The recogniser is the judge, not a classifier: the text-line orientation classifier that ships with
PP-OCR (ch_ppocr_mobile_v2.0_cls, in the rapidocr wheel) named two thirds of the upside-down lines of
three dev pages 180 with confidence, 54 upright table cells too, at 3.3 ms a line (docs/layout.md,
"Upside-down lines").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from .layout import Fragment
from .orientation import box_aspect
from .spacing import restore_spaces
from .words import split_words

SUSPECT_SCORE = 0.9
MIN_TURNED_SCORE = 0.9
MIN_SCORE_GAIN = 0.15
# Shorter crops carry too little text to tell the two ways apart (a digit, a bullet).
MIN_CHARACTERS = 3

# recognise(crops as RGB uint8) -> [(text, score, PaddleX word info)] in the same order
Recognise = Callable[[list[np.ndarray]], list[tuple[str, float, tuple]]]


def turn_upside_down_lines(rgb: np.ndarray, fragments: Sequence[Fragment], recognise: Recognise) -> list[Fragment]:
    """fragments with every line that reads clearly better turned by 180 degrees replaced by that reading."""
    suspects = [k for k, f in enumerate(fragments) if f.score < SUSPECT_SCORE and len(f.text.strip()) >= MIN_CHARACTERS
                and box_aspect(f.box) > 1]
    if not suspects:
        return list(fragments)
    turned_crops = [cv2.rotate(_crop_line(rgb, fragments[k].box), cv2.ROTATE_180) for k in suspects]
    out = list(fragments)
    for k, crop, (text, score, word_info) in zip(suspects, turned_crops, recognise(turned_crops)):
        if _reads_better(text, score, fragments[k]):
            out[k] = _turned_fragment(fragments[k].box, crop, text, score, word_info)
    return out


def _reads_better(text: str, score: float, as_it_came: Fragment) -> bool:
    """Whether the turned reading wins: clearly higher scored, and as much text (a faint mark read
    "B42" upright came back as a confident "A" turned)."""
    solid = len("".join(text.split()))
    return (score >= MIN_TURNED_SCORE and score >= as_it_came.score + MIN_SCORE_GAIN
            and solid >= max(MIN_CHARACTERS, len("".join(as_it_came.text.split())) / 2))


def _crop_line(rgb: np.ndarray, box: Sequence[Sequence[float]]) -> np.ndarray:
    """The line's quadrilateral straightened into a rectangle, as PaddleOCR's pipeline crops it."""
    from paddlex.inference.pipelines.components import CropByPolys

    return CropByPolys().get_rotate_crop_image(rgb, np.asarray(box, dtype=np.float32))


def _turned_fragment(box: Sequence[Sequence[float]], crop: np.ndarray, text: str, score: float,
                     word_info: tuple) -> Fragment:
    """A fragment for a line read turned: spaces restored on the turned crop, word boxes on the page."""
    from paddlex.inference.pipelines.components import cal_ocr_word_box

    height, width = crop.shape[:2]
    frame = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    runs, run_boxes = cal_ocr_word_box(text, frame, word_info)
    run_boxes = [np.asarray(b, dtype=np.float64).reshape(-1, 2) for b in run_boxes]
    spaced = restore_spaces(crop, text, runs, run_boxes, frame)
    quad = np.asarray(box, dtype=np.float64)
    turned_quad = quad[[2, 3, 0, 1]]  # the text's own top-left first: the page's bottom-right corner
    on_page = [_to_page(turned_quad, b, width, height) for b in run_boxes]
    words = split_words(spaced, score, runs, on_page, turned_quad)
    return Fragment(text=spaced, score=score, box=tuple(box), words=words, upside_down=True)


def _to_page(quad: np.ndarray, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Points of the turned crop (x right, y down along the text) on the page."""
    u, v = points[:, :1] / width, points[:, 1:] / height
    return quad[0] + u * (quad[1] - quad[0]) + v * (quad[3] - quad[0])
