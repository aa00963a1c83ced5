"""Descriptor model entries, generated from the manifests the model packages keep beside their weights."""
from __future__ import annotations

import json
from pathlib import Path

OCR_MANIFEST = "ocr/models/manifest.json"
# manifest: (descriptor name, task, how it was trained and exported, the accuracy its manifest records)
DIGITS_MANIFESTS = {
    "digits/mnist_cnn.json": ("DigitNet-mnist", "handwritten digit classification",
                              "`python -m digits.train`, exported to ONNX by `python -m digits.export`",
                              "mnist_test_accuracy"),
    "digits/number_cnn.json": ("DigitNet-numbers", "reading each digit of a number, beside the digit model",
                               "`python -m digits.train --pieces 3000` (on training digits and pieces of numbers), "
                               "exported to ONNX by `python -m digits.export`", "mnist_test_accuracy"),
    "digits/segment_cnn.json": ("DigitNet-segments", "whole digit or not, where a number's digits touch",
                                "`python -m digits.train_segments` (from mnist_cnn.pth, on pieces of numbers; "
                                "then every layer fine-tuned with --start), exported to ONNX by "
                                "`python -m digits.export`", "mnist_test_accuracy"),
    "digits/row_cnn.json": ("RowNet", "reading touching digits no straight cut parts (CTC)",
                            "`python -m digits.train_rows` (on pieces of numbers), which also exports it to ONNX",
                            "check_rows_exact"),
}
DIGITS_SOURCE = ("trained in this repository on the MNIST training set (LeCun, Cortes and Burges; CC BY-SA 3.0) "
                 "by {how} from {source} (sha256:{source_sha256})")


class ManifestError(Exception):
    """A model manifest is missing or does not have the fields the descriptor needs."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _read(root: Path, rel: str) -> dict:
    path = root / rel
    if not path.is_file():
        raise ManifestError(rel, "missing (it records the model files' SHA-256)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(rel, f"not valid JSON ({exc})") from None


def ocr_models(root: Path) -> list[dict]:
    """One entry per model in ocr/models/manifest.json (ONNX files run by onnxruntime)."""
    manifest = _read(root, OCR_MANIFEST)
    folder = Path(OCR_MANIFEST).parent.as_posix()
    try:
        return [
            {
                "name": m["name"],
                "version": m["version"],
                "framework": "onnxruntime",
                "task": m["task"],
                "files": [
                    {"path": f"{folder}/{m['name']}/{fname}", "size": rec["size"], "sha256": rec["sha256"]}
                    for fname, rec in sorted(m["files"].items())
                ],
                "source": f"{m['upstream']}; taken from {m['source']['package']} ({m['source']['path']})",
                "licence": m["licence"],
                "metrics": {},
            }
            for m in manifest["models"]
        ]
    except (KeyError, TypeError) as exc:
        raise ManifestError(OCR_MANIFEST, f"a model entry lacks the field {exc}") from None


def digit_models(root: Path, licence: str) -> list[tuple[str, dict]]:
    """(manifest, entry) of the digit CNNs' ONNX exports (DIGITS_MANIFESTS); trained here, so they carry the
    project's licence."""
    entries = []
    for rel, (name, task, how, metric) in DIGITS_MANIFESTS.items():
        manifest = _read(root, rel)
        try:
            weights = f"{Path(rel).parent.as_posix()}/{manifest['file']}"
            if not (root / weights).is_file():
                raise ManifestError(weights, f"missing ({rel} describes it)")
            entries.append((rel, {
                "name": name,
                "version": f"sha256:{manifest['sha256'][:12]}",
                "framework": manifest["framework"],
                "task": task,
                "files": [{"path": weights, "size": (root / weights).stat().st_size, "sha256": manifest["sha256"]}],
                "source": DIGITS_SOURCE.format(how=how, source=manifest["exported_from"]["file"],
                                               source_sha256=manifest["exported_from"]["sha256"][:12]),
                "licence": licence,
                "metrics": {metric: manifest[metric]},
            }))
        except (KeyError, TypeError) as exc:
            raise ManifestError(rel, f"lacks the field {exc}") from None
    return entries


def manifest_models(root: Path, licence: str) -> list[tuple[str, dict]]:
    """(manifest path, model entry) for every shipped model, OCR first, as the descriptor should list them."""
    return [(OCR_MANIFEST, m) for m in ocr_models(root)] + digit_models(root, licence)
