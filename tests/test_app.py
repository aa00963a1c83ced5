"""The Gradio app through its public API: a real in-process server and a real gradio_client."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from deploy.server import free_port, wait_healthy
from ocr.metrics import cer, normalize

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(in_process_app) -> Client:
    return Client(in_process_app[0].local_url, verbose=False)


def sketch(path: Path | str, key: str = "composite") -> dict:
    """A sketchpad value carrying one image under `key`, as gradio_client users send it."""
    value = {"background": None, "layers": [], "composite": None}
    value[key] = handle_file(str(path))
    return value


def test_named_endpoints_are_the_public_contract(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ocr", "/digit", "/number"} <= set(endpoints)
    assert len(endpoints["/ocr"]["parameters"]) == 1
    assert len(endpoints["/digit"]["parameters"]) == 1


def test_ocr_reads_a_dev_receipt(client, ocr_dev_dir, ocr_dev_manifest):
    entry = ocr_dev_manifest["sroie_043"]
    text, overlay, result = client.predict(handle_file(str(ocr_dev_dir / entry["image"])), api_name="/ocr")
    reference = normalize(" ".join(entry["gt_lines"]), casefold=True)
    assert cer(normalize(text, casefold=True, drop_cjk=True), reference) < 0.10
    assert "190.00" in text and "THANK YOU" in text.upper()
    assert text == result["text"]
    assert {"text", "lines", "width", "height", "model"} <= set(result)
    assert (result["width"], result["height"]) == Image.open(ocr_dev_dir / entry["image"]).size
    assert len(result["lines"]) >= 15
    for line in result["lines"]:
        assert line["text"] and 0 < line["score"] <= 1 and len(line["box"]) == 4
    assert Image.open(overlay).size == (result["width"], result["height"])


def test_ocr_samples_match_their_expected_text(client, samples_dir, expected_samples):
    """Every document in samples/expected.json, through /ocr, within its tolerance."""
    for sample in expected_samples["ocr"]:
        text, _, _ = client.predict(handle_file(str(samples_dir / sample["file"])), api_name="/ocr")
        casefold = sample["casefold"]
        error = cer(normalize(text, casefold=casefold), normalize(sample["text"], casefold=casefold))
        assert error <= sample["max_cer"], (sample["file"], error)


@pytest.mark.parametrize("kind, words", [
    ("empty", "empty"), ("text", "not|neither"), ("truncated", "truncated|incomplete|damaged|corrupt"),
    ("12000x12000", "pixels|too large"),  # 144 MP in a few kB
])
def test_ocr_bad_input_gets_a_clear_error_and_the_server_keeps_serving(client, bad_image, tmp_path, kind, words):
    with pytest.raises(AppError) as err:
        client.predict(handle_file(str(bad_image(kind))), api_name="/ocr")
    message = str(err.value).lower()
    assert any(w in message for w in words.split("|")), message
    blank = tmp_path / "blank.png"
    Image.new("RGB", (640, 480), "white").save(blank)
    text, _, result = client.predict(handle_file(str(blank)), api_name="/ocr")
    assert text == "" and result["lines"] == []


def test_digit_from_composite_background_and_transparent_canvas(client, samples_dir, expected_samples):
    for sample in expected_samples["digit"]:
        for key in ("composite", "background"):
            value = client.predict(sketch(samples_dir / sample["file"], key), api_name="/digit")
            assert value["label"] == sample["label"], (sample, key)
            assert len(value["confidences"]) == 3
            assert value["confidences"][0]["label"] == sample["label"]


def test_empty_canvas_is_an_error_not_a_guess(client, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("RGBA", (560, 560), (0, 0, 0, 0)).save(blank)
    for value in (sketch(blank), {"background": None, "layers": [], "composite": None}):
        with pytest.raises(AppError, match="(?i)draw"):
            client.predict(value, api_name="/digit")


def test_number(client, samples_dir, expected_samples):
    sample = expected_samples["number"][0]
    result, overlay = client.predict(sketch(samples_dir / sample["file"]), api_name="/number")
    assert result["number"] == sample["number"]
    assert len(result["digits"]) == len(sample["number"])
    assert Path(overlay).exists()


def test_every_call_is_logged_as_one_json_line(client, in_process_app, samples_dir, expected_samples):
    client.predict(sketch(samples_dir / expected_samples["digit"][0]["file"]), api_name="/digit")
    records = [json.loads(line) for line in (in_process_app[1] / "requests.log").read_text().splitlines()]
    assert {"endpoint", "input_bytes_or_pixels", "latency_s", "outcome"} <= set(records[-1])
    assert records[-1]["endpoint"] == "/digit" and records[-1]["outcome"] == "ok"


def test_a_worker_that_dies_is_explained_and_the_next_call_is_read(client, in_process_app, worker_processes,
                                                                   samples_dir):
    """The person is told the OCR worker stopped (not "something went wrong"); errors.log has the traceback;
    the next file is read by a fresh worker."""
    (worker,) = worker_processes()
    threading.Timer(1.0, worker.kill).start()  # while it reads the PDF
    with pytest.raises(AppError, match="OCR worker stopped while reading this file"):
        client.predict(handle_file(str(samples_dir / "documents" / "two_column.pdf")), api_name="/ocr")
    assert "WorkerStopped" in (in_process_app[1] / "errors.log").read_text()
    text, _, _ = client.predict(handle_file(str(samples_dir / "documents" / "receipt_052.jpg")), api_name="/ocr")
    assert text.strip()


def test_share_without_internet_keeps_serving_locally(tmp_path):
    """`python app.py --share` offline: one clear line about the share link, and the local app serves."""
    port = free_port()
    env = dict(os.environ, OCR_STUDIO_LOG_DIR=str(tmp_path))
    console = tmp_path / "console.txt"
    with open(console, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--share"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc.pid, console, timeout=120)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert "/ocr" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        deadline = time.monotonic() + 90  # the line comes once Gradio gives up on the share link
        while "share link" not in console.read_text().lower() and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    output = console.read_text()
    share_lines = [line for line in output.splitlines() if "share link" in line.lower()]
    assert len(share_lines) == 1, output


def test_ten_page_pdf_end_to_end_with_progress(client, tmp_path):
    """A 10-page PDF through /ocr: every page read, in order, and progress reported per page."""
    from fixtures.pages import find_font
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(str(find_font("sans")), 40)
    pages = []
    for number in range(1, 11):
        page = Image.new("RGB", (850, 1100), "white")
        ImageDraw.Draw(page).text((100, 150), f"Page {number} of the contract", fill="black", font=font)
        pages.append(page)
    pdf = tmp_path / "ten_pages.pdf"
    pages[0].save(pdf, save_all=True, append_images=pages[1:], resolution=100)

    job = client.submit(handle_file(str(pdf)), api_name="/ocr")
    progress_seen = set()
    while not job.done():
        for unit in job.status().progress_data or []:
            progress_seen.add((unit.index, unit.length))
        time.sleep(0.05)
    text, _, result = job.result()
    assert len(result["pages"]) == 10
    assert [p["text"] for p in result["pages"]] == [f"Page {n} of the contract" for n in range(1, 11)]
    assert text.split("\n\f\n") == [p["text"] for p in result["pages"]]
    assert {line["page"] for line in result["lines"]} == set(range(10))
    assert progress_seen and all(length == 10 for _, length in progress_seen)
