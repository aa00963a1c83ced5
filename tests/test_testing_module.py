"""Testing/ is a standalone copy of the digit model: it runs from a copy of its folder alone, serves its own
Gradio app, and holds the same weights and preprocessing as digits/ (so the two never drift)."""
from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import digits
from digits.weights import WEIGHTS_PATH, sha256_of

TESTING = Path(__file__).resolve().parents[1] / "Testing"
SAMPLES = sorted((TESTING / "sample_inputs").glob("*.png"))
REPOSITORY_PACKAGES = {"digits", "ocr", "bench", "fixtures", "tests"}  # check.py imports its own app.py


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> Path:
    """A copy of Testing/ outside the repository."""
    copy = tmp_path_factory.mktemp("standalone") / "Testing"
    shutil.copytree(TESTING, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "GRADIO_ANALYTICS_ENABLED": "False"}


def test_folder_is_complete_and_imports_nothing_from_the_repository():
    for name in ("app.py", "check.py", "requirements.txt", "README.md", "mnist_cnn.pth"):
        assert (TESTING / name).is_file(), name
    assert 20 <= len(SAMPLES) <= 40
    assert {p.name[0] for p in SAMPLES} == set("0123456789")
    for script in ("app.py", "check.py"):
        tree = ast.parse((TESTING / script).read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert not imported & REPOSITORY_PACKAGES, f"{script} imports {imported & REPOSITORY_PACKAGES}"
    requirements = (TESTING / "requirements.txt").read_text()
    for pin in ("gradio==", "gradio_client==", "numpy==", "pillow==", "torch==2.13.0\n"):
        assert pin in requirements
    pins = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert not [pin for pin in pins if "+" in pin or "index-url" in pin]  # a CPU build: README.md says how


def test_same_weights_as_digits():
    assert sha256_of(TESTING / "mnist_cnn.pth") == sha256_of(WEIGHTS_PATH)


def test_same_predictions_as_digits():
    spec = importlib.util.spec_from_file_location("testing_app", TESTING / "app.py")
    standalone_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standalone_app)
    for path in SAMPLES:
        np.testing.assert_allclose(standalone_app.preprocess(path), digits.preprocess(path), atol=1e-6,
                                   err_msg=path.name)
        np.testing.assert_allclose(standalone_app.predict(path), digits.predict(path), atol=1e-5, err_msg=path.name)


def test_check_script_passes_in_a_copy(standalone):
    run = subprocess.run([sys.executable, "check.py"], cwd=standalone, env=clean_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("| PASS |") == len(SAMPLES)
    assert f"{len(SAMPLES)}/{len(SAMPLES)} passed" in run.stdout


def test_check_script_fails_on_a_misread_sample(standalone, tmp_path):
    wrong = tmp_path / "samples"
    wrong.mkdir()
    misnamed = ("9" if SAMPLES[0].name[0] != "9" else "8") + SAMPLES[0].name[1:]
    shutil.copy(SAMPLES[0], wrong / misnamed)
    run = subprocess.run([sys.executable, "check.py", "--samples", str(wrong)], cwd=standalone,
                         env=clean_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "| FAIL |" in run.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_copied_app_serves_predictions(standalone):
    from gradio_client import Client, handle_file

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=standalone, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 180
        while True:
            assert proc.poll() is None, f"app.py exited early:\n{proc.stdout.read()}"
            try:
                with urllib.request.urlopen(url + "/gradio_api/info", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                assert time.time() < deadline, "app.py did not start serving within 180 s"
                time.sleep(1)
        client = Client(url, verbose=False)
        drawn = next(p for p in SAMPLES if "canvas_400_transparent" in p.name)
        sketch = {"background": None, "layers": [], "composite": handle_file(str(drawn))}
        value = client.predict(sketch, api_name="/predict")
        assert value["label"] == drawn.name[0]
        assert [c["label"] for c in value["confidences"]][0] == drawn.name[0] and len(value["confidences"]) == 3
        uploaded = next(p for p in SAMPLES if "white_on_black" in p.name)
        assert client.predict(handle_file(str(uploaded)), api_name="/predict_upload")["label"] == uploaded.name[0]
        bare = {"background": handle_file(str(drawn)), "layers": [], "composite": None}
        assert client.predict(bare, api_name="/predict")["label"] == drawn.name[0]
    finally:
        proc.terminate()
        proc.wait(30)


def load_standalone_app():
    spec = importlib.util.spec_from_file_location("testing_app", TESTING / "app.py")
    standalone_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standalone_app)
    return standalone_app


# Testing/app.py's copies of digits/preprocess.py's constants (it must stay standalone: compared, not imported).
COPIED_CONSTANTS = ("RASTER_FORMATS", "MAX_PIXELS", "MAX_SIDE", "DIGIT_SIDE", "MIN_CONTRAST", "FAINT", "STROKE", "SPECK",
                    "MIN_EXTENT", "MIN_EXTENT_PX", "THIN", "THICK_TARGET", "MAX_RADIUS", "BOX", "SIZE", "CENTRE",
                    "MNIST_MEAN", "MNIST_STD", "_OPENED_FORMATS", "_POSTSCRIPT", "_SIGNATURES", "_DAMAGED")


def test_standalone_copy_keeps_the_packages_constants():
    """Testing/ must stay standalone, so it copies these; they must not drift from digits/ (and ocr/)."""
    import ocr.inputs

    preprocess = importlib.import_module("digits.preprocess")  # the module (digits.preprocess is also a function)
    standalone_app = load_standalone_app()
    assert standalone_app.RASTER_FORMATS == ocr.inputs.RASTER_FORMATS
    for name in COPIED_CONSTANTS:
        assert getattr(standalone_app, name) == getattr(preprocess, name), name


def test_standalone_copy_keeps_the_packages_functions():
    """Its copies of the preprocessing steps, the normalisation and top 3 give what digits/ gives."""
    preprocess = importlib.import_module("digits.preprocess")
    standalone_app = load_standalone_app()
    for path in SAMPLES[::5]:
        image = preprocess.load_image(path)
        np.testing.assert_array_equal(np.asarray(standalone_app.load_image(path)), np.asarray(image), path.name)
        np.testing.assert_array_equal(standalone_app.ink_map(image), preprocess.ink_map(image), path.name)
        np.testing.assert_array_equal(np.asarray(standalone_app.shrunk(image)), np.asarray(preprocess._shrunk(image)[0]))
        thin = preprocess.find_strokes(path).ink
        np.testing.assert_array_equal(standalone_app._thicken_thin_strokes(thin), preprocess._thicken_thin_strokes(thin))
    x = np.linspace(0, 1, 11, dtype=np.float32)
    np.testing.assert_array_equal(standalone_app.normalise(x), preprocess.normalise(x))
    probabilities = digits.predict(SAMPLES[0])
    assert standalone_app.top3(probabilities) == digits.top_k(probabilities, k=3)
