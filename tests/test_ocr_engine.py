"""ocr.recognize() on a real receipt, the result format, the overlay, model checksums, lazy loading."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import ocr
from ocr import engine, tiles
from ocr.config import settings
from ocr.metrics import cer, levenshtein, normalize
from ocr.regions import REGION_KINDS

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
        assert set(line) == {"text", "score", "box", "page", "words", "upside_down"}
        assert line["page"] == 0 and len(line["box"]) == 4 and all(len(p) == 2 for p in line["box"])
        assert [w["text"] for w in line["words"]] == line["text"].split()
        assert all(set(w) == {"text", "score", "box"} and len(w["box"]) == 4 for w in line["words"])
    for block in page["blocks"]:
        assert block["kind"] in ("text", "table")
        assert all(0 <= i < len(page["lines"]) for i in block["lines"])
    covered = sorted(i for block in page["blocks"] for i in block["lines"])
    assert covered == list(range(len(page["lines"])))
    in_regions = [i for region in page["regions"] for i in region["lines"]]
    assert in_regions == covered  # every line in one region, regions in reading order
    assert all(region["kind"] in REGION_KINDS and len(region["box"]) == 4 for region in page["regions"])
    assert {m["name"] for m in data["model"]["models"]} == {"PP-OCRv6_small_det", "PP-OCRv6_small_rec",
                                                        "PULC_text_image_orientation"}
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


# ---- very tall and very wide images (ocr/tiles.py) ----------------------------------------------

STACK_WIDTH = 627  # the stacked-receipts strip of the issue: 627 x ~12000


def line_texts(result: ocr.OcrResult) -> list[str]:
    return [text for text in (normalize(line.text) for line in result.pages[0].lines) if text]


def matched_lines(expected: list[str], found: list[str], similarity: float = 0.8) -> int:
    """Lines of expected that found has too, one to one: the same text, or text that differs in at
    most 20 % of its characters (the same line read from a differently scaled detection)."""
    left = list((Counter(found) - Counter(expected)).elements())
    matched = sum((Counter(expected) & Counter(found)).values())
    for text in (Counter(expected) - Counter(found)).elements():
        scores = [1 - levenshtein(text, other) / max(len(text), len(other)) for other in left]
        if scores and max(scores) >= similarity:
            left.pop(int(np.argmax(scores)))
            matched += 1
    return matched


def test_stacked_receipts_keep_their_lines(ocr_dev_dir: Path, ocr_dev_manifest: dict) -> None:
    """Eight dev receipts at one width, stacked into one 627 x 9221 strip: scaled to the detection
    size as a whole it would lose most of its lines (42 % found before tiling); read in tiles it
    keeps >= 95 % of the lines the receipts give one by one.

    Lines are matched allowing small recognition differences: the same receipt with a 40 px white
    margin added already gives only 85 % identical lines, because detection sees other scales."""
    receipts = []
    for entry in list(ocr_dev_manifest.values())[:8]:
        image = Image.open(ocr_dev_dir / entry["image"]).convert("RGB")
        receipts.append(image.resize((STACK_WIDTH, round(image.height * STACK_WIDTH / image.width)), Image.LANCZOS))
    strip = Image.new("RGB", (STACK_WIDTH, sum(r.height for r in receipts)), "white")
    top = 0
    for receipt in receipts:
        strip.paste(receipt, (0, top))
        top += receipt.height
    assert strip.height > tiles.TILE_MIN_ASPECT * strip.width
    one_by_one = [text for receipt in receipts for text in line_texts(ocr.recognize(receipt))]
    stacked = line_texts(ocr.recognize(strip))
    assert matched_lines(one_by_one, stacked) >= 0.95 * len(one_by_one)
    assert len(stacked) <= 1.05 * len(one_by_one)  # overlaps not read twice


def banner(words: list[str]) -> Image.Image:
    """One line of 40 px text on a strip about 100 x as wide as it is high."""
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        font = ImageFont.load_default(40)
    text = "  ".join(words)
    image = Image.new("L", (int(font.getlength(text)) + 80, 120), 255)
    ImageDraw.Draw(image).text((40, 40), text, fill=0, font=font)
    return image


def test_wide_banner_reads_every_word_once() -> None:
    """Tile edges cut through a wide image's lines: each word must come from exactly one tile."""
    words = [f"{name}{i:02d}" for i, name in enumerate(["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"] * 6)]
    image = banner(words)
    assert len(tiles.plan_tiles(image.width, image.height, settings().det_limit_side)) > 3
    assert ocr.recognize(image).text.split() == words


