"""ocr.recognize() on a real receipt, the result format, the overlay, model checksums, lazy loading."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import ocr
from ocr import engine
from ocr.config import settings
from ocr.metrics import cer, normalize

RECEIPT_ID = "sroie_613"  # POPULAR BOOK receipt, clean print


@pytest.fixture(scope="module")
def receipt(ocr_dev_dir: Path, ocr_dev_manifest: dict) -> dict:
    return ocr_dev_manifest[RECEIPT_ID]


@pytest.fixture(scope="module")
def receipt_result(ocr_dev_dir: Path, receipt: dict) -> ocr.OcrResult:
    return ocr.recognize(ocr_dev_dir / receipt["image"])


def test_receipt_text_matches_ground_truth(receipt_result: ocr.OcrResult, receipt: dict) -> None:
    predicted = normalize(" ".join(line.text for line in receipt_result.pages[0].lines), **receipt["norm"])
    reference = normalize(" ".join(receipt["gt_lines"]), **receipt["norm"])
    assert cer(predicted, reference) < 0.08
    for key in ("popular book", "7.30", "2.70", "www.popular.com.my", "kuala lumpur"):
        assert key in predicted


def test_receipt_reading_order_is_top_to_bottom(receipt_result: ocr.OcrResult) -> None:
    text = receipt_result.text.casefold()
    assert text.index("popular book") < text.index("kuala lumpur") < text.index("change") < text.index("popularonline")


def test_boxes_inside_image_and_scores_valid(receipt_result: ocr.OcrResult) -> None:
    page = receipt_result.pages[0]
    assert (page.width, page.height) == (receipt_result.width, receipt_result.height)
    assert len(page.lines) >= 20
    for line in page.lines:
        assert 0 < line.score <= 1
        assert len(line.box) == 4
        for x, y in line.box:
            assert -1 <= x <= page.width + 1 and -1 <= y <= page.height + 1


def test_json_shape(receipt_result: ocr.OcrResult) -> None:
    data = json.loads(json.dumps(receipt_result.to_json()))
    assert {"text", "lines", "width", "height", "model", "timings", "pages"} <= data.keys()
    assert data["text"] == receipt_result.text
    assert len(data["pages"]) == 1
    page = data["pages"][0]
    assert {"index", "width", "height", "text", "lines", "blocks"} <= page.keys()
    assert page["index"] == 0 and page["text"] == data["text"]
    assert data["lines"] == page["lines"]
    for line in data["lines"]:
        assert set(line) == {"text", "score", "box", "page"}
        assert line["page"] == 0 and len(line["box"]) == 4 and all(len(p) == 2 for p in line["box"])
    for block in page["blocks"]:
        assert block["kind"] in ("text", "table")
        assert all(0 <= i < len(page["lines"]) for i in block["lines"])
    covered = sorted(i for block in page["blocks"] for i in block["lines"])
    assert covered == list(range(len(page["lines"])))
    assert {m["name"] for m in data["model"]["models"]} == {"PP-OCRv6_small_det", "PP-OCRv6_small_rec"}
    assert data["timings"]["total"] > 0 and data["timings"]["ocr"] > 0


def test_overlay_draws_numbered_boxes(receipt_result: ocr.OcrResult, ocr_dev_dir: Path, receipt: dict) -> None:
    overlay = receipt_result.overlay(0)
    original = Image.open(ocr_dev_dir / receipt["image"]).convert("RGB")
    assert overlay.size == original.size
    pixels = overlay.getdata()
    red = sum(1 for r, g, b in pixels if r > 200 and g < 60 and b < 60)
    assert red > 1000  # box outlines and number labels
    with pytest.raises(IndexError):
        receipt_result.overlay(1)


def test_small_receipt_on_a_large_scan_stays_readable(ocr_dev_dir: Path, ocr_dev_manifest: dict) -> None:
    """A receipt at its own resolution in the corner of a 5000 x 7000 page: shrunk to the detector's
    default size its text would be ~4 px high, so the engine must detect again at a larger size."""
    receipt = ocr_dev_manifest["sroie_043"]
    page = Image.new("RGB", (5000, 7000), "white")
    page.paste(Image.open(ocr_dev_dir / receipt["image"]).convert("RGB"), (100, 100))
    result = ocr.recognize(page)
    predicted = normalize(" ".join(line.text for line in result.pages[0].lines), **receipt["norm"])
    reference = normalize(" ".join(receipt["gt_lines"]), **receipt["norm"])
    assert cer(predicted, reference) < 0.15
    assert "total: 190.00" in predicted


def test_warm_up() -> None:
    ocr.warm_up()


def test_model_info_lists_checksums() -> None:
    info = ocr.model_info()
    assert "paddleocr" in info["engine"] and "onnxruntime" in info["engine"]
    for model in info["models"]:
        assert model["licence"] == "Apache-2.0"
        assert len(model["sha256"]) == 64


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    shutil.copytree(settings().model_dir, models)
    weights = models / "PP-OCRv6_small_rec" / "inference.onnx"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ocr.ModelError, match="PP-OCRv6_small_rec.*inference.onnx.*checksum"):
        engine.verify_models(models)
    weights.unlink()
    with pytest.raises(ocr.ModelError, match="missing"):
        engine.verify_models(models)


def test_tampered_model_dir_from_env_stops_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = tmp_path / "models"
    shutil.copytree(settings().model_dir, models)
    config = models / "PP-OCRv6_small_det" / "inference.yml"
    config.write_text(config.read_text().replace("box_thresh: 0.6", "box_thresh: 0.9"))
    monkeypatch.setenv("OCR_MODEL_DIR", str(models))
    with pytest.raises(ocr.ModelError, match="inference.yml"):
        engine.Engine(settings())


NETWORK_PROBE = """
import sys
events = []
sys.addaudithook(lambda event, args: events.append(event) if event.startswith(("socket.", "urllib.")) else None)
import ocr
ocr.warm_up()
ocr.recognize(sys.argv[1])
print(sorted(set(events)))
"""


def test_no_network_use_from_import_to_result(ocr_dev_dir: Path, receipt: dict) -> None:
    """A fresh interpreter imports ocr, loads PaddleOCR and reads a receipt without opening a socket."""
    done = subprocess.run(
        [sys.executable, "-c", NETWORK_PROBE, str(ocr_dev_dir / receipt["image"])],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    events = done.stdout.strip().splitlines()[-1]
    assert "socket.connect" not in events and "socket.getaddrinfo" not in events and "urllib.Request" not in events


def test_engine_loads_once_under_concurrent_first_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_engine", None)
    created: list[engine.Engine] = []
    barrier = threading.Barrier(4)

    def first_call() -> None:
        barrier.wait()
        created.append(engine.get_engine())

    threads = [threading.Thread(target=first_call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(created) == 4 and all(e is created[0] for e in created)
