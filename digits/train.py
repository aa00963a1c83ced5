"""Train DigitNet on the MNIST IDX files.

    python -m digits.train --data ../shared/data/mnist --out digits/mnist_cnn.pth
    python -m digits.train --data ../shared/data/mnist --out digits/number_cnn.pth --pieces 3000 --epochs 8 --seed 1

The second command trains the number reader's second digit model (digits.number reads each digit of a number
with both): besides the training digits it learns the one-digit pieces the reader cuts from numbers written
with training digits (digits.segments: digits clipped by a cut, or with a sliver of a neighbour).
Writes the state_dict, then exports it to ONNX beside it (digits/mnist_cnn.onnx, checked against the
PyTorch model on the MNIST test set) and records both in digits/mnist_cnn.json (see digits.export).
"""
from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from digits import segments
from digits.data import load_mnist
from digits.export import export
from digits.model import DigitNet


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Canvas-like variation of a batch in [0, 1]: scale, shift, rotation, shear, stroke thickness."""
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (hi - lo) + lo

    angle = uniform(-12, 12) * math.pi / 180
    scale = uniform(0.85, 1.15)
    shear = uniform(-0.15, 0.15)
    tx, ty = uniform(-2 / 14, 2 / 14), uniform(-2 / 14, 2 / 14)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([
        torch.stack([cos, -sin + shear, tx], 1),
        torch.stack([sin, cos, ty], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    return vary_strokes(x, gen)


def vary_strokes(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A fifth of a batch's images drawn with thicker strokes, 15 % with thinner ones (digits and rows alike)."""
    n = x.shape[0]
    stroke = torch.rand(n, generator=gen)
    thicker = 0.5 * (x + F.max_pool2d(x, 3, 1, 1))
    thinner = 0.5 * (x - F.max_pool2d(-x, 3, 1, 1))
    x = torch.where((stroke < 0.2).view(n, 1, 1, 1), thicker, x)
    return torch.where((stroke > 0.85).view(n, 1, 1, 1), thinner, x)


def fit(module: torch.nn.Module, loss: Callable[[torch.Tensor], torch.Tensor], rows: int, *,
        epochs: int, batch_size: int, lr: float, gen: torch.Generator, max_batches: int = 0,
        after_epoch: Callable[[int], None] | None = None) -> None:
    """Train `module`'s parameters with AdamW and a one-cycle learning rate: `epochs` passes over the training
    rows 0..rows-1 in random order, loss(idx) giving the mean loss on those rows; max_batches > 0 stops each
    pass early."""
    steps_per_epoch = math.ceil(rows / batch_size)
    if max_batches:
        steps_per_epoch = min(steps_per_epoch, max_batches)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(rows, generator=gen)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{epochs}", unit="batch")
        for step in bar:
            value = loss(order[step * batch_size:(step + 1) * batch_size])
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step()
            if step % 50 == 0:
                bar.set_postfix(loss=f"{value.item():.4f}")
        if after_epoch:
            after_epoch(epoch)
    module.eval()


def in_processes(make: Callable[[np.ndarray, np.ndarray, int, int], tuple], images: np.ndarray,
                 labels: np.ndarray, numbers: int, seed: int, workers: int) -> list[tuple]:
    """make(images, labels, n, seed) run in `workers` processes (seeds seed, seed + 1, ...) on `numbers` numbers
    in all: its results, one per process (digits.segments.make, digits.rows.make: numbers cut into pieces)."""
    share = [numbers // workers + (k < numbers % workers) for k in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(make, *zip(*[(images, labels, n, seed + k) for k, n in enumerate(share)])))


def cut_pieces(images: np.ndarray, labels: np.ndarray, numbers: int, seed: int, workers: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """digits.segments.make over `workers` processes, joined: the pieces the number reader cuts and their labels."""
    parts = in_processes(segments.make, images, labels, numbers, seed, workers)
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.copy()).float().div_(255).unsqueeze(1)


@torch.no_grad()
def accuracy(model: DigitNet, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        logits = model(images[i:i + batch])
        correct += int((logits.argmax(1) == labels[i:i + batch]).sum())
    return correct / len(images)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="directory with the four MNIST IDX files")
    p.add_argument("--out", default="digits/mnist_cnn.pth")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-batches", type=int, default=0, help="stop each epoch after N batches (smoke runs)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    p.add_argument("--pieces", type=int, default=0,
                   help="also train on the one-digit pieces cut from this many numbers of training digits")
    p.add_argument("--workers", type=int, default=2, help="processes cutting pieces")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    train_x, train_y = load_mnist(args.data, "train")
    test_x, test_y = load_mnist(args.data, "test")
    if args.pieces:
        pieces_x, pieces_y = cut_pieces(train_x, train_y, args.pieces, args.seed, args.workers)
        digit = pieces_y != segments.NOT_ONE_DIGIT
        print(f"{int(digit.sum())} one-digit pieces from {args.pieces} numbers", flush=True)
        train_x, train_y = np.concatenate([train_x, pieces_x[digit]]), np.concatenate([train_y, pieces_y[digit]])
    train_x, test_x = to_tensor(train_x), to_tensor(test_x)
    train_y, test_y = torch.from_numpy(train_y).long(), torch.from_numpy(test_y).long()

    model = DigitNet()
    started = time.time()
    fit(model, lambda idx: F.cross_entropy(model(augment(train_x[idx], gen)), train_y[idx], label_smoothing=0.05),
        len(train_y), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, gen=gen,
        max_batches=args.max_batches,
        after_epoch=lambda epoch: print(f"epoch {epoch}: test accuracy {accuracy(model, test_x, test_y):.4%}",
                                        flush=True))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(out)
    training = {"pieces_from_numbers": args.pieces, "training_images": len(train_y), "epochs": args.epochs,
                "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                "seconds": round(time.time() - started)}
    manifest = export(out, out.with_suffix(".onnx"), Path(args.data), training)
    print(json.dumps({"weights": str(out), "onnx": manifest["file"],
                      "test_accuracy": manifest["exported_from"]["mnist_test_accuracy"]}))


if __name__ == "__main__":
    main()
