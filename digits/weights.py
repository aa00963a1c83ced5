"""Where the digit weights live, their recorded SHA-256, and a verified loader."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from digits.model import DigitNet

WEIGHTS_PATH = Path(__file__).with_name("mnist_cnn.pth")


class WeightsError(RuntimeError):
    """The weight file is missing or does not match its recorded checksum."""


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def manifest_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def write_manifest(weights: Path, info: dict) -> None:
    manifest_path(weights).write_text(json.dumps(info, indent=2) + "\n")


def read_manifest(weights: Path = WEIGHTS_PATH) -> dict:
    """The JSON record written beside the weights at training time (checksum, accuracy, settings)."""
    path = manifest_path(weights)
    if not path.exists():
        raise WeightsError(f"{path} is missing: it records the SHA-256 of {weights.name}")
    return json.loads(path.read_text())


def load_model(weights: Path = WEIGHTS_PATH) -> DigitNet:
    """A DigitNet in eval mode with weights whose SHA-256 matches the recorded one."""
    if not weights.exists():
        raise WeightsError(f"digit weights not found: {weights}. Train them with `python -m digits.train`.")
    expected = read_manifest(weights)["sha256"]
    actual = sha256_of(weights)
    if actual != expected:
        raise WeightsError(f"{weights} has SHA-256 {actual}, expected {expected}: the file is corrupt or was replaced")
    model = DigitNet()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.eval()
