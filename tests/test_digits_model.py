"""The committed digit model: checksums, the ONNX export agrees with its PyTorch source, accuracy floor,
probabilities and label shape, thread safety, and no PyTorch at run time."""
from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import digits
from digits.predict import classify, open_session, session
from digits.preprocess import preprocess
from digits.synth import draw_digit
from digits.weights import ONNX_PATH, WEIGHTS_PATH, WeightsError, read_manifest, sha256_of

REPO = Path(__file__).resolve().parents[1]
SEGMENT_ONNX = REPO / "digits" / "segment_cnn.onnx"
ROW_ONNX = REPO / "digits" / "row_cnn.onnx"
NUMBER_ONNX = REPO / "digits" / "number_cnn.onnx"


def test_committed_model_matches_its_manifest():
    assert ONNX_PATH.exists(), "digits/mnist_cnn.onnx must be committed (python -m digits.export)"
    manifest = read_manifest()
    assert manifest["file"] == ONNX_PATH.name and manifest["sha256"] == sha256_of(ONNX_PATH)
    assert manifest["framework"] == "onnxruntime" and manifest["architecture"] == "DigitNet"
    assert manifest["mnist_test_accuracy"] >= 0.99
    source = manifest["exported_from"]
    assert source["file"] == WEIGHTS_PATH.name
    assert source["sha256"] == sha256_of(WEIGHTS_PATH), "mnist_cnn.pth changed: run python -m digits.export"
    assert source["agreement_on_mnist_test"]["same_argmax"] == source["agreement_on_mnist_test"]["images"] == 10000
    assert digits.model_info() == manifest


def test_segment_model_matches_its_manifest_and_knows_whole_digits(mnist):
    """The segment model (11 classes) reads whole MNIST digits as digits, and two digits side by side or
    half a digit as "not one whole digit"."""
    from digits.predict import classify_segments
    from digits.preprocess import to_mnist

    manifest = read_manifest(SEGMENT_ONNX)
    assert manifest["sha256"] == sha256_of(SEGMENT_ONNX)
    assert manifest["exported_from"]["sha256"] == sha256_of(SEGMENT_ONNX.with_suffix(".pth"))
    images, labels = mnist[0][:1000], mnist[1][:1000]
    whole = classify_segments(images / 255.0)
    assert whole.shape == (1000, 11)
    assert np.mean(whole.argmax(axis=1) == labels) >= 0.98  # 99.41 % of all 10,000 (the rest: "not one digit")
    pairs = np.stack([to_mnist(np.hstack([a, b]) / 255.0, np.hstack([a, b]) > 0) for a, b in zip(images[:100], images[100:200])])
    halves = np.stack([to_mnist(im[:, :14] / 255.0, im[:, :14] > 0) for im in images[:100] if (im[:, :14] > 0).sum() > 40])
    assert np.mean(classify_segments(pairs).argmax(axis=1) == 10) >= 0.9
    assert np.mean(classify_segments(halves).argmax(axis=1) == 10) >= 0.5


def test_number_model_matches_its_manifest_and_reads_digits_with_a_neighbours_sliver(mnist):
    """The number model (a second DigitNet, trained also on the pieces the number reader cuts) reads MNIST test
    digits as well as the digit model; with the first 5 px of the previous test digit's ink on their right
    (what a cut between touching digits leaves), the two together read 96.85 % of the first 2000, the digit
    model alone 95.95 %."""
    from digits.predict import classify_number_digits
    from digits.preprocess import to_mnist

    manifest = read_manifest(NUMBER_ONNX)
    assert manifest["sha256"] == sha256_of(NUMBER_ONNX) and manifest["architecture"] == "DigitNet"
    assert manifest["exported_from"]["sha256"] == sha256_of(NUMBER_ONNX.with_suffix(".pth"))
    assert manifest["mnist_test_accuracy"] >= 0.99 and manifest["training"]["pieces_from_numbers"] > 0
    images, labels = mnist[0][:2000] / 255.0, mnist[1][:2000]
    assert np.mean(classify_number_digits(images).argmax(axis=1) == labels) >= 0.99
    pieces = []
    for image, neighbour in zip(images, np.roll(images, 1, axis=0)):
        first = np.flatnonzero(neighbour.any(axis=0))[0]
        piece = np.hstack([image, neighbour[:, first:first + 5]])
        pieces.append(to_mnist(piece, piece > 0))
    assert np.mean(classify_number_digits(np.stack(pieces)).argmax(axis=1) == labels) >= 0.965


