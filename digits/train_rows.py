"""Train the row model: RowNet (digits.model), which reads a piece of up to ROW_DIGITS touching digits
without cutting it (CTC), for the number reader's pieces that no straight cut parts (digits.number).

    python -m digits.train_rows --data ../shared/data/mnist [--numbers 20000] [--epochs 10]

Training rows: the pieces digits.rows cuts from numbers of MNIST *training* digits; the check rows: the same
from numbers of MNIST *test* digits. Writes digits/row_cnn.pth, exports it to digits/row_cnn.onnx (kept only
if onnxruntime reads every check row as PyTorch does) and records both in digits/row_cnn.json.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from digits import rows
from digits.config import PACKAGE_DIR
from digits.data import load_mnist
from digits.export import OPSET, ExportMismatch, onnx_outputs, replaced_if_checked, to_onnx
from digits.model import RowNet
from digits.predict import row_digits
from digits.preprocess import ROW_BLANK, ROW_HEIGHT, ROW_STRIDE, ROW_WIDTH
from digits.train import fit, in_processes, vary_strokes
from digits.weights import sha256_of, write_manifest

TOLERANCE = 1e-3  # largest allowed difference between a PyTorch and an ONNX column probability


def cut_rows(images: np.ndarray, labels: np.ndarray, numbers: int, seed: int, workers: int
             ) -> tuple[np.ndarray, list[list[int]]]:
    """digits.rows.make over `workers` processes, joined."""
    parts = in_processes(rows.make, images, labels, numbers, seed, workers)
    return np.concatenate([x for x, _ in parts]), [y for _, ys in parts for y in ys]


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Writing-like variation of a batch of rows: a slight turn, scale, shear, shift and stroke thickness."""
    n, _, h, w = x.shape

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=gen) * (hi - lo) + lo

    angle = uniform(-4, 4) * math.pi / 180
    scale = uniform(0.9, 1.1)
    shear = uniform(-0.2, 0.2)
    a, b = torch.cos(angle) / scale, (-torch.sin(angle) + shear) / scale  # output pixel -> input pixel
    c, d = torch.sin(angle) / scale, torch.cos(angle) / scale
    tx, ty = uniform(-4 / w, 0), uniform(-1.5 / h, 1.5 / h) * 2
    theta = torch.stack([torch.stack([a, b * h / w, tx], 1), torch.stack([c * w / h, d, ty], 1)], 1)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), align_corners=False)
    return vary_strokes(x, gen)


def greedy(log_probs: np.ndarray) -> list[list[int]]:
    """The digits read from each of (N, T, 11) rows' log-probabilities (digits.predict.row_digits)."""
    return [[int(p.argmax()) for _, p in row_digits(np.exp(row))] for row in log_probs]


