"""Settings of the digit reader, read once from the environment (each checked, with its default).

DIGITS_MODEL    the ONNX model the app serves (its SHA-256 is recorded in digits/mnist_cnn.json);
                default: digits/mnist_cnn.onnx
DIGITS_SEGMENT_MODEL  the model that tells whole digits from parts when a number's digits touch (ONNX, SHA-256
                in digits/segment_cnn.json); default: digits/segment_cnn.onnx
DIGITS_NUMBER_MODEL  the second digit model /number reads each digit with, beside DIGITS_MODEL (ONNX, SHA-256
                in digits/number_cnn.json); default: digits/number_cnn.onnx
DIGITS_ROW_MODEL  the model that reads a piece of touching digits no straight cut parts (ONNX, SHA-256 in
                digits/row_cnn.json); default: digits/row_cnn.onnx
DIGITS_THREADS  onnxruntime intra-op threads for the digit model; default 1: the model is small, and more
                threads only contend with other work on a small box
DIGITS_MNIST    directory of the MNIST IDX files (training, evaluation, tests, benchmarks; never downloaded);
                default: ../shared/data/mnist beside the repository
"""
from __future__ import annotations

import os
from pathlib import Path

from digits.errors import DigitsError

PACKAGE_DIR = Path(__file__).resolve().parent


def _threads() -> int:
    raw = os.environ.get("DIGITS_THREADS", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise DigitsError(f"DIGITS_THREADS must be a whole number of at least 1, got {raw!r}.")
    return int(raw)


MODEL = Path(os.environ.get("DIGITS_MODEL", str(PACKAGE_DIR / "mnist_cnn.onnx")))
SEGMENT_MODEL = Path(os.environ.get("DIGITS_SEGMENT_MODEL", str(PACKAGE_DIR / "segment_cnn.onnx")))
NUMBER_MODEL = Path(os.environ.get("DIGITS_NUMBER_MODEL", str(PACKAGE_DIR / "number_cnn.onnx")))
ROW_MODEL = Path(os.environ.get("DIGITS_ROW_MODEL", str(PACKAGE_DIR / "row_cnn.onnx")))
THREADS = _threads()
MNIST_DIR = Path(os.environ.get("DIGITS_MNIST", str(PACKAGE_DIR.parents[1] / "shared" / "data" / "mnist")))
