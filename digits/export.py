"""Export the trained DigitNet (PyTorch state_dict) to the ONNX model the app serves, and prove they agree.

    python -m digits.export [--weights digits/mnist_cnn.pth] [--out digits/mnist_cnn.onnx] [--data MNIST_DIR]
    python -m digits.export --weights digits/segment_cnn.pth --out digits/segment_cnn.onnx

The ONNX graph takes (N, 1, 28, 28) float32 images in [0, 1] ("image") and gives (N, 10) softmax
probabilities ("probabilities"; (N, 11) for the segment model): normalisation and softmax are inside it. The export is kept only if, on all
10,000 MNIST test images, the ONNX model gives the same argmax as PyTorch and probabilities within TOLERANCE;
then the manifest beside it (digits/mnist_cnn.json, digits/segment_cnn.json) records its SHA-256 and accuracy
and the state_dict it came from.
"""
from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from digits import config
from digits.data import load_mnist
from digits.model import DigitNet, load_model
from digits.weights import ONNX_PATH, WEIGHTS_PATH, WeightsError, manifest_path, sha256_of, write_manifest

OPSET = 18
TOLERANCE = 1e-4  # largest allowed difference between a PyTorch and an ONNX probability
OUTPUTS = {10: "probabilities: (N, 10) float32, softmax over the digits 0-9",
           11: "probabilities: (N, 11) float32, softmax over the digits 0-9 and, last, 'not one whole digit' "
               "(the segment model: a part of a digit, or parts of two)"}


class ExportMismatch(RuntimeError):
    """The ONNX model does not reproduce the PyTorch model's outputs."""


def to_onnx(module: torch.nn.Module, out: Path, example: torch.Tensor, input_name: str, output_name: str) -> None:
    """Write a module as an ONNX file whose first (batch) dimension is dynamic; `example`: an input batch (with
    a batch of one the dynamo export may fix the batch size: it did for a first RowNet)."""
    torch.onnx.export(module.eval(), (example,), out, input_names=[input_name], output_names=[output_name],
                      dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), opset_version=OPSET,
                      external_data=False, dynamo=True, verbose=False)


def torch_probabilities(model: DigitNet, images: np.ndarray, batch: int = 1000) -> np.ndarray:
    """(N, classes) softmax probabilities of (N, 28, 28) images in [0, 1] from the PyTorch model."""
    with torch.inference_mode():
        return np.concatenate([torch.softmax(model(torch.from_numpy(images[i:i + batch, None])), 1).numpy()
                               for i in range(0, len(images), batch)])


def onnx_outputs(path: Path, input_name: str, inputs: np.ndarray, batch: int = 1000) -> np.ndarray:
    """The first output of an ONNX file for float32 `inputs`, run by onnxruntime in batches."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {input_name: inputs[i:i + batch]})[0]
                           for i in range(0, len(inputs), batch)])


@contextmanager
def replaced_if_checked(out: Path) -> Iterator[Path]:
    """A scratch path to write and check an export at; it replaces `out` only if the block ends without an
    exception (an existing file is otherwise left untouched, and the scratch file removed)."""
    partial = out.with_name(out.name + ".partial")
    try:
        yield partial
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def compare(reference: np.ndarray, exported: np.ndarray, labels: np.ndarray) -> dict:
    """Agreement of two (N, classes) probability arrays, and the accuracy of each on labels."""
    return {
        "images": len(labels),
        "same_argmax": int((reference.argmax(1) == exported.argmax(1)).sum()),
        "max_abs_diff": float(np.abs(reference - exported).max()),
        "pytorch_accuracy": round(float((reference.argmax(1) == labels).mean()), 4),
        "onnx_accuracy": round(float((exported.argmax(1) == labels).mean()), 4),
    }


def export(weights: Path, out: Path, mnist_dir: Path, training: dict | None = None) -> dict:
    """Export weights to out, check it on the MNIST test set and write the manifest; returns the manifest.
    training: the training settings to record (default: kept from the existing manifest when it describes
    the same state_dict). Raises ExportMismatch, leaving any existing ONNX file and manifest untouched."""
    source_sha256 = sha256_of(weights)
    model = load_model(weights, expected_sha256=source_sha256)
    images, labels = load_mnist(mnist_dir, "test")
    images = (images / 255.0).astype(np.float32)

    with replaced_if_checked(out) as partial:
        to_onnx(torch.nn.Sequential(model, torch.nn.Softmax(dim=1)), partial, torch.zeros(1, 1, 28, 28), "image",
                "probabilities")
        exported = onnx_outputs(partial, "image", images[:, None])
        agreement = compare(torch_probabilities(model, images), exported, labels)
        if agreement["same_argmax"] != len(labels) or agreement["max_abs_diff"] > TOLERANCE:
            raise ExportMismatch(f"the ONNX export disagrees with {weights.name}: {json.dumps(agreement)}")

    if training is None:
        previous = _previous_manifest(out)
        if previous.get("exported_from", {}).get("sha256") == source_sha256:
            training = previous.get("training")
    manifest = {
        "file": out.name,
        "sha256": sha256_of(out),
        "framework": "onnxruntime",
        "opset": OPSET,
        "architecture": "DigitNet",
        "input": "image: (N, 1, 28, 28) float32, MNIST format, ink 1.0 on 0.0",
        "output": OUTPUTS[model.classifier[-1].out_features],
        "mnist_test_accuracy": agreement["onnx_accuracy"],
        "exported_from": {"file": weights.name, "sha256": source_sha256, "framework": "pytorch",
                          "mnist_test_accuracy": agreement["pytorch_accuracy"],
                          "agreement_on_mnist_test": {k: agreement[k] for k in ("images", "same_argmax",
                                                                               "max_abs_diff")}},
        "training": training or {},
    }
    write_manifest(out, manifest)
    return manifest


def _previous_manifest(out: Path) -> dict:
    try:
        return json.loads(manifest_path(out).read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, default=WEIGHTS_PATH, help="state_dict (default: %(default)s)")
    p.add_argument("--out", type=Path, default=ONNX_PATH, help="ONNX file to write (default: %(default)s)")
    p.add_argument("--data", type=Path, default=config.MNIST_DIR, help="directory with the MNIST IDX files")
    args = p.parse_args(argv)
    try:
        manifest = export(args.weights, args.out, args.data)
    except (ExportMismatch, WeightsError) as exc:
        raise SystemExit(f"digits.export: {exc}") from None
    print(json.dumps({"onnx": str(args.out), **{k: manifest[k] for k in ("sha256", "mnist_test_accuracy")},
                      "agreement_on_mnist_test": manifest["exported_from"]["agreement_on_mnist_test"]}))


if __name__ == "__main__":
    main()
