"""Classify MNIST-format digits with the exported DigitNet on onnxruntime; the session is created once,
lazily, thread-safe (onnxruntime sessions may be run from many threads at once)."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digits import config
from digits.preprocess import ROW_BLANK, ROW_HEIGHT, ROW_WIDTH, ImageSource, preprocess
from digits.weights import read_manifest, verified

if TYPE_CHECKING:
    import onnxruntime

_sessions: dict[Path, onnxruntime.InferenceSession] = {}
_lock = threading.Lock()


def open_session(path: Path) -> onnxruntime.InferenceSession:
    """An onnxruntime session of an ONNX model file whose SHA-256 matches its manifest; WeightsError otherwise."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # before onnxruntime is first imported
    import onnxruntime

    verified(path, read_manifest(path)["sha256"], "Export it with `python -m digits.export`.")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = config.THREADS
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def session(path: Path | None = None) -> onnxruntime.InferenceSession:
    """The session of a model file (default config.MODEL), opened once, shared by all callers."""
    path = config.MODEL if path is None else path
    if path not in _sessions:
        with _lock:
            if path not in _sessions:
                _sessions[path] = open_session(path)
    return _sessions[path]


def warm_up() -> None:
    """Load the digit, number, segment and row models and run each once."""
    classify_number_digits(np.zeros((1, 28, 28), np.float32))
    classify_segments(np.zeros((1, 28, 28), np.float32))
    read_rows(np.zeros((1, ROW_HEIGHT, ROW_WIDTH), np.float32))


def model_info() -> dict:
    """The model's manifest (file, sha256, MNIST test accuracy, the state_dict it was exported from, training)."""
    return read_manifest(config.MODEL)


def _digitnet(path: Path, images: np.ndarray) -> np.ndarray:
    """The outputs of an exported DigitNet (digit, number or segment model) for (N, 28, 28) images."""
    return session(path).run(None, {"image": np.ascontiguousarray(images, dtype=np.float32)[:, None]})[0]


def classify(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) MNIST-format images in [0, 1] -> (N, 10) softmax probabilities."""
    return _digitnet(config.MODEL, images)


def classify_number_digits(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) digits cut from a number -> (N, 10) probabilities: the mean of the digit model's and the
    number model's (config.NUMBER_MODEL: a second DigitNet, trained also on the pieces the reader cuts)."""
    return (classify(images) + _digitnet(config.NUMBER_MODEL, images)) / 2


def classify_segments(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) candidate digits cut from a number -> (N, 11) probabilities of the digits 0-9 and, last,
    of "not one whole digit" (a part of one, or parts of two), from the segment model config.SEGMENT_MODEL."""
    return _digitnet(config.SEGMENT_MODEL, images)


def read_rows(rows: np.ndarray) -> np.ndarray:
    """(N, ROW_HEIGHT, ROW_WIDTH) pieces of touching digits (digits.preprocess.to_row) -> (N, T, 11)
    probabilities per output column (ROW_STRIDE px of the input) of the digits 0-9 and, last, the CTC blank,
    from the row model config.ROW_MODEL."""
    x = np.ascontiguousarray(rows, dtype=np.float32)[:, None]
    return np.exp(session(config.ROW_MODEL).run(None, {"row": x})[0])


def row_digits(probabilities: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """The digits of one row, left to right, from its (T, 11) column probabilities (best path: repeats merged,
    blanks dropped): per digit the column where it is surest and its probabilities of 0-9 there (summing to 1)."""
    best = probabilities.argmax(1)
    digits = []
    starts = np.flatnonzero(np.diff(best, prepend=-1))
    for start, end in zip(starts, [*starts[1:], len(best)]):
        label = best[start]
        if label != ROW_BLANK:
            peak = int(start + probabilities[start:end, label].argmax())
            digits.append((peak, probabilities[peak, :ROW_BLANK] / probabilities[peak, :ROW_BLANK].sum()))
    return digits


def predict(image: ImageSource) -> np.ndarray:
    """(10,) probabilities of the digits 0-9 for one drawn digit."""
    return classify(preprocess(image)[None])[0]


def predict_batch(images: Sequence[ImageSource]) -> np.ndarray:
    """(N, 10) probabilities, one row per image, in one model call."""
    if len(images) == 0:
        return np.zeros((0, 10), np.float32)
    return classify(np.stack([preprocess(image) for image in images]))


def top_k(probabilities: np.ndarray, k: int = 3) -> dict[str, float]:
    """The k most likely digits and their probabilities, most likely first, e.g. {"7": 0.98, "1": 0.01, ...}.
    This is the value gr.Label takes; it sends clients {"label": "7", "confidences": [{"label", "confidence"}...]}."""
    order = np.argsort(probabilities)[::-1][:k]
    return {str(int(i)): float(probabilities[i]) for i in order}
