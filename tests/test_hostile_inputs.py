"""Hostile input against the running app (`python app.py` in its own process): every bad file gets a clear
error within a time bound, memory stays bounded, one client cannot lock out the others, uploads are deleted,
and the server keeps answering normal calls afterwards."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pypdfium2 as pdfium
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from deploy import server

REPO = Path(__file__).resolve().parents[1]
POSTSCRIPT_LOOP = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n%%EndComments\n{ } loop\n"
UPLOAD_TTL_S = 8
OCR_QUEUE = 2


@pytest.fixture(scope="module")
def app_process(tmp_path_factory, serve_app):
    """The app with a short OCR queue, in its own process (tests/conftest.py serve_app)."""
    work = tmp_path_factory.mktemp("hostile")
    with serve_app(work, OCR_STUDIO_OCR_QUEUE=str(OCR_QUEUE)) as app:
        yield {"url": app.url, "pid": app.pid, "work": work}


@pytest.fixture(scope="module")
def client(app_process) -> Client:
    return Client(app_process["url"], verbose=False)


def sketch(path: Path, key: str = "composite") -> dict:
    value = {"background": None, "layers": [], "composite": None}
    value[key] = handle_file(str(path))
    return value


def assert_still_serving(client: Client, tmp_path: Path) -> None:
    """A normal call right after: the server is not stuck behind the bad one."""
    page = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), "white").save(page)
    text, _, result = client.predict(handle_file(str(page)), api_name="/ocr")
    assert text == "" and result["lines"] == []


def timed(call, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result or the exception raised) of one call."""
    started = time.monotonic()
    try:
        outcome = call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the test inspects what came back
        outcome = exc
    return time.monotonic() - started, outcome


def test_postscript_is_refused_quickly_and_never_run(client, tmp_path):
    loop = tmp_path / "loop.png"
    loop.write_bytes(POSTSCRIPT_LOOP)
    for endpoint, value in (("/ocr", handle_file(str(loop))), ("/digit", sketch(loop))):
        seconds, outcome = timed(client.predict, value, api_name=endpoint)
        assert isinstance(outcome, AppError) and "postscript" in str(outcome).lower(), (endpoint, outcome)
        assert seconds <= 15, (endpoint, seconds)
    assert not [p for p in psutil.process_iter(["name"]) if p.info["name"] in ("gs", "ghostscript")]
    assert_still_serving(client, tmp_path)


def _dot_grid(path: Path) -> Path:
    canvas = np.full((800, 800), 255, np.uint8)
    for y in range(5, 800, 10):
        for x in range(5, 800, 10):
            canvas[y:y + 3, x:x + 3] = 0
    Image.fromarray(canvas).save(path)
    return path


def _long_line(path: Path) -> Path:
    canvas = np.full((60, 4000), 255, np.uint8)
    canvas[29:31, :] = 0
    Image.fromarray(canvas).save(path)
    return path


@pytest.mark.parametrize("make", [_dot_grid, _long_line], ids=["dot-grid", "4000px-line"])
def test_number_is_bounded_on_pathological_drawings(client, tmp_path, make):
    seconds, outcome = timed(client.predict, sketch(make(tmp_path / "drawing.png")), api_name="/number")
    assert seconds <= 5, seconds
    assert isinstance(outcome, (AppError, tuple)), outcome  # an answer or our clear refusal, nothing else


def test_digits_answer_while_the_ocr_queue_is_full(client, app_process, samples_dir, tmp_path):
    """Many /ocr calls from one client: those past the OCR queue's limit are refused, /digit answers at once."""
    receipt = handle_file(str(samples_dir / "documents" / "receipt_043.jpg"))
    jobs = [client.submit(receipt, api_name="/ocr") for _ in range(OCR_QUEUE + 8)]
    time.sleep(1.0)
    digit = samples_dir / "digits" / "digit_7_mnist_test_0000_white.png"
    seconds, outcome = timed(client.predict, sketch(digit), api_name="/digit")
    assert not isinstance(outcome, Exception) and outcome["label"] == "7", outcome
    assert seconds <= 10, seconds
    outcomes = [timed(job.result)[1] for job in jobs]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    # gradio_client words a 503 on joining the queue as its own "Queue is full! Please try again."
    assert refused and all("queue is full" in str(o).lower() for o in refused), refused
    assert len(refused) < len(jobs)


def _bad_sketch(bad_image, tmp_path: Path, kind: str) -> dict:
    if kind == "many-layers":
        path = tmp_path / "layer.png"
        Image.new("RGBA", (64, 64)).save(path)
        return {"background": None, "layers": [handle_file(str(path))] * 100, "composite": None}
    return sketch(bad_image(kind))