def test_row_model_matches_its_manifest_and_reads_digits_pushed_together(mnist):
    """The row model reads two MNIST test digits pushed into each other (their boxes overlapping by 4 of 20 px)
    as both digits, and one digit as one."""
    from digits.predict import read_rows, row_digits
    from digits.preprocess import to_row

    manifest = read_manifest(ROW_ONNX)
    assert manifest["sha256"] == sha256_of(ROW_ONNX) and manifest["architecture"] == "RowNet"
    assert manifest["exported_from"]["sha256"] == sha256_of(ROW_ONNX.with_suffix(".pth"))
    images, labels = mnist[0][:400] / 255.0, mnist[1][:400]

    def read(pieces: list[np.ndarray]) -> list[str]:
        rows = read_rows(np.stack([to_row(piece, piece > 0) for piece in pieces]))
        return ["".join(str(int(p.argmax())) for _, p in row_digits(row)) for row in rows]

    pairs = [np.maximum(np.pad(a, ((0, 0), (0, 16))), np.pad(b, ((0, 0), (16, 0))))
             for a, b in zip(images[:200], images[200:])]
    expected = [f"{a}{b}" for a, b in zip(labels[:200], labels[200:])]
    assert np.mean([got == want for got, want in zip(read(pairs), expected)]) >= 0.95
    assert np.mean([got == str(want) for got, want in zip(read(list(images[:200])), labels[:200])]) >= 0.97


def test_onnx_export_agrees_with_the_pytorch_weights(mnist):
    """The shipped ONNX file reproduces the .pth it was exported from (first 1000 MNIST test images)."""
    pytest.importorskip("torch")
    from digits.export import TOLERANCE, compare, torch_probabilities
    from digits.model import load_model

    images = (mnist[0][:1000] / 255.0).astype(np.float32)
    reference = torch_probabilities(load_model(), images)
    agreement = compare(reference, classify(images), mnist[1][:1000])
    assert agreement["same_argmax"] == 1000
    assert agreement["max_abs_diff"] <= TOLERANCE


def test_accuracy_floor_on_first_2000_mnist_test_digits(mnist):
    images, labels = mnist[0][:2000], mnist[1][:2000]
    predicted = classify(np.stack([preprocess(im) for im in images])).argmax(axis=1)
    assert np.mean(predicted == labels) >= 0.99


def test_predict_gives_probabilities_of_the_drawn_digit(mnist):
    images, labels = mnist
    canvases = [draw_digit(images[i], 400, 200, 150) for i in range(10)]
    batch = digits.predict_batch(canvases)
    assert batch.shape == (10, 10)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, rtol=1e-5)
    assert (batch.argmax(axis=1) == labels[:10]).all()
    np.testing.assert_allclose(digits.predict(canvases[3]), batch[3], atol=1e-5)


def test_top_k_is_a_label_value():
    probabilities = np.array([0.01, 0.02, 0.05, 0.6, 0.02, 0.2, 0.03, 0.04, 0.02, 0.01])
    value = digits.top_k(probabilities)
    assert list(value) == ["3", "5", "2"]
    assert value["3"] == pytest.approx(0.6) and value["2"] == pytest.approx(0.05)
    assert len(digits.top_k(probabilities, k=5)) == 5


def test_model_loads_once_and_serves_threads(mnist):
    canvases = [draw_digit(mnist[0][i], 300, 100, 100) for i in range(8)]
    expected = digits.predict_batch(canvases)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(digits.predict, canvases))
    np.testing.assert_allclose(np.stack(results), expected, atol=1e-5)
    assert session() is session()


def test_tampered_model_raises_weights_error(tmp_path):
    model = tmp_path / ONNX_PATH.name
    shutil.copy(ONNX_PATH, model)
    shutil.copy(ONNX_PATH.with_suffix(".json"), model.with_suffix(".json"))
    assert open_session(model).get_inputs()[0].name == "image"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        open_session(model)
    model.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match="missing"):
        open_session(model)


def test_app_and_packages_run_without_pytorch(samples_dir):
    """As on a deployer's machine: with torch unimportable, the app imports and both models answer."""
    script = f"""
import sys
sys.modules["torch"] = None  # `import torch` now raises ImportError, as in a venv without it
import app, digits, ocr
assert digits.top_k(digits.predict({str(samples_dir / "digits" / "digit_7_mnist_test_0000_white.png")!r}))
assert "TOTAL" in ocr.recognize({str(samples_dir / "documents" / "receipt_043.jpg")!r}).text.upper()
assert not [name for name in sys.modules if name.split(".")[0] == "torch" and sys.modules[name] is not None]
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_settings_do_not_import_the_weights_module():
    """digits/config.py is read first by everything; the weights module (hashing, manifests) depends on it,
    never the other way round."""
    import ast

    import digits.config

    tree = ast.parse(open(digits.config.__file__).read())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith("digits.") and name != "digits.errors"}
