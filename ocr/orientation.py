"""Page orientation (0/90/180/270): a shipped classifier proposes, the text lines confirm.

The PULC text-image-orientation classifier (PP-LCNet, ocr/models/PULC_text_image_orientation)
looks at the centre of the page and names the angle the page was turned by, clockwise. A page is
read turned back only when the classifier is confident (MIN_CONFIDENCE) and the text lines agree
(see `confirms`): after a 90/270 turn the detected lines must lie flat (median width/height of
at least MIN_LINE_ASPECT), after a 180 turn the lines must be recognised with clearly higher
scores than the same page as it came (MIN_SCORE_GAIN). A page the classifier calls sideways without
being confident, whose lines stand on end as it came, is read turned back by 90 and by 270 and the
flat reading with the higher scores kept (ocr/pipeline.py). Details and measurements: docs/layout.md.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Sequence

import cv2
import numpy as np

from .errors import ModelError
from .layout import Fragment

MODEL = "PULC_text_image_orientation"
ANGLES = (0, 90, 180, 270)  # the classifier's labels (ONNX metadata `character`), clockwise
INPUT_SIDE = 224
RESIZE_SHORT = 256
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
# On the 26 dev pages and 30 dev receipts the classifier named every upright image 0 (confidence
# 0.80-0.94) and 167 of the 168 turned ones correctly (0.64-0.94; the miss at 0.46).
MIN_CONFIDENCE = 0.6
# A confirmed 90/270 turn: the lines detected on the turned page lie flat.
MIN_LINE_ASPECT = 1.5
# A confirmed 180 turn: length-weighted mean recognition score up by this much against the page
# read as it came (an upside-down line is read with scores around 0.6-0.8, an upright one 0.95+).
MIN_SCORE_GAIN = 0.05


@dataclass(frozen=True)
class Orientation:
    """How a page was read: angle = clockwise degrees the page had been turned by and was turned
    back (0 when it was read as it came); classified/confidence = the classifier's proposal;
    upside_down_lines = lines of the page as read that were printed upside down and read turned
    (ocr/textlines.py)."""

    angle: int = 0
    confidence: float = 1.0
    classified: int = 0
    upside_down_lines: int = 0

    def to_json(self) -> dict[str, float | int]:
        return {"angle": self.angle, "confidence": round(self.confidence, 4), "classified": self.classified,
                "upside_down_lines": self.upside_down_lines}


class OrientationClassifier:
    """The shipped PULC orientation classifier on onnxruntime (CPU)."""

    def __init__(self, model_dir: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        path = model_dir / MODEL / "inference.onnx"
        try:
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"The page orientation model {path} could not be loaded: {error}") from error
        labels = self._session.get_modelmeta().custom_metadata_map.get("character", "").split("\n")
        if [int(label) for label in labels if label] != list(ANGLES):
            raise ModelError(f"The page orientation model {path} has unexpected labels {labels}.")
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def classify(self, rgb: np.ndarray) -> tuple[int, float]:
        """(angle, probability) of the most likely clockwise turn of an RGB page."""
        with self._lock:
            probabilities = self._session.run(None, {self._input: _preprocess(rgb)})[0][0]
        best = int(np.argmax(probabilities))
        return ANGLES[best], float(probabilities[best])


def _preprocess(rgb: np.ndarray) -> np.ndarray:
    """PaddleClas's preprocessing: BGR, short side to 256, centre crop 224, ImageNet normalisation."""
    height, width = rgb.shape[:2]
    scale = RESIZE_SHORT / max(min(height, width), 1)
    size = (max(INPUT_SIDE, round(width * scale)), max(INPUT_SIDE, round(height * scale)))
    small = cv2.resize(np.ascontiguousarray(rgb[:, :, ::-1]), size, interpolation=cv2.INTER_AREA)
    top, left = (size[1] - INPUT_SIDE) // 2, (size[0] - INPUT_SIDE) // 2
    crop = small[top:top + INPUT_SIDE, left:left + INPUT_SIDE].astype(np.float32) / 255
    return ((crop - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)


def turn_back(rgb: np.ndarray, angle: int) -> np.ndarray:
    """The page turned counter-clockwise by `angle` (undoing a clockwise turn), as a new array."""
    return np.ascontiguousarray(np.rot90(rgb, angle // 90))


def box_aspect(box: Sequence[Sequence[float]]) -> float:
    """Width / height of a text box (4 points clockwise from the text's top-left), edges averaged."""
    p = np.asarray(box, dtype=np.float64)
    width = (np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])) / 2
    height = (np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])) / 2
    return width / max(height, 1e-6)


def line_aspect(fragments: Sequence[Fragment]) -> float:
    """Median width / height of the detected lines with three characters or more (0 if none)."""
    aspects = [box_aspect(fragment.box) for fragment in fragments if len(fragment.text.strip()) >= 3]
    return median(aspects) if aspects else 0.0


def stands_on_end(fragments: Sequence[Fragment]) -> bool:
    """Whether the detected lines stand on end (median height / width of at least MIN_LINE_ASPECT): a page
    lying on its side. False when there are no lines to tell."""
    aspect = line_aspect(fragments)
    return 0 < aspect <= 1 / MIN_LINE_ASPECT


def mean_score(fragments: Sequence[Fragment]) -> float:
    """Recognition score of a page: fragment scores weighted by text length (0 if none)."""
    weights = [len(f.text.strip()) for f in fragments]
    total = sum(weights)
    return sum(f.score * w for f, w in zip(fragments, weights)) / total if total else 0.0


def confirms(angle: int, turned: Sequence[Fragment], as_it_came: Sequence[Fragment] | None) -> bool:
    """Whether the text lines agree with a proposed turn (as_it_came is needed for 180 only)."""
    if angle in (90, 270):
        return line_aspect(turned) >= MIN_LINE_ASPECT
    if angle == 180:
        return as_it_came is not None and mean_score(turned) >= mean_score(as_it_came) + MIN_SCORE_GAIN
    return True
