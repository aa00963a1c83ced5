"""Drawings made from MNIST digits (upscaled as a person would draw them), for tests and benchmarks."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image


def ink_crop(mnist: np.ndarray) -> np.ndarray:
    """The ink bounding box of a (28, 28) uint8 MNIST image (white on black)."""
    rows, cols = np.flatnonzero(mnist.any(axis=1)), np.flatnonzero(mnist.any(axis=0))
    return mnist[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def scaled(mnist_crop: np.ndarray, factor: float) -> np.ndarray:
    """The crop enlarged by `factor` (bicubic, smooth like a brush stroke), as float ink in [0, 1]."""
    h, w = mnist_crop.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    big = Image.fromarray(mnist_crop).resize(size, Image.Resampling.BICUBIC)
    return np.asarray(big, dtype=np.float32) / 255


def pen_drawn(mnist_crop: np.ndarray, factor: float, pen: int) -> np.ndarray:
    """The crop enlarged by `factor` and re-traced along its centre line with a round pen `pen` px wide
    (anti-aliased), like a drawing made with a fixed brush; float ink in [0, 1]."""
    ink = np.pad(scaled(mnist_crop, factor), pen)
    centre_line = cv2.ximgproc.thinning(((ink >= 0.5) * 255).astype(np.uint8), thinningType=cv2.ximgproc.THINNING_GUOHALL)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (pen, pen))
    traced = cv2.dilate(centre_line, disk).astype(np.float32) / 255
    return cv2.GaussianBlur(traced, (0, 0), 0.8)


def place(canvas_ink: np.ndarray, ink: np.ndarray, x: int, y: int) -> None:
    """Draw `ink` onto `canvas_ink` with its top-left at (x, y) (overlapping ink keeps the stronger value)."""
    h, w = ink.shape
    region = canvas_ink[y:y + h, x:x + w]
    np.maximum(region, ink[:region.shape[0], :region.shape[1]], out=region)


def render(canvas_ink: np.ndarray, transparent: bool = False) -> Image.Image:
    """Black ink on white (mode L), or black ink on a transparent canvas (mode RGBA, alpha = ink)."""
    ink = (np.clip(canvas_ink, 0, 1) * 255).round().astype(np.uint8)
    if not transparent:
        return Image.fromarray(255 - ink, "L")
    rgba = np.zeros(ink.shape + (4,), np.uint8)
    rgba[..., 3] = ink
    return Image.fromarray(rgba, "RGBA")


def draw_digit(mnist: np.ndarray, size: int, x: int, y: int, canvas: tuple[int, int] = (800, 800),
               transparent: bool = False) -> Image.Image:
    """One MNIST digit drawn with the longer side of its ink box `size` px and the box's top-left at (x, y)."""
    crop = ink_crop(mnist)
    ink = np.zeros((canvas[1], canvas[0]), np.float32)
    place(ink, scaled(crop, size / max(crop.shape)), x, y)
    return render(ink, transparent)


def draw_number(mnists: Sequence[np.ndarray], factor: float | Sequence[float], gaps: Sequence[int],
                jitter: Sequence[int], margin: int = 40, transparent: bool = False) -> Image.Image:
    """MNIST digits side by side, each enlarged by `factor` (one for all, or one per digit); gaps[i] px between
    the ink boxes of digit i and i + 1 (negative: they overlap, e.g. touch), jitter[i] px vertical offset of
    digit i."""
    factors = [factor] * len(mnists) if isinstance(factor, (int, float)) else list(factor)
    return render(number_ink(mnists, factors, gaps, jitter, margin)[0], transparent)


def number_ink(mnists: Sequence[np.ndarray], factors: Sequence[float], gaps: Sequence[int], jitter: Sequence[int],
               margin: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """The ink of draw_number's drawing, float in [0, 1], and per pixel the index of the digit whose ink is
    strongest there (-1: paper)."""
    inks = [scaled(ink_crop(m), f) for m, f in zip(mnists, factors)]
    xs = [margin]
    for ink, gap in zip(inks, gaps):
        xs.append(xs[-1] + ink.shape[1] + gap)
    top = margin + max(0, -min(jitter))
    width = max(x + ink.shape[1] for x, ink in zip(xs, inks)) + margin
    height = top + max(j + ink.shape[0] for j, ink in zip(jitter, inks)) + margin
    canvas = np.zeros((height, width), np.float32)
    owner = np.full((height, width), -1, np.int16)
    for index, (x, j, ink) in enumerate(zip(xs, jitter, inks)):
        region = (slice(top + j, top + j + ink.shape[0]), slice(x, x + ink.shape[1]))
        owner[region][(ink > canvas[region]) & (ink > 0)] = index
        place(canvas, ink, x, top + j)
    return canvas, owner


@dataclass(frozen=True)
class NumberStyle:
    """How a person writes a row of digits: each MNIST digit enlarged `factor` times (one draw per number),
    each digit's size varied by +-`spread`; a share of the gaps between ink boxes drawn from `touching` px
    (touching, overlapping or nearly so), the others from `gaps`; a slope of up to +-`slope` of a digit's height
    per digit, and a vertical jitter of up to +-`jitter` of the height."""

    factor: tuple[float, float] = (4, 9)
    spread: float = 0.15
    touching_share: float = 1 / 3
    touching: tuple[int, int] = (-5, 2)
    gaps: tuple[int, int] = (-5, 60)
    slope: float = 0.08
    jitter: float = 0.05


def number_layout(n: int, rng: np.random.Generator, style: NumberStyle = NumberStyle()
                  ) -> tuple[list[float], list[int], list[int]]:
    """Per-digit enlargement factors, the n - 1 gaps and the vertical offsets of a number of n digits."""
    factor = float(rng.uniform(*style.factor))
    factors = (factor * rng.uniform(1 - style.spread, 1 + style.spread, size=n)).tolist()
    touching = rng.random(n - 1) < style.touching_share
    gaps = np.where(touching, rng.integers(style.touching[0], style.touching[1] + 1, size=n - 1),
                    rng.integers(style.gaps[0], style.gaps[1] + 1, size=n - 1)).tolist()
    slope = float(rng.uniform(-style.slope, style.slope)) * 20 * factor  # px per digit (MNIST digits: 20 px high)
    jitter = (np.arange(n) * slope + rng.uniform(-style.jitter, style.jitter, size=n) * 20 * factor).round().astype(int)
    return factors, gaps, (jitter - jitter.min()).tolist()


def written_number(mnists: Sequence[np.ndarray], rng: np.random.Generator, style: NumberStyle = NumberStyle()
                   ) -> Image.Image:
    """The digits written side by side as a person would (see NumberStyle), black on white."""
    return draw_number(mnists, *number_layout(len(mnists), rng, style))
