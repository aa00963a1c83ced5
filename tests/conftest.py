"""Shared fixtures: where the real data lives."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def pages_dev_dir() -> Path:
    return SHARED_DATA / "pages-dev"


@pytest.fixture(scope="session")
def pages_dev_manifest(pages_dev_dir: Path) -> dict[str, dict]:
    """The real document pages' ground truth (reading order, line boxes, doc_type), by id."""
    lines = (pages_dev_dir / "manifest.jsonl").read_text().splitlines()
    return {entry["id"]: entry for entry in map(json.loads, lines)}
