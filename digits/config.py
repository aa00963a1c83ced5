"""Settings of the digit reader, read once from the environment.

DIGITS_WEIGHTS  path of the DigitNet state_dict (its .json manifest must sit beside it);
                default: digits/mnist_cnn.pth
DIGITS_THREADS  CPU threads torch may use (process-wide, set when the model loads); default 1: the model is
                small, and more threads only contend with other work on a small box
DIGITS_MNIST    directory of the MNIST IDX files (evaluation, tests, benchmarks; never downloaded);
                default: ../shared/data/mnist beside the repository
"""
from __future__ import annotations

import os
from pathlib import Path

from digits.weights import WEIGHTS_PATH

WEIGHTS = Path(os.environ.get("DIGITS_WEIGHTS", str(WEIGHTS_PATH)))
THREADS = int(os.environ.get("DIGITS_THREADS", "1"))
MNIST_DIR = Path(os.environ.get("DIGITS_MNIST", str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")))
