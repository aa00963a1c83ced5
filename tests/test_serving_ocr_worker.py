"""serving/ocr_worker.py: OCR runs in a process of its own at a lower priority, its progress reports and its
errors come back to the caller, and a worker that dies costs only the call it was reading."""
from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from PIL import Image

from ocr.errors import InputError
from serving import ocr_worker


OTHER_WORKERS: set[int] = set()  # worker processes this test process had before (an app's, from other tests)


@pytest.fixture(scope="module")
def worker(worker_processes) -> Iterator[ocr_worker.OcrWorker]:
    OTHER_WORKERS.update(p.pid for p in worker_processes())
    started = ocr_worker.OcrWorker(nice=7)
    started.start()
    yield started
    started.stop()


def test_a_page_is_read_in_the_worker_with_progress(worker, worker_processes, samples_dir: Path, tmp_path: Path):
    reports: list[tuple] = []
    text, overlay, result = worker.call(ocr_worker.read_document, str(samples_dir / "documents" / "two_column.pdf"),
                                        tmp_path, progress=lambda *report: reports.append(report))
    assert "quarterly bulletin" in text and result["pages"]
    assert Image.open(overlay).size[0] > 0 and Path(overlay).parent == tmp_path
    assert reports and reports[-1][0] == reports[-1][1] == len(result["pages"])  # the last page done, in order
    (process,) = worker_processes(OTHER_WORKERS)
    assert process.pid != os.getpid()
    if sys.platform.startswith("linux"):
        assert process.nice() == min(19, psutil.Process().nice() + 7)


def test_an_input_error_comes_back_with_its_message(worker, bad_image, tmp_path: Path):
    with pytest.raises(InputError, match="neither a PDF nor an image"):
        worker.call(ocr_worker.read_document, str(bad_image("text")), tmp_path)


def test_a_worker_that_dies_costs_only_its_call(worker, worker_processes, samples_dir: Path, tmp_path: Path):
    (process,) = worker_processes(OTHER_WORKERS)
    threading.Timer(1.0, process.kill).start()  # while it reads the PDF
    with pytest.raises(ocr_worker.WorkerStopped, match="OCR worker stopped"):
        worker.call(ocr_worker.read_document, str(samples_dir / "documents" / "two_column.pdf"), tmp_path)
    started = time.monotonic()
    text, _, _ = worker.call(ocr_worker.read_document, str(samples_dir / "documents" / "receipt_052.jpg"), tmp_path)
    assert text.strip() and time.monotonic() - started < 120
    assert [p.pid for p in worker_processes(OTHER_WORKERS)] != [process.pid]
