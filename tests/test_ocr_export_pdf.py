"""Searchable PDFs: pdftotext finds our text (CER <= 0.02) with >= 95 % of the words on their image
boxes (IoU >= 0.5); a PDF input keeps its pages, sizes, rotation and content. Real inputs."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from bench.export import page_sizes, text_layer_cer, word_box_share
from ocr.export import render
from ocr.pipeline import recognize

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")

MAX_CER = 0.02
MIN_BOX_SHARE = 0.95


def _searchable(path: Path, tmp_path: Path):
    result = recognize(path)
    out = tmp_path / (path.stem + ".out.pdf")
    out.write_bytes(render(result, "pdf", path.read_bytes(), path.name))
    return result, out


def _check_text_layer(result, pdf: Path) -> None:
    assert text_layer_cer(pdf, result) <= MAX_CER
    share, words = word_box_share(pdf, result)
    assert words >= sum(len(line.words) for page in result.pages for line in page.lines) * 0.9
    assert share >= MIN_BOX_SHARE


def _render(pdf: bytes | Path, index: int) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        return doc[index].render(scale=1).to_numpy().astype(np.int16)
    finally:
        doc.close()


def test_image_becomes_a_searchable_page(samples_dir, tmp_path):
    result, pdf = _searchable(samples_dir / "documents" / "receipt_043.jpg", tmp_path)
    _check_text_layer(result, pdf)
    ((width, height, _),) = page_sizes(pdf)
    assert width / height == pytest.approx(result.width / result.height, rel=0.01)
    # the JPEG is embedded as it is, not re-encoded
    with pikepdf.open(pdf) as doc:
        (image,) = [doc.pages[0].images[k] for k in doc.pages[0].images]
        assert image.read_raw_bytes() == (samples_dir / "documents" / "receipt_043.jpg").read_bytes()


def test_pdf_keeps_its_pages_and_gets_a_text_layer(tmp_path, samples_dir):
    source = tmp_path / "two_pages.pdf"
    first = Image.open(samples_dir / "documents" / "receipt_052.jpg").convert("RGB")
    second = Image.open(samples_dir / "documents" / "two_column.png").convert("RGB")
    first.save(source, save_all=True, append_images=[second], resolution=150)
    result, pdf = _searchable(source, tmp_path)
    assert page_sizes(pdf) == page_sizes(source) and len(page_sizes(pdf)) == 2
    _check_text_layer(result, pdf)
    for index in range(2):  # the text is invisible: the pages look exactly as before
        assert np.abs(_render(pdf, index) - _render(source, index)).max() <= 2


def test_vector_pdf_content_is_kept(samples_dir, tmp_path):
    source = samples_dir / "documents" / "two_column.pdf"
    result, pdf = _searchable(source, tmp_path)
    assert page_sizes(pdf) == page_sizes(source)
    _check_text_layer(result, pdf)
    with pikepdf.open(source) as before, pikepdf.open(pdf) as after:
        assert len(after.pages[0].images) == len(before.pages[0].images)


def test_rotated_pdf_page_gets_its_words_in_place(samples_dir, tmp_path):
    """A page stored sideways and shown upright by /Rotate 90 (as scanners write them)."""
    raw, source = tmp_path / "sideways.pdf", tmp_path / "rotated.pdf"
    Image.open(samples_dir / "documents" / "two_column.png").convert("RGB").rotate(90, expand=True).save(raw, resolution=150)
    with pikepdf.open(raw) as doc:
        doc.pages[0].obj["/Rotate"] = 90
        doc.save(source)
    result, pdf = _searchable(source, tmp_path)
    assert page_sizes(pdf) == page_sizes(source) and page_sizes(pdf)[0][2] == 90
    _check_text_layer(result, pdf)


def test_lines_printed_upside_down_run_the_way_the_print_does(ocr_dev_manifest, ocr_dev_dir, tmp_path):
    """A receipt with lines turned where they lie (fixtures/upside_down.py): the text layer keeps every
    word on its box, and a layout-preserving extraction reads the turned lines in their word order."""
    import subprocess

    from fixtures.upside_down import turn_lines_in_place

    rgb = np.asarray(Image.open(ocr_dev_dir / ocr_dev_manifest["sroie_052"]["image"]).convert("RGB"))
    turned, count = turn_lines_in_place(rgb, recognize(rgb).pages[0].lines)
    path = tmp_path / "lines_turned.png"
    Image.fromarray(turned).save(path)
    result, pdf = _searchable(path, tmp_path)
    assert result.pages[0].orientation.upside_down_lines == count >= 3
    _check_text_layer(result, pdf)
    layout = " ".join(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                                     check=True).stdout.split())
    for line in result.pages[0].lines:
        if all(w.box[0][0] > w.box[1][0] for w in line.words) and len(line.words) >= 2:
            assert " ".join(w.text for w in line.words) in layout
