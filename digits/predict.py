"""Classify MNIST-format digits with DigitNet; the model is loaded once, lazily, thread-safe."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from digits import config
from digits.model import DigitNet
from digits.preprocess import ImageSource, preprocess, to_tensor
from digits.weights import load_model, read_manifest

_model: DigitNet | None = None
_lock = threading.Lock()


def model() -> DigitNet:
    """The DigitNet loaded from config.WEIGHTS (checksum-verified), shared by all callers; sets torch to
    config.THREADS threads."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                torch.set_num_threads(config.THREADS)
                _model = load_model(config.WEIGHTS)
    return _model


def warm_up() -> None:
    """Load the model and run it once."""
    classify(np.zeros((1, 28, 28), np.float32))


def model_info() -> dict:
    """The weights' manifest (file, sha256, architecture, MNIST test accuracy, training settings)."""
    return read_manifest(config.WEIGHTS)


def classify(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) MNIST-format images in [0, 1] -> (N, 10) softmax probabilities."""
    net = model()
    with torch.inference_mode():
        return torch.softmax(net(to_tensor(images)), dim=1).numpy()


def predict(image: ImageSource) -> np.ndarray:
    """(10,) probabilities of the digits 0-9 for one drawn digit."""
    return classify(preprocess(image)[None])[0]


def predict_batch(images: Sequence[ImageSource]) -> np.ndarray:
    """(N, 10) probabilities, one row per image, in one forward pass."""
    if len(images) == 0:
        return np.zeros((0, 10), np.float32)
    return classify(np.stack([preprocess(image) for image in images]))


def top_k(probabilities: np.ndarray, k: int = 3) -> dict[str, float]:
    """The k most likely digits and their probabilities, most likely first, e.g. {"7": 0.98, "1": 0.01, ...}.
    This is the value gr.Label takes; it sends clients {"label": "7", "confidences": [{"label", "confidence"}...]}."""
    order = np.argsort(probabilities)[::-1][:k]
    return {str(int(i)): float(probabilities[i]) for i in order}
