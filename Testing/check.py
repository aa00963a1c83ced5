"""Run every image in sample_inputs/ through the model and print a pass/fail table.

    python check.py [--weights mnist_cnn.pth] [--samples sample_inputs]

A sample's expected digit is the first character of its file name (e.g. 7_mnist_test_0000_black_on_white.png).
Exits with status 1 if any sample is misread or cannot be read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import app

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=app.WEIGHTS)
    parser.add_argument("--samples", type=Path, default=HERE / "sample_inputs")
    args = parser.parse_args(argv)

    app.model(args.weights)
    paths = sorted(args.samples.glob("*.png"))
    if not paths:
        print(f"no .png samples in {args.samples}")
        return 1
    print(f"weights: {args.weights} (sha256 {app.sha256_of(args.weights)})\n")
    print("| sample | expected | predicted | confidence | result |")
    print("|---|---|---|---:|---|")
    failures = 0
    for path in paths:
        expected = path.name[0]
        try:
            predicted, probability = next(iter(app.top3(app.predict(path)).items()))
            confidence = f"{probability:.4f}"
        except ValueError as exc:
            predicted, confidence = f"error: {exc}", ""
        ok = predicted == expected
        failures += not ok
        print(f"| {path.name} | {expected} | {predicted} | {confidence} | {'PASS' if ok else 'FAIL'} |")
    print(f"\n{len(paths) - failures}/{len(paths)} passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
