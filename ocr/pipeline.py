"""recognize(): input pages -> engine -> reading order -> OcrResult."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .config import settings
from .engine import get_engine, model_info
from .inputs import Source, open_document
from .layout import analyze
from .result import PAGE_SEPARATOR, OcrPage, OcrResult

Progress = Callable[[int, int], None]


def recognize(source: Source, *, progress: Progress | None = None) -> OcrResult:
    """OCR an image or every page of a PDF. progress(done_pages, total_pages) is called per page.

    source: a path, bytes, a PIL image or a numpy array (RGB). Raises InputError for unusable input
    and ModelError when the shipped models are damaged."""
    config = settings()
    started = time.perf_counter()
    timings = {"decode": 0.0, "ocr": 0.0, "layout": 0.0}
    document = open_document(source, config)
    timings["decode"] += time.perf_counter() - started
    engine = get_engine()
    pages: list[OcrPage] = []
    while True:
        tick = time.perf_counter()
        image = next(document.pages, None)
        timings["decode"] += time.perf_counter() - tick
        if image is None:
            break
        tick = time.perf_counter()
        fragments = engine.predict(image)
        timings["ocr"] += time.perf_counter() - tick
        tick = time.perf_counter()
        height, width = image.shape[:2]
        layout = analyze(fragments, width, height)
        pages.append(OcrPage(len(pages), width, height, layout.lines, layout.blocks, layout.text, image))
        timings["layout"] += time.perf_counter() - tick
        if progress is not None:
            progress(len(pages), document.page_count)
    timings["total"] = time.perf_counter() - started
    return OcrResult(
        pages=pages,
        text=PAGE_SEPARATOR.join(page.text for page in pages),
        width=pages[0].width,
        height=pages[0].height,
        model=model_info(config.model_dir),
        timings=timings,
    )


def warm_up() -> None:
    """Load the engine and run it once on a small image so the first request is not slow."""
    get_engine().predict(np.full((64, 256, 3), 255, dtype=np.uint8))
