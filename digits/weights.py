"""The digit model's files, the manifest that records their SHA-256, and the checksum check (no torch here).

digits/mnist_cnn.pth   PyTorch state_dict: the training output (`python -m digits.train`), source of the export
digits/mnist_cnn.onnx  the served model (`python -m digits.export`), run by onnxruntime
digits/mnist_cnn.json  the manifest: the ONNX file's SHA-256 and accuracy, and the state_dict it came from
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from digits.config import PACKAGE_DIR

WEIGHTS_PATH = PACKAGE_DIR / "mnist_cnn.pth"
ONNX_PATH = PACKAGE_DIR / "mnist_cnn.onnx"


class WeightsError(RuntimeError):
    """A model file is missing or does not match its recorded checksum."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest_path(model_file: Path) -> Path:
    """The manifest beside a model file (mnist_cnn.onnx and mnist_cnn.pth share mnist_cnn.json)."""
    return model_file.with_suffix(".json")


def write_manifest(model_file: Path, info: dict) -> None:
    manifest_path(model_file).write_text(json.dumps(info, indent=2) + "\n")


def read_manifest(model_file: Path = ONNX_PATH) -> dict:
    """The JSON record beside the model: file, sha256, accuracy, the state_dict it was exported from, training."""
    path = manifest_path(model_file)
    if not path.exists():
        raise WeightsError(f"{path} is missing: it records the SHA-256 of {model_file.name}")
    return json.loads(path.read_text())


def verified(path: Path, expected_sha256: str, how_to_make: str) -> Path:
    """path, after checking that it exists and has the recorded SHA-256; WeightsError otherwise."""
    if not path.exists():
        raise WeightsError(f"digit model file not found: {path}. {how_to_make}")
    actual = sha256_of(path)
    if actual != expected_sha256:
        raise WeightsError(f"{path} has SHA-256 {actual}, expected {expected_sha256}: "
                           "the file is corrupt or was replaced")
    return path
