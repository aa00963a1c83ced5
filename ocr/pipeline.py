"""recognize(): input pages -> engine -> reading order -> OcrResult."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .config import settings
from .engine import Engine, get_engine, model_info
from .errors import InputError, TimeBudgetError
from .figures import find_figures
from .inputs import Source, open_document
from .layout import Fragment, analyze
from .orientation import MIN_CONFIDENCE, Orientation, confirms, mean_score, stands_on_end, turn_back
from .regions import find_regions
from .result import PAGE_SEPARATOR, OcrPage, OcrResult, overlay_picture
from .textlines import turn_upside_down_lines

Progress = Callable[[int, int], None]


@dataclass
class Deadline:
    """OCR_TIME_BUDGET for one recognize() call (decoding and reading; not loading the models),
    checked between pages and between tiles."""

    budget: int
    started: float
    page_count: int
    pages_done: int = 0

    def check(self) -> None:
        """Raise TimeBudgetError once the budget is spent and pages are left, saying how far the
        call got."""
        if self.pages_done >= self.page_count or time.perf_counter() - self.started <= self.budget:
            return
        limit = f"took longer than the {self.budget} s limit per request (OCR_TIME_BUDGET)"
        if self.page_count > 1:
            raise TimeBudgetError(
                f"Reading this file {limit} after {self.pages_done} of {self.page_count} pages; "
                "split it into smaller files."
            )
        raise TimeBudgetError(f"Reading this image {limit}; split it into smaller images.")


def recognize(source: Source, *, progress: Progress | None = None) -> OcrResult:
    """OCR an image or every page of a PDF or TIFF. progress(done_pages, total_pages) is called per page.

    source: a path, bytes, a PIL image or a numpy array (RGB). Pages are decoded, read and released
    one at a time. Raises InputError for unusable input, TimeBudgetError (an InputError) past
    OCR_TIME_BUDGET, and ModelError when the shipped models are damaged."""
    config = settings()
    started = time.perf_counter()
    timings = {"decode": 0.0, "orientation": 0.0, "ocr": 0.0, "layout": 0.0}
    document = open_document(source, config)
    timings["decode"] += time.perf_counter() - started
    loading = time.perf_counter()
    engine = get_engine()  # loading the models (first call only) does not count against the budget
    deadline = Deadline(config.time_budget, started + time.perf_counter() - loading, document.page_count)
    pages: list[OcrPage] = []
    while True:
        deadline.check()
        tick = time.perf_counter()
        image = next(document.pages, None)
        timings["decode"] += time.perf_counter() - tick
        if image is None:
            break
        pages.append(_read_page(engine, image, len(pages), deadline, timings))
        del image  # before the next page is decoded: one page in memory at a time
        deadline.pages_done = len(pages)
        if progress is not None:
            progress(len(pages), document.page_count)
    if not pages:  # a page count of 0 is refused by the readers; this is a safety net
        raise InputError("The file has no pages.")
    timings["total"] = time.perf_counter() - started
    return OcrResult(
        pages=pages,
        text=PAGE_SEPARATOR.join(page.text for page in pages),
        width=pages[0].width,
        height=pages[0].height,
        model=model_info(config.model_dir),
        timings=timings,
    )


def _read_page(engine: Engine, image: np.ndarray, index: int, deadline: Deadline, timings: dict[str, float]) -> OcrPage:
    """OCR and lay out one page; keeps only the overlay picture of the image."""
    tick = time.perf_counter()
    image, fragments, orientation = _read_oriented(engine, image, deadline, timings)
    timings["ocr"] += time.perf_counter() - tick
    if settings().textline_orientation:
        tick = time.perf_counter()
        fragments = turn_upside_down_lines(image, fragments, engine.recognise)
        timings["orientation"] += time.perf_counter() - tick
    tick = time.perf_counter()
    height, width = image.shape[:2]
    layout = analyze(fragments, width, height)
    orientation = replace(orientation, upside_down_lines=sum(line.upside_down for line in layout.lines))
    regions = find_regions(layout.lines, layout.blocks, height, find_figures(image, layout.lines))
    page = OcrPage(index, width, height, layout.lines, layout.blocks, layout.text, overlay_picture(image),
                   orientation=orientation, regions=regions)
    timings["layout"] += time.perf_counter() - tick
    return page


def _read_oriented(
    engine: Engine, image: np.ndarray, deadline: Deadline, timings: dict[str, float]
) -> tuple[np.ndarray, list[Fragment], Orientation]:
    """Read the page turned back when the classifier is confident it was turned and the text lines
    agree (ocr/orientation.py); otherwise as it came. Returns the image that was read."""
    if not settings().orientation:
        return image, engine.predict(image, before_tile=deadline.check), Orientation()
    tick = time.perf_counter()
    angle, confidence = engine.orientation.classify(image)
    timings["orientation"] += time.perf_counter() - tick
    if angle == 0 or confidence < MIN_CONFIDENCE:
        as_it_came = engine.predict(image, before_tile=deadline.check)
        if angle in (90, 270) and stands_on_end(as_it_came):
            return _read_sideways(engine, image, as_it_came, confidence, angle, deadline)
        return image, as_it_came, Orientation(0, confidence, angle)
    turned = turn_back(image, angle)
    fragments = engine.predict(turned, before_tile=deadline.check)
    as_it_came = engine.predict(image, before_tile=deadline.check) if angle == 180 else None
    if confirms(angle, fragments, as_it_came):
        return turned, fragments, Orientation(angle, confidence, angle)
    if as_it_came is None:
        as_it_came = engine.predict(image, before_tile=deadline.check)
    return image, as_it_came, Orientation(0, confidence, angle)


def _read_sideways(
    engine: Engine, image: np.ndarray, as_it_came: list[Fragment], confidence: float, classified: int,
    deadline: Deadline,
) -> tuple[np.ndarray, list[Fragment], Orientation]:
    """A page the classifier thought sideways without being sure of it, whose lines stand on end as it
    came: read turned back by 90 and by 270 and keep the reading whose lines lie flat with the higher
    recognition score (an upside-down reading scores clearly lower); as it came if neither lies flat."""
    flat = []
    for angle in (90, 270):
        turned = turn_back(image, angle)
        fragments = engine.predict(turned, before_tile=deadline.check)
        if confirms(angle, fragments, None):
            flat.append((mean_score(fragments), angle, turned, fragments))
    if not flat:
        return image, as_it_came, Orientation(0, confidence, classified)
    _, angle, turned, fragments = max(flat, key=lambda reading: reading[0])
    return turned, fragments, Orientation(angle, confidence, classified)


def warm_up() -> None:
    """Load the engine and run it once on a small image so the first request is not slow."""
    get_engine().predict(np.full((64, 256, 3), 255, dtype=np.uint8))