@torch.no_grad()
def read(model: RowNet, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """(N, T, 11) log-probabilities of (N, ROW_HEIGHT, ROW_WIDTH) uint8 rows from the PyTorch model."""
    model.eval()
    return np.concatenate([model(torch.from_numpy(images[i:i + batch, None]).float().div_(255)).numpy()
                           for i in range(0, len(images), batch)])


def exact(decoded: list[list[int]], truth: list[list[int]]) -> float:
    """Share of rows read exactly."""
    return float(np.mean([d == t for d, t in zip(decoded, truth)]))


def export_rows(model: RowNet, weights: Path, out: Path, images: np.ndarray, truth: list[list[int]],
                training: dict) -> dict:
    """Export to ONNX, check it against PyTorch on the check rows, write the manifest; returns it."""
    with replaced_if_checked(out) as partial:
        to_onnx(model, partial, torch.zeros(2, 1, ROW_HEIGHT, ROW_WIDTH), "row", "log_probabilities")
        exported = onnx_outputs(partial, "row", images[:, None].astype(np.float32) / 255, batch=500)
        reference = read(model, images)
        agreement = {"rows": len(truth), "same_reading": sum(a == b for a, b in zip(greedy(reference),
                                                                                     greedy(exported))),
                     "max_abs_diff": float(np.abs(np.exp(reference) - np.exp(exported)).max())}
        if agreement["same_reading"] != len(truth) or agreement["max_abs_diff"] > TOLERANCE:
            raise ExportMismatch(f"the ONNX export disagrees with {weights.name}: {json.dumps(agreement)}")
    manifest = {
        "file": out.name, "sha256": sha256_of(out), "framework": "onnxruntime", "opset": OPSET,
        "architecture": "RowNet",
        "input": f"row: (N, 1, {ROW_HEIGHT}, {ROW_WIDTH}) float32, digits.preprocess.to_row, ink 1.0 on 0.0",
        "output": f"log_probabilities: (N, {ROW_WIDTH // ROW_STRIDE}, 11) float32, per {ROW_STRIDE}-px "
                  "column: the digits 0-9 and, last, the CTC blank",
        "check_rows_exact": round(exact(greedy(exported), truth), 4),
        "exported_from": {"file": weights.name, "sha256": sha256_of(weights), "framework": "pytorch",
                          "agreement_on_check_rows": agreement},
        "training": training,
    }
    write_manifest(out, manifest)
    return manifest


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="directory with the four MNIST IDX files")
    p.add_argument("--out", type=Path, default=PACKAGE_DIR / "row_cnn.pth")
    p.add_argument("--numbers", type=int, default=20000, help="numbers of 2-12 training digits to cut rows from")
    p.add_argument("--check-numbers", type=int, default=1500, help="numbers of 2-12 test digits for the check rows")
    p.add_argument("--workers", type=int, default=2, help="processes cutting rows")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rows-cache", type=Path, help="an .npz of cut rows to reuse (written if missing)")
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    if args.rows_cache and args.rows_cache.exists():
        cache = np.load(args.rows_cache, allow_pickle=True)
        train_x, train_y, check_x, check_y = (cache[k] for k in ("train_x", "train_y", "check_x", "check_y"))
        train_y, check_y = train_y.tolist(), check_y.tolist()
    else:
        train_x, train_y = cut_rows(*load_mnist(args.data, "train"), args.numbers, args.seed, args.workers)
        check_x, check_y = cut_rows(*load_mnist(args.data, "test"), args.check_numbers, args.seed + 1000,
                                    args.workers)
        if args.rows_cache:
            np.savez(args.rows_cache, train_x=train_x, train_y=np.array(train_y, dtype=object),
                     check_x=check_x, check_y=np.array(check_y, dtype=object))
    lengths = np.bincount([len(y) for y in train_y])
    print(f"{len(train_y)} training rows (by digits: {lengths[1:].tolist()}), {len(check_y)} check rows",
          flush=True)

    images = torch.from_numpy(train_x)
    targets = [torch.tensor(y, dtype=torch.long) for y in train_y]
    gen = torch.Generator().manual_seed(args.seed)
    model = RowNet()
    frames = ROW_WIDTH // ROW_STRIDE

    def loss(idx: torch.Tensor) -> torch.Tensor:
        x = augment(images[idx, None].float().div_(255), gen)
        log_probs = model(x).transpose(0, 1)  # (T, N, 11)
        wanted = [targets[i] for i in idx.tolist()]
        return F.ctc_loss(log_probs, torch.cat(wanted), torch.full((len(idx),), frames, dtype=torch.long),
                          torch.tensor([len(t) for t in wanted]), blank=ROW_BLANK, zero_infinity=True)

    fit(model, loss, len(targets), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, gen=gen,
        after_epoch=lambda epoch: print(f"epoch {epoch}: check rows exact "
                                        f"{exact(greedy(read(model, check_x)), check_y):.4%}", flush=True))

    tmp = args.out.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(args.out)
    training = {"numbers": args.numbers, "rows": len(train_y), "rows_by_digits": lengths[1:].tolist(),
                "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                "seconds": round(time.time() - started)}
    manifest = export_rows(model, args.out, args.out.with_suffix(".onnx"), check_x, check_y, training)
    print(json.dumps({"weights": str(args.out), "onnx": manifest["file"],
                      "check_rows_exact": manifest["check_rows_exact"]}))


if __name__ == "__main__":
    main()