@pytest.mark.parametrize("kind, words", [
    ("empty", "empty"), ("text", "not|cannot read"), ("truncated", "truncated|incomplete|damaged|cannot read"),
    ("9000x9000", "pixels|too large"), ("many-layers", "layers"),  # 9000x9000: 81 MP in a few kB
])
def test_digit_bad_input_gets_our_message_and_a_log_line(client, app_process, bad_image, tmp_path, kind, words):
    seconds, outcome = timed(client.predict, _bad_sketch(bad_image, tmp_path, kind), api_name="/digit")
    assert isinstance(outcome, AppError), outcome
    message = str(outcome).lower()
    assert any(w in message for w in words.split("|")), message
    assert "verbose error reporting" not in message
    assert seconds <= 10, seconds
    last = json.loads((app_process["work"] / "logs" / "requests.log").read_text().splitlines()[-1])
    assert last["endpoint"] == "/digit" and last["outcome"] == "rejected"


def _peak_rss_during(pid: int, call) -> tuple[float, object]:
    """(peak resident memory of process pid in bytes while call() runs, what call returned or raised)."""
    process, peak, done = psutil.Process(pid), [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        _, outcome = timed(call)
    finally:
        done.set()
        watcher.join()
    return peak[0], outcome


def test_huge_pages_and_sketches_stay_within_memory(client, app_process, tmp_path):
    pdf = pdfium.PdfDocument.new()
    for _ in range(20):
        pdf.new_page(200 * 72, 200 * 72)  # 200 x 200 inches
    pdf.save(tmp_path / "huge.pdf")
    peak, outcome = _peak_rss_during(app_process["pid"], lambda: client.predict(
        handle_file(str(tmp_path / "huge.pdf")), api_name="/ocr"))
    assert peak <= 1.5e9, (peak, outcome)
    assert not isinstance(outcome, Exception) or isinstance(outcome, AppError), outcome
    big = tmp_path / "black.png"
    Image.new("L", (9000, 9000), 0).save(big)
    peak, outcome = _peak_rss_during(app_process["pid"], lambda: client.predict(sketch(big), api_name="/digit"))
    assert peak <= 1.5e9, (peak, outcome)
    assert isinstance(outcome, AppError), outcome
    assert_still_serving(client, tmp_path)


def test_multipage_tiff_reads_every_page(client, tmp_path):
    from fixtures.pages import find_font
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype(str(find_font("sans")), 48)
    pages = []
    for number in (1, 2, 3):
        page = Image.new("RGB", (900, 400), "white")
        ImageDraw.Draw(page).text((60, 150), f"Invoice page {number}", fill="black", font=font)
        pages.append(page)
    tiff = tmp_path / "three.tiff"
    pages[0].save(tiff, save_all=True, append_images=pages[1:])
    _, _, result = client.predict(handle_file(str(tiff)), api_name="/ocr")
    assert [p["text"] for p in result["pages"]] == [f"Invoice page {n}" for n in (1, 2, 3)]


def test_pdf_marker_inside_a_png_and_a_pdf_without_pages(client, tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "%PDF-1.7 is only text here")
    png = tmp_path / "marker.png"
    Image.new("RGB", (320, 240), "white").save(png, pnginfo=info)
    text, _, _ = client.predict(handle_file(str(png)), api_name="/ocr")
    assert text == ""
    empty = tmp_path / "empty.pdf"
    pdfium.PdfDocument.new().save(empty)
    with pytest.raises(AppError, match="(?i)no pages"):
        client.predict(handle_file(str(empty)), api_name="/ocr")


def test_request_log_is_one_json_object_per_line(app_process):
    lines = (app_process["work"] / "logs" / "requests.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]  # raises on any line that is not JSON
    assert records and all({"endpoint", "latency_s", "outcome"} <= set(r) for r in records)
    assert any(r["outcome"].startswith("refused: queue full") for r in records)


def test_uploads_are_deleted_after_their_ttl_and_at_shutdown(tmp_path, mnist, serve_app):
    """A user's drawing leaves the server's disk after OCR_STUDIO_UPLOAD_TTL, and at shutdown (the copies of
    the app's own sample files shown as examples stay)."""
    from digits.synth import draw_digit

    drawings = []
    for index in (0, 1):
        path = tmp_path / f"user_drawing_{index}.png"
        draw_digit(mnist[0][index], 400, 200, 150).save(path)
        drawings.append(path)
    with serve_app(tmp_path, OCR_STUDIO_UPLOAD_TTL=str(UPLOAD_TTL_S)) as running:
        client = Client(running.url, verbose=False)

        def on_disk(name: str) -> list[Path]:
            return list((tmp_path / "uploads").rglob(name))

        client.predict(sketch(drawings[0]), api_name="/digit")
        assert on_disk(drawings[0].name)
        deadline = time.monotonic() + 3 * UPLOAD_TTL_S
        while on_disk(drawings[0].name) and time.monotonic() < deadline:
            time.sleep(1)
        assert not on_disk(drawings[0].name), "upload still on disk after the TTL"
        client.predict(sketch(drawings[1]), api_name="/digit")
        assert on_disk(drawings[1].name)
        assert server.stop(running.pid) == "terminated"
        assert not on_disk(drawings[1].name), "upload left on disk at shutdown"
