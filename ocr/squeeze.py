"""Long text lines read narrower: the recogniser's time grows with a line's width, and long lines
of printed text read almost the same at three quarters of it.

The recogniser scales every line to 48 pixels high and computes one output column per 8 pixels of
its width; a page's prose gives it 2-3 columns per character, more than it needs. A line wider than
SQUEEZE_MIN_WIDTH (at height 48) whose crop is at most SQUEEZE_MAX_HEIGHT pixels high (stretched
1.7 times or more to reach 48, so at 0.75 of its width none of its own pixels is lost) is read at
OCR_LINE_SQUEEZE of its width; a line that then scores under REREAD_SCORE is read again as it is.
Chosen on the lines of the dev pages and receipts: docs/ocr.md, "Speed (2026-12-05, 1.13.0)"."""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np

REC_HEIGHT = 48  # the recogniser's input height
SQUEEZE_MIN_WIDTH = 600  # pixels at REC_HEIGHT: shorter lines cost little and read worse squeezed
SQUEEZE_MAX_HEIGHT = 28  # crop pixels: taller crops (big scans, receipts) read worse squeezed
REREAD_SCORE = 0.95


def squeezable(crop: np.ndarray) -> bool:
    """Whether a line crop (height x width x channels) is one to read narrower."""
    height, width = crop.shape[:2]
    return height <= SQUEEZE_MAX_HEIGHT and width * REC_HEIGHT / height > SQUEEZE_MIN_WIDTH


class SqueezingRecognizer:
    """Stands in for PaddleX's text recogniser in the OCR pipeline (called with a list of BGR line
    crops): squeezable lines are read at `factor` of their width, those that read poorly read again
    as they are. Word positions come out as fractions of the line, so they need no mapping back."""

    def __init__(self, recognizer: Any, factor: float) -> None:
        self.recognizer = recognizer
        self.factor = factor

    def __call__(self, crops: list[np.ndarray], **params: Any) -> list[dict[str, Any]]:
        narrow = [k for k, crop in enumerate(crops) if self.factor < 1 and squeezable(crop)]
        inputs = list(crops)
        for k in narrow:
            height, width = crops[k].shape[:2]
            inputs[k] = cv2.resize(crops[k], (round(width * self.factor), height), interpolation=cv2.INTER_AREA)
        results = self._read(inputs, params)
        again = [k for k in narrow if results[k]["rec_score"] < REREAD_SCORE]
        for k, result in zip(again, self._read([crops[k] for k in again], params)):
            results[k] = result
        return results

    def _read(self, crops: list[np.ndarray], params: dict[str, Any]) -> list[dict[str, Any]]:
        """The recogniser's results in the crops' order, read in batches of similar width."""
        if not crops:
            return []
        order = sorted(range(len(crops)), key=lambda k: crops[k].shape[1] / crops[k].shape[0])
        results: list[dict[str, Any]] = [{}] * len(crops)
        for k, result in zip(order, self.recognizer([crops[k] for k in order], **params)):
            results[k] = result
        return results

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["recognizer"], name)
