"""The digit classifier in PyTorch (training and export only; the app runs the ONNX export): a small VGG-style
CNN with batch norm, for 28x28 MNIST-format input."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from digits.preprocess import ROW_BLANK, normalise
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


class RowNet(nn.Module):
    """The row model: reads a piece of up to ROW_DIGITS touching digits without cutting it (CTC).
    Input: (N, 1, ROW_HEIGHT, ROW_WIDTH) rows in [0, 1] (digits.preprocess.to_row). Output: (N, T, 11)
    log-probabilities per column of ROW_STRIDE (4) px (T = ROW_WIDTH / 4) of the digits 0-9 and, last, of the
    CTC blank."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(1, 16), nn.MaxPool2d(2),                        # 16 x 56
            *_conv(16, 32), *_conv(32, 32), nn.MaxPool2d(2),       # 8 x 28
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d((2, 1)),  # 4 x 28
        )
        self.columns = nn.Sequential(  # each 4-px column with its neighbours
            nn.Conv1d(64 * 4, 128, 3, padding=1, bias=False), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Conv1d(128, 128, 3, padding=1, bias=False), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Conv1d(128, ROW_BLANK + 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(normalise(x)).flatten(1, 2)  # (N, channels x height, T)
        return self.columns(features).transpose(1, 2).log_softmax(-1)


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
