"""Accuracy and confusion matrix of the served digit model (the ONNX file, on onnxruntime) on the MNIST test set.

    python -m digits.evaluate [--data ../shared/data/mnist] [--model PATH]

Scores the test images as stored (as in training) and again after our preprocessing (each 28x28 image read
like any user image), so a preprocessing regression shows up as a gap between the two.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from digits import config
from digits.data import load_mnist
from digits.predict import classify, model_info
from digits.preprocess import preprocess


def confusion(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """(10, 10) counts: row = true digit, column = predicted digit."""
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (labels.astype(int), predicted.astype(int)), 1)
    return matrix


def markdown(matrix: np.ndarray) -> str:
    lines = ["| true \\ predicted | " + " | ".join(str(d) for d in range(10)) + " |",
             "|---" * 11 + "|"]
    lines += [f"| **{t}** | " + " | ".join(str(v) for v in row) + " |" for t, row in enumerate(matrix)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=config.MNIST_DIR, help="directory with the MNIST IDX files")
    p.add_argument("--model", type=Path, help=f"ONNX model with its .json manifest (default {config.MODEL})")
    p.add_argument("--limit", type=int, default=0, help="score only the first N test images")
    args = p.parse_args(argv)
    if args.model:
        config.MODEL = args.model

    images, labels = load_mnist(args.data, "test")
    if args.limit:
        images, labels = images[:args.limit], labels[:args.limit]
    as_stored = classify(images / 255.0).argmax(axis=1)
    preprocessed = np.concatenate([classify(np.stack([preprocess(im) for im in images[i:i + 1000]]))
                                   for i in range(0, len(images), 1000)]).argmax(axis=1)

    print(f"model: {config.MODEL}  ({model_info()['sha256'][:12]}..., onnxruntime)")
    print(f"MNIST test images: {len(labels)}")
    print(f"accuracy, images as stored:         {np.mean(as_stored == labels):.2%}")
    print(f"accuracy, through preprocess():     {np.mean(preprocessed == labels):.2%}\n")
    print("Confusion matrix (images as stored):\n")
    print(markdown(confusion(labels, as_stored)))


if __name__ == "__main__":
    main()
