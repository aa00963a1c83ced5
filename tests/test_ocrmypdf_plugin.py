"""ocrmypdf --plugin ocr.ocrmypdf_plugin: OCRmyPDF runs our engine (offline) and its output's text is ours."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ocrmypdf", reason="OCRmyPDF is the optional extra: pip install -r requirements-ocrmypdf.txt")
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")

from bench.export import page_sizes, pdf_text  # noqa: E402
from ocr.metrics import cer  # noqa: E402
from ocr.pipeline import recognize  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MAX_CER = 0.02


def _squash(text: str) -> str:
    return " ".join(text.split())


def test_ocrmypdf_with_our_engine_gives_our_text(samples_dir, tmp_path):
    source = samples_dir / "documents" / "two_column.pdf"
    out = tmp_path / "out.pdf"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "ocrmypdf", "--plugin", "ocr.ocrmypdf_plugin", "--output-type", "pdf",
                          "--jobs", "1", str(source), str(out)], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "OCR Studio" in run.stderr or out.exists()
    assert page_sizes(out) == page_sizes(source)
    ours = recognize(source).text
    assert cer(_squash(pdf_text(out)), _squash(ours)) <= MAX_CER


def test_plugin_answers_for_its_engine_only():
    from types import SimpleNamespace

    from ocr import ocrmypdf_plugin

    assert isinstance(ocrmypdf_plugin.get_ocr_engine(None), ocrmypdf_plugin.OcrStudioEngine)
    assert isinstance(ocrmypdf_plugin.get_ocr_engine(SimpleNamespace(ocr_engine="auto")), ocrmypdf_plugin.OcrStudioEngine)
    assert ocrmypdf_plugin.get_ocr_engine(SimpleNamespace(ocr_engine="tesseract")) is None
