"""Shared fixtures: where the real data lives, free ports and the app started as its own process."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy import server

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return SHARED_DATA / "mnist"


@pytest.fixture(scope="session")
def ocr_dev_dir() -> Path:
    return SHARED_DATA / "ocr-dev"


@pytest.fixture(scope="session")
def ocr_dev_manifest(ocr_dev_dir: Path) -> dict[str, dict]:
    """The dev receipts' ground truth, by id."""
    lines = (ocr_dev_dir / "manifest.jsonl").read_text().splitlines()
    return {entry["id"]: entry for entry in map(json.loads, lines)}


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
def serve_app() -> Callable:
    """`with serve_app(work, **env) as app:` runs `python app.py` from the checkout on a free port with its
    logs and uploads under work (plus the given environment), until healthy; app.url, app.pid, app.port. The
    one helper (deploy.server.serving) that the tests, bench/ and the deploy tools share."""
    def start(work: Path, **settings: str):
        env = {"OCR_STUDIO_LOG_DIR": str(work / "logs"), "GRADIO_TEMP_DIR": str(work / "uploads"), **settings}
        return server.serving(REPO, work / "app.log", env=env)
    return start


@pytest.fixture(scope="session")
def pages_dev_dir() -> Path:
    return SHARED_DATA / "pages-dev"


@pytest.fixture(scope="session")
def pages_dev_manifest(pages_dev_dir: Path) -> dict[str, dict]:
    """The real document pages' ground truth (reading order, line boxes, doc_type), by id."""
    lines = (pages_dev_dir / "manifest.jsonl").read_text().splitlines()
    return {entry["id"]: entry for entry in map(json.loads, lines)}
