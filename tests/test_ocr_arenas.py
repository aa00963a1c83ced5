"""onnxruntime memory (ocr.arenas) on the shipped recogniser: split batches give the same output as
whole ones, and the engine's sessions are wrapped (a PaddleX upgrade that moves them fails here)."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort

from ocr.arenas import ArenaRelease, ShrinkingSession, SplittingSession
from ocr.config import settings
from ocr.engine import RECOGNITION_MODEL, get_engine


def _recogniser() -> ort.InferenceSession:
    path = settings().model_dir / RECOGNITION_MODEL / "inference.onnx"
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_a_wide_batch_read_line_by_line_gives_the_same_output():
    session = _recogniser()
    batch = np.random.default_rng(0).random((3, 3, 48, 640), dtype=np.float32)
    (whole,) = session.run(None, {"x": batch})
    (split,) = SplittingSession(session, max_width=1000).run(None, {"x": batch})
    assert split.shape == whole.shape
    np.testing.assert_allclose(split, whole, atol=1e-5)


def test_shrinking_and_release_runs_work_on_the_real_model():
    session = _recogniser()
    batch = np.zeros((1, 3, 48, 320), dtype=np.float32)
    (plain,) = session.run(None, {"x": batch})
    (shrunk,) = ShrinkingSession(session).run(None, {"x": batch})
    np.testing.assert_array_equal(plain, shrunk)
    ArenaRelease([session])()  # a tiny run on a dynamic-width input


def test_the_engine_wraps_its_sessions():
    models = get_engine()._ocr.paddlex_pipeline._pipeline
    assert isinstance(models.text_det_model.runner.session, ShrinkingSession)
    assert isinstance(models.text_rec_model.runner.session, SplittingSession)
