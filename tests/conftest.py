"""Shared fixtures: where the real data lives, free ports and the app started as its own process."""
from __future__ import annotations

import io
import json
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from deploy import server
from digits.data import load_mnist

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return SHARED_DATA / "mnist"


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test split (images, labels), read once for all tests."""
    return load_mnist(mnist_dir, "test")


@pytest.fixture(scope="session")
def ocr_dev_dir() -> Path:
    return SHARED_DATA / "ocr-dev"


def read_manifest(folder: Path) -> dict[str, dict]:
    """A data set's manifest.jsonl (one JSON object per line), by id."""
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    return {entry["id"]: entry for entry in map(json.loads, lines)}


@pytest.fixture(scope="session")
def ocr_dev_manifest(ocr_dev_dir: Path) -> dict[str, dict]:
    """The dev receipts' ground truth, by id."""
    return read_manifest(ocr_dev_dir)


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return REPO / "samples"


@pytest.fixture(scope="session")
def expected_samples(samples_dir: Path) -> dict:
    return json.loads((samples_dir / "expected.json").read_text())


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A function giving a TCP port nothing listens on (deploy.server.free_port)."""
    return server.free_port


@pytest.fixture(scope="session")
def worker_processes() -> Callable[..., list[psutil.Process]]:
    """`worker_processes(exclude=())`: the children of this test process that multiprocessing's spawn started
    (serving.ocr_worker's OCR workers), leaving out the pids in exclude."""
    def find(exclude: Collection[int] = ()) -> list[psutil.Process]:
        return [child for child in psutil.Process().children()
                if "spawn_main" in " ".join(child.cmdline()) and child.pid not in exclude]
    return find


@pytest.fixture(scope="session")
def serve_app() -> Callable:
    """`with serve_app(work, **env) as app:` runs `python app.py` from the checkout on a free port with its
    logs and uploads under work (plus the given environment), until healthy; app.url, app.pid, app.port. The
    one helper (deploy.server.serving) that the tests, bench/ and the deploy tools share."""
    def start(work: Path, **settings: str):
        env = {"OCR_STUDIO_LOG_DIR": str(work / "logs"), "GRADIO_TEMP_DIR": str(work / "uploads"), **settings}
        return server.serving(REPO, work / "app.log", env=env)
    return start


@pytest.fixture(scope="module")
def in_process_app(tmp_path_factory) -> Iterator[tuple]:
    """(demo, log_dir): the Blocks app served from this process on a free local port (app.launch, with the
    API gate), its request log in a temp dir; closed when the test module ends."""
    import app
    from serving import logs

    log_dir = tmp_path_factory.mktemp("logs")
    logs.close_logs()
    logs.setup_logs(log_dir)
    demo = app.build_app()
    app.launch(demo, "127.0.0.1", server.free_port())
    yield demo, log_dir
    demo.close()


@pytest.fixture
def bad_image(tmp_path: Path) -> Callable[[str], Path]:
    """bad_image(kind) writes a broken or hostile picture under tmp_path and gives its path: "empty", "text"
    (not an image), "truncated" (a PNG cut after 200 bytes) or "WxH" (a black 1-bit PNG that size: a
    decompression bomb of many pixels in a few kB)."""
    def write(kind: str) -> Path:
        path = tmp_path / f"{kind}.png"
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "text":
            path.write_text("this is not an image\n")
        elif kind == "truncated":
            buffer = io.BytesIO()
            Image.new("RGB", (400, 300), "white").save(buffer, "PNG")
            path.write_bytes(buffer.getvalue()[:200])
        else:
            width, height = map(int, kind.split("x"))
            Image.new("1", (width, height)).save(path)
        return path
    return write


@pytest.fixture(scope="session")
def pages_dev_dir() -> Path:
    return SHARED_DATA / "pages-dev"


@pytest.fixture(scope="session")
def pages_dev_manifest(pages_dev_dir: Path) -> dict[str, dict]:
    """The real document pages' ground truth (reading order, line boxes, doc_type), by id."""
    return read_manifest(pages_dev_dir)


# The detector pads each line box by a few pixels on every side; the ground-truth boxes get as much.
GT_BOX_PADDING = 0.15


@pytest.fixture(scope="session")
def page_fragments() -> Callable[..., list]:
    """page_fragments(entry, seed=0): a pages-dev page's ground-truth line boxes as the fragments a
    detector would return (padded like its boxes, shuffled)."""
    import random

    from ocr.layout import Fragment

    def make(entry: dict, seed: int = 0) -> list[Fragment]:
        fragments = []
        for x0, y0, x1, y1, text in entry["gt_boxes"]:
            pad = GT_BOX_PADDING * (y1 - y0)
            box = ((x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad))
            fragments.append(Fragment(text, 1.0, box))
        random.Random(seed).shuffle(fragments)
        return fragments
    return make


@pytest.fixture(scope="session")
def page_lines(pages_dev_dir: Path) -> Callable[[dict], list[tuple[np.ndarray, str]]]:
    """page_lines(entry): (RGB crop, ground truth) of every line of a pages-dev page, cut from its
    ground-truth line boxes padded like the detector's."""
    def cut(entry: dict) -> list[tuple[np.ndarray, str]]:
        page = np.asarray(Image.open(pages_dev_dir / entry["image"]).convert("RGB"))
        lines = []
        for x0, y0, x1, y1, text in entry["gt_boxes"]:
            pad = GT_BOX_PADDING * (y1 - y0)
            lines.append((page[int(y0 - pad):int(y1 + pad) + 1, int(x0 - pad):int(x1 + pad) + 1], text))
        return lines
    return cut


@pytest.fixture(scope="session")
def recognise() -> Callable:
    """recognise(key, source): ocr.recognize with a cache for the whole run, so a page that several test
    modules read end to end is recognised once (key: the page's id or name)."""
    import ocr

    cache: dict[str, ocr.OcrResult] = {}

    def run(key: str, source) -> ocr.OcrResult:
        if key not in cache:
            cache[key] = ocr.recognize(source)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def pages() -> dict:
    """The five synthetic reading-order pages of fixtures/pages.py (seed 0), by name."""
    from fixtures.pages import FontNotFound, render_pages

    try:
        return {page.name: page for page in render_pages(seed=0)}
    except FontNotFound as error:
        pytest.skip(str(error))
