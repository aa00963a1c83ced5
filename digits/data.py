"""Read the original MNIST IDX files (gzip or raw) from a local directory. Never downloads."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class MnistDataError(RuntimeError):
    """The MNIST directory is missing files or holds malformed ones."""


def _open(path: Path):
    for candidate in (path.with_name(path.name + ".gz"), path):
        if candidate.exists():
            return gzip.open(candidate, "rb") if candidate.suffix == ".gz" else open(candidate, "rb")
    raise MnistDataError(f"MNIST file not found: {path}(.gz). Pass --data DIR holding the four IDX files.")


def read_idx(path: Path) -> np.ndarray:
    """Return the array stored in one IDX file (uint8 data only, as MNIST uses)."""
    with _open(path) as f:
        zero, dtype_code, ndim = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise MnistDataError(f"{path}: not a uint8 IDX file")
        shape = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        data = np.frombuffer(f.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise MnistDataError(f"{path}: expected {np.prod(shape)} values, found {data.size}")
    return data.reshape(shape)


def load_mnist(data_dir: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8, white ink on black as in MNIST, and labels (N,) uint8."""
    images_name, labels_name = SPLITS[split]
    root = Path(data_dir)
    images, labels = read_idx(root / images_name), read_idx(root / labels_name)
    if len(images) != len(labels):
        raise MnistDataError(f"{root}: {len(images)} images but {len(labels)} labels in the {split} split")
    return images, labels
