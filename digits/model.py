"""The digit classifier in PyTorch (training and export only; the app runs the ONNX export): a small VGG-style
CNN with batch norm, for 28x28 MNIST-format input."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from digits.preprocess import normalise
from digits.weights import WEIGHTS_PATH, read_manifest, verified

# The network normalises its input itself (digits.preprocess.normalise), so training, evaluation and the
# exported ONNX model all take plain [0, 1] images.


def _conv(cin: int, cout: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DigitNet(nn.Module):
    """Input: (N, 1, 28, 28) MNIST-format images in [0, 1]. Output: (N, classes) logits: the digits 0-9 and,
    for the segment model (classes=11), "not one whole digit" last."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(1, 32), *_conv(32, 32), nn.MaxPool2d(2), nn.Dropout(0.1),   # 14x14
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2), nn.Dropout(0.1),  # 7x7
            *_conv(64, 128, padding=0),                                        # 5x5
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(128, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(normalise(x)))


def load_model(weights: Path = WEIGHTS_PATH, expected_sha256: str | None = None) -> DigitNet:
    """A DigitNet in eval mode (10 classes, or 11 for the segment model: read from the weights) from a
    state_dict whose SHA-256 matches the manifest's record of it (or expected_sha256)."""
    if expected_sha256 is None:
        expected_sha256 = read_manifest(weights)["exported_from"]["sha256"]
    verified(weights, expected_sha256, "Train it with `python -m digits.train` (or digits.train_segments).")
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model = DigitNet(classes=state["classifier.5.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()
