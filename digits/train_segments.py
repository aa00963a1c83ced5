"""Train the segment model: DigitNet with an eleventh class, "not one whole digit", which the number reader
uses to choose where touching digits are cut (digits.number).

    python -m digits.train_segments --data ../shared/data/mnist [--numbers 2000] [--epochs 6]
    python -m digits.train_segments --data ../shared/data/mnist --start digits/segment_cnn.pth \
        --numbers 2000 --epochs 3 --lr 5e-4 --seed 11 --threads 2

The first starts from the digit model (digits/mnist_cnn.pth) and keeps its convolutions as they are (frozen:
their features are computed once), training the classifier layers on the pieces digits.segments cuts from
numbers of MNIST training digits (a share of the "not one digit" ones, which are most), plus the 60,000
training digits themselves. The second (the committed model's second stage) fine-tunes every layer of a segment
model on the pieces of other numbers (another seed), plus the training digits.
Writes digits/segment_cnn.pth, exports it to digits/segment_cnn.onnx and records both in
digits/segment_cnn.json (digits.export checks the export on the MNIST test set).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from digits import segments
from digits.config import PACKAGE_DIR
from digits.data import load_mnist
from digits.export import export
from digits.train import cut_pieces, fit
from digits.model import DigitNet, load_model
from digits.preprocess import normalise
from digits.weights import read_manifest


@torch.no_grad()
def frozen_features(model: DigitNet, images: np.ndarray, batch: int = 2000) -> torch.Tensor:
    """(N, 3200) float16 outputs of the (frozen) convolutions for (N, 28, 28) uint8 images."""
    trunk = model.features.eval()
    return torch.cat([trunk(normalise(torch.from_numpy(images[i:i + batch]).float().div_(255).unsqueeze(1))
                            ).flatten(1).half()
                      for i in tqdm(range(0, len(images), batch), desc="features", unit="batch")])


def new_segment_model(digit_weights: Path) -> DigitNet:
    """A DigitNet of 11 classes with the digit model's weights; the new class, "not one whole digit", starts from
    zero."""
    model = DigitNet(classes=11)
    state = model.state_dict()
    digit_state = load_model(digit_weights).state_dict()
    state.update({k: v for k, v in digit_state.items() if not k.startswith("classifier.5.")})
    with torch.no_grad():  # the digits' output rows as they were
        state["classifier.5.weight"][:10] = digit_state["classifier.5.weight"]
        state["classifier.5.bias"][:10] = digit_state["classifier.5.bias"]
        state["classifier.5.weight"][10:] = 0
        state["classifier.5.bias"][10:] = 0
    model.load_state_dict(state)
    return model


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="directory with the four MNIST IDX files")
    p.add_argument("--digits", type=Path, default=PACKAGE_DIR / "mnist_cnn.pth", help="the digit model to start from")
    p.add_argument("--start", type=Path,
                   help="a segment model to fine-tune, every layer (instead of a new one on the digit model's frozen "
                        "convolutions)")
    p.add_argument("--out", type=Path, default=PACKAGE_DIR / "segment_cnn.pth")
    p.add_argument("--numbers", type=int, default=4000, help="numbers of 2-12 training digits to cut pieces from")
    p.add_argument("--parts-kept", type=float, default=0.6, help="share of the 'not one digit' pieces trained on")
    p.add_argument("--workers", type=int, default=2, help="processes cutting pieces")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: on a busy small machine more threads spin and run slower)")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.time()
    train_x, train_y = load_mnist(args.data, "train")
    pieces_x, pieces_y = cut_pieces(train_x, train_y, args.numbers, args.seed, args.workers)
    kept = (pieces_y != segments.NOT_ONE_DIGIT) | (np.random.default_rng(args.seed).random(len(pieces_y))
                                                   < args.parts_kept)
    pieces_x, pieces_y = pieces_x[kept], pieces_y[kept]
    images = np.concatenate([pieces_x, train_x])
    labels = torch.from_numpy(np.concatenate([pieces_y, train_y.astype(np.int64)]))
    print(f"{len(pieces_y)} pieces ({(pieces_y == segments.NOT_ONE_DIGIT).mean():.0%} not one digit) "
          f"and {len(train_y)} training digits", flush=True)

    gen = torch.Generator().manual_seed(args.seed)
    if args.start:
        model = load_model(args.start)
        pixels = torch.from_numpy(images).unsqueeze(1)  # uint8; each batch made [0, 1] floats as it is used
        fit(model, lambda idx: F.cross_entropy(model(pixels[idx].float().div_(255)), labels[idx],
                                               label_smoothing=0.02),
            len(labels), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, gen=gen)
        how = {"starts_from": args.start.name, "trained_layers": "all (fine-tuned)",
               "start_training": read_manifest(args.start)["training"]}
    else:
        model = new_segment_model(args.digits)
        features = frozen_features(model, images)
        head = model.classifier
        fit(head, lambda idx: F.cross_entropy(head(features[idx].float()), labels[idx], label_smoothing=0.02),
            len(labels), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, gen=gen)
        how = {"starts_from": args.digits.name, "trained_layers": "classifier (features frozen)"}
    model.eval()

    tmp = args.out.with_suffix(".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(args.out)
    training = {**how, "numbers": args.numbers, "parts_kept": args.parts_kept, "pieces": len(pieces_y),
                "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                "seconds": round(time.time() - started)}
    manifest = export(args.out, args.out.with_suffix(".onnx"), Path(args.data), training)
    print(json.dumps({"weights": str(args.out), "onnx": manifest["file"],
                      "test_accuracy": manifest["exported_from"]["mnist_test_accuracy"]}))


if __name__ == "__main__":
    main()
