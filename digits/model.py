"""The digit classifier: a small VGG-style CNN with batch norm, for 28x28 MNIST-format input."""
from __future__ import annotations

import torch
from torch import nn

# Pixel statistics of the MNIST training set (ink = 1.0 on a 0.0 background).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def _conv(cin: int, cout: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DigitNet(nn.Module):
    """Input: (N, 1, 28, 28) normalised images. Output: (N, 10) logits."""

    def __init__(self) -> None:
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
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))
