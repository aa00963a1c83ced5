"""The committed digit weights: checksum, accuracy floor, probabilities and label shape, thread safety."""
from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import digits
from digits.config import MNIST_DIR
from digits.data import load_mnist
from digits.predict import classify, model
from digits.preprocess import preprocess
from digits.synth import draw_digit
from digits.weights import WEIGHTS_PATH, WeightsError, load_model, read_manifest, sha256_of


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist(MNIST_DIR, "test")


def test_committed_weights_match_their_manifest():
    assert WEIGHTS_PATH.exists(), "digits/mnist_cnn.pth must be committed (train it with python -m digits.train)"
    manifest = read_manifest()
    assert manifest["sha256"] == sha256_of(WEIGHTS_PATH)
    assert manifest["architecture"] == "DigitNet"
    assert manifest["mnist_test_accuracy"] >= 0.99
    assert digits.model_info() == manifest


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
    assert model() is model()


def test_tampered_weights_raise_weights_error(tmp_path):
    weights = tmp_path / WEIGHTS_PATH.name
    shutil.copy(WEIGHTS_PATH, weights)
    shutil.copy(WEIGHTS_PATH.with_suffix(".json"), weights.with_suffix(".json"))
    assert load_model(weights).training is False
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_model(weights)
    weights.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_model(weights)