@pytest.mark.parametrize("size", [(627, 1535), (892, 2897), (4961, 7016), (1754, 1240), (300, 1000)])
def test_normal_images_are_one_tile(size: tuple[int, int]) -> None:
    assert tiles.plan_tiles(*size, 1280) == [tiles.Tile(0, 0, *size, vertical=size[1] > size[0])]


def test_tiles_of_a_tall_strip_cover_it_with_overlaps() -> None:
    plan = tiles.plan_tiles(627, 12280, 1280)
    assert len(plan) > 5
    assert plan[0].y0 == 0 and plan[-1].y1 == 12280 and all(t.x0 == 0 and t.x1 == 627 for t in plan)
    for before, after in zip(plan, plan[1:]):
        assert before.y1 - after.y0 >= tiles.ACROSS_LINES_OVERLAP * 627  # a text line fits in the overlap
        assert before.keep_to == after.keep_from and after.y0 < before.keep_to < before.y1
    assert all(t.y1 - t.y0 == round(tiles.TILE_ASPECT * 627) for t in plan)


def raw_line(
    text: str, box: list[tuple[float, float]], score: float = 0.9, runs: list[tuple[str, float, float]] = ()
) -> tiles.RawLine:
    """A RawLine; runs given as (text, x0, x1) on the line's rows."""
    y0, y1 = box[0][1], box[2][1]
    run_boxes = tuple(np.array([(a, y0), (b, y0), (b, y1), (a, y1)], dtype=float) for _, a, b in runs)
    return tiles.RawLine(text, score, np.array(box, dtype=float), tuple(r[0] for r in runs), run_boxes)


def test_a_line_read_by_two_tiles_is_kept_once() -> None:
    plan = tiles.plan_tiles(627, 12280, 1280)
    cut = plan[0].keep_to
    box = [(20.0, cut - 20), (400.0, cut - 20), (400.0, cut + 18), (20.0, cut + 18)]
    per_tile = [
        [raw_line("TOTAL 12.50", box)],
        [raw_line("TOTAL 12.5", [(x, y + 2) for x, y in box], 0.99),
         raw_line("CASH 20.00", [(x, y + 40) for x, y in box])],  # the next line down: not the same
    ] + [[] for _ in plan[2:]]
    assert [line.text for line in tiles.merge_tiles(per_tile, plan)] == ["TOTAL 12.50", "CASH 20.00"]


def test_a_word_read_by_two_tiles_of_a_wide_image_is_kept_once() -> None:
    """Each tile estimates the word boxes itself: a word at the cut can be centred on both sides."""
    plan = tiles.plan_tiles(20000, 120, 1280)
    cut = plan[0].keep_to
    left_runs = [("ECHO10", cut - 400, cut - 200), (" ", cut - 200, cut - 190), ("ITEM11", cut - 190, cut - 2)]
    right_runs = [("ITEM11", cut - 180, cut + 4), (" ", cut + 4, cut + 14), ("FOXTROT", cut + 14, cut + 300)]
    left = raw_line("ECHO10 ITEM11", [(cut - 400, 40), (cut + 8, 40), (cut + 8, 80), (cut - 400, 80)], runs=left_runs)
    right = raw_line("ITEM11 FOXTROT", [(cut - 180, 40), (cut + 300, 40), (cut + 300, 80), (cut - 180, 80)],
                     runs=right_runs)
    per_tile = [[left], [right]] + [[] for _ in plan[2:]]
    merged = tiles.merge_tiles(per_tile, plan)
    assert [line.text for line in merged] == ["ECHO10 ITEM11", "FOXTROT"]
    assert merged[1].box[:, 0].min() == pytest.approx(cut + 14)


def test_time_budget_between_tiles(monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[int] = []

    def slow_read(self, rgb: np.ndarray) -> list:
        read.append(rgb.shape[0])
        time.sleep(0.6)
        return []

    monkeypatch.setattr(engine.Engine, "_read", slow_read)
    monkeypatch.setenv("OCR_TIME_BUDGET", "1")
    with pytest.raises(ocr.TimeBudgetError, match=r"^Reading this image took longer than the 1 s limit per "
                       r"request \(OCR_TIME_BUDGET\); split it into smaller images\.$"):
        ocr.recognize(np.full((12280, 627, 3), 255, np.uint8))
    assert 1 < len(read) < len(tiles.plan_tiles(627, 12280, settings().det_limit_side))
