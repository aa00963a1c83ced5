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
from digits.preprocess import ImageSource, preprocess
from digits.weights import read_manifest, verified

if TYPE_CHECKING:
    import onnxruntime

_session: onnxruntime.InferenceSession | None = None
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


def session() -> onnxruntime.InferenceSession:
    """The session of config.MODEL, opened once, shared by all callers."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                _session = open_session(config.MODEL)
    return _session


def warm_up() -> None:
    """Load the model and run it once."""
    classify(np.zeros((1, 28, 28), np.float32))


def model_info() -> dict:
    """The model's manifest (file, sha256, MNIST test accuracy, the state_dict it was exported from, training)."""
    return read_manifest(config.MODEL)


def classify(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) MNIST-format images in [0, 1] -> (N, 10) softmax probabilities."""
    x = np.ascontiguousarray(images, dtype=np.float32)[:, None]
    return session().run(None, {"image": x})[0]


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
