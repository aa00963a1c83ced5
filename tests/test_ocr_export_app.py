"""/export through gradio_client: every format for an image, a multi-page PDF and a batch; a bad file
in a batch is named with its reason while the others come back."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from ocr.export import FORMATS

ALL = list(FORMATS)


@pytest.fixture(scope="module")
def client(in_process_app) -> Client:
    return Client(in_process_app[0].local_url, verbose=False)


def _names(paths) -> list[str]:
    return sorted(Path(p).name for p in paths)


def _expected(stem: str) -> list[str]:
    return [stem + suffix for suffix in FORMATS.values()]


def test_export_is_a_named_endpoint_with_files_and_formats(client):
    endpoint = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/export"]
    assert [p["parameter_name"] for p in endpoint["parameters"]] == ["files", "formats"]


def test_every_format_for_an_image(client, samples_dir):
    out = client.predict(files=[handle_file(str(samples_dir / "documents" / "receipt_043.jpg"))], formats=ALL,
                         api_name="/export")
    names = _names(out)
    assert [n for n in names if n != "ocr-export.zip"] == sorted(_expected("receipt_043"))
    text = next(Path(p) for p in out if p.endswith(".txt")).read_text()
    assert "BISTRO" in text
    assert next(Path(p) for p in out if p.endswith(".pdf")).read_bytes().startswith(b"%PDF")


def test_batch_with_a_multipage_pdf_and_a_bad_file(client, samples_dir, tmp_path):
    pdf = tmp_path / "two_pages.pdf"
    first = Image.open(samples_dir / "documents" / "receipt_052.jpg").convert("RGB")
    first.save(pdf, save_all=True, append_images=[Image.open(samples_dir / "documents" / "two_column.png").convert("RGB")])
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a picture")
    files = [handle_file(str(p)) for p in (samples_dir / "documents" / "receipt_043.jpg", bad, pdf)]
    out = client.predict(files=files, formats=ALL, api_name="/export")
    names = _names(out)
    assert set(_expected("receipt_043")) | set(_expected("two_pages")) | {"ocr-export.zip", "export-errors.txt"} == set(names)
    errors = next(Path(p) for p in out if p.endswith("export-errors.txt")).read_text()
    assert errors.startswith("broken.png: ") and "neither a PDF nor an image" in errors
    with zipfile.ZipFile(next(p for p in out if p.endswith(".zip"))) as archive:
        assert set(archive.namelist()) == set(names) - {"ocr-export.zip"}
    hocr = next(Path(p) for p in out if p.endswith("two_pages.hocr")).read_text()
    assert hocr.count("class=\"ocr_page\"") == 2


def test_unknown_format_and_nothing_readable_are_clear_errors(client, samples_dir, tmp_path):
    with pytest.raises(AppError, match="docx"):
        client.predict(files=[handle_file(str(samples_dir / "documents" / "receipt_043.jpg"))], formats=["docx"],
                       api_name="/export")
    bad = tmp_path / "empty.pdf"
    bad.write_bytes(b"")
    with pytest.raises(AppError, match="empty.pdf"):
        client.predict(files=[handle_file(str(bad))], formats=["txt"], api_name="/export")
