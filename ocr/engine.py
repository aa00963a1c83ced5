"""The PaddleOCR engine: checksum-verified shipped models, loaded once, lazily and thread-safely."""
from __future__ import annotations

import ctypes
import hashlib
import json
import math
import statistics
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from .arenas import ArenaRelease, ShrinkingSession, SplittingSession
from .config import Settings, prepare_offline_environment, settings
from .errors import ModelError
from .layout import Fragment
from .orientation import OrientationClassifier
from .spacing import restore_spaces
from .squeeze import SqueezingRecognizer
from .stacks import is_stack_candidate, stack_pieces
from .tiles import RawLine, Tile, merge_tiles, plan_tiles
from .words import split_words

DETECTION_MODEL = "PP-OCRv6_small_det"
RECOGNITION_MODEL = "PP-OCRv6_small_rec"

# Detector post-processing and the recognition score below which a fragment is dropped, chosen on
# the 30 dev receipts (docs/ocr.md). The wider unclip ratio (PaddleOCR's default is 1.5) gives the
# recogniser a margin around each line, which keeps the spaces between words.
DET_THRESH = 0.2
DET_BOX_THRESH = 0.5
DET_UNCLIP_RATIO = 2.0
REC_SCORE_THRESH = 0.5
# A large image is shrunk to OCR_DET_LIMIT_SIDE for detection. When its detected boxes come out
# lower than MIN_BOX_PX (median, in detector pixels; a box is about 3 text heights with this unclip
# ratio) the text was too small to find reliably, so detection runs again at a size that makes the
# boxes TARGET_BOX_PX high (capped by OCR_DET_MAX_SIDE). Measured on the dev receipts pasted onto
# 5000 x 7000 pages (docs/ocr.md): they give 9-12 px boxes at 1280, the receipts themselves 17-46 px.
MIN_BOX_PX = 14
TARGET_BOX_PX = 24


@lru_cache(maxsize=4)
def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The parsed ocr/models/manifest.json (or the one in model_dir)."""
    path = model_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"The OCR model manifest is missing: {path}.") from None
    except (OSError, ValueError) as error:
        raise ModelError(f"The OCR model manifest {path} cannot be read: {error}.") from None


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def verify_models(model_dir: Path) -> None:
    """Check the size and SHA-256 of every file listed in the manifest; raise ModelError naming
    the first file that is missing or differs."""
    for model in read_manifest(model_dir)["models"]:
        for name, expected in model["files"].items():
            path = model_dir / model["name"] / name
            if not path.is_file():
                raise ModelError(f"OCR model file is missing: {path}.")
            if path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
                raise ModelError(
                    f"OCR model file {path} does not match its checksum in manifest.json "
                    "(damaged or replaced); refusing to load it. Restore the file from the repository."
                )


def model_info(model_dir: Path | None = None) -> dict[str, Any]:
    """Names, versions, sources, licences and SHA-256 of the shipped models, plus engine versions."""
    manifest = read_manifest(model_dir or settings().model_dir)
    return {
        "engine": f"paddleocr {version('paddleocr')}, onnxruntime {version('onnxruntime')}, cpu",
        "models": [
            {
                "name": m["name"],
                "task": m["task"],
                "version": m["version"],
                "licence": m["licence"],
                "sha256": m["files"]["inference.onnx"]["sha256"],
            }
            for m in manifest["models"]
        ],
    }


def keep_large_buffers_out_of_the_heap() -> None:
    """Stop glibc from raising its mmap threshold (128 KiB) after large frees. Otherwise the
    onnxruntime tensors, whose sizes change with every image, soon come from the heap and are not
    given back: RSS grew by ~700 MB over 30 receipts; with the threshold pinned it returns to the
    same level after every request (docs/ocr.md). No-op outside glibc."""
    if not sys.platform.startswith("linux"):
        return
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return
    m_mmap_threshold = -3  # from <malloc.h>
    mallopt(m_mmap_threshold, 128 * 1024)


class Engine:
    """PaddleOCR text detection + recognition on the shipped ONNX models (CPU, onnxruntime)."""

    def __init__(self, config: Settings) -> None:
        verify_models(config.model_dir)
        keep_large_buffers_out_of_the_heap()
        prepare_offline_environment()
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        from paddleocr import PaddleOCR  # after prepare_offline_environment()

        try:
            self._ocr = PaddleOCR(
                text_detection_model_name=DETECTION_MODEL,
                text_detection_model_dir=str(config.model_dir / DETECTION_MODEL),
                text_recognition_model_name=RECOGNITION_MODEL,
                text_recognition_model_dir=str(config.model_dir / RECOGNITION_MODEL),
                text_recognition_batch_size=config.rec_batch,
                text_det_limit_type="max",
                text_det_limit_side_len=config.det_limit_side,
                text_det_thresh=DET_THRESH,
                text_det_box_thresh=DET_BOX_THRESH,
                text_det_unclip_ratio=DET_UNCLIP_RATIO,
                text_rec_score_thresh=REC_SCORE_THRESH,
                use_doc_orientation_classify=False,
                use_doc_unwarping=False,
                use_textline_orientation=False,
                engine="onnxruntime",
                # Memory patterns are planned per input shape, and every image and text-line batch has
                # its own, so they are off; the arenas are on, and given back (ocr/arenas.py).
                engine_config={
                    "intra_op_num_threads": config.threads,
                    "inter_op_num_threads": 1,
                    "enable_cpu_mem_arena": True,
                    "enable_mem_pattern": False,
                },
                device="cpu",
            )
        except Exception as error:  # PaddleX raises plain exceptions for bad model folders
            raise ModelError(f"The OCR models in {config.model_dir} could not be loaded: {error}") from error
        models = self._ocr.paddlex_pipeline._pipeline
        detector = models.text_det_model.runner
        detector.session = ShrinkingSession(detector.session)
        models.text_det_model = _Detector(models.text_det_model, self._detect)
        recognizer = models.text_rec_model
        recognizer.runner.session = SplittingSession(recognizer.runner.session)
        self._release_rec_arena = ArenaRelease([recognizer.runner.session])
        self.line_reader = models.text_rec_model = SqueezingRecognizer(recognizer, config.line_squeeze)
        self.orientation = OrientationClassifier(config.model_dir, config.threads)
        self._limit = config.det_limit_side
        self._max_limit = config.det_max_side
        self._predict_lock = threading.Lock()

    def predict(self, rgb: np.ndarray, before_tile: Callable[[], None] | None = None) -> list[Fragment]:
        """Detect and recognise the text in one RGB uint8 image; fragments with empty text are dropped.

        A very tall or wide image is read in overlapping tiles (ocr/tiles.py); before_tile() is
        called before each tile (the time budget check) and may raise to stop. The recogniser's memory
        arena is given back afterwards (ocr/arenas.py)."""
        height, width = rgb.shape[:2]
        tiles = plan_tiles(width, height, self._limit)
        found: list[list[RawLine]] = []
        try:
            for tile in tiles:
                if before_tile is not None:
                    before_tile()
                found.append(self._read_tile(rgb, tile))
        finally:
            with self._predict_lock:
                self._release_rec_arena()
        return [_fragment(rgb, line, cut=len(tiles) > 1) for line in merge_tiles(found, tiles)]

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float, tuple]]:
        """(text, score, PaddleX word info) of each RGB text-line crop, read as it is."""
        if not crops:
            return []
        bgr = [np.ascontiguousarray(crop[:, :, ::-1]) for crop in crops]
        with self._predict_lock:
            results = self.line_reader(bgr, return_word_box=True)
            self._release_rec_arena()
        return [(r["rec_text"][0], float(r["rec_score"]), r["rec_text"][1]) for r in results]

    def _read_tile(self, rgb: np.ndarray, tile: Tile) -> list[RawLine]:
        """The lines (or parts of lines) a tile is responsible for, in page pixels."""
        view = rgb[tile.y0:tile.y1, tile.x0:tile.x1]  # no copy
        kept = (tile.keep(line) for line in self._read(view))
        return [tile.to_page(line) for line in kept if line is not None]

    def _read(self, rgb: np.ndarray) -> list[RawLine]:
        """PaddleOCR on one image (detected again at a larger size if its text came out too small)."""
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with self._predict_lock:
            (result,) = self._ocr.predict(bgr, return_word_box=True)
        del bgr
        lines = zip(
            result["rec_texts"], result["rec_scores"], result["rec_polys"], result["text_word"], result["text_word_region"]
        )
        read = [_raw_line(text, score, poly, runs, run_boxes) for text, score, poly, runs, run_boxes in lines]
        read = self._unstack(rgb, result["dt_polys"], read)
        return [line for line in read if line.text.strip()]

    def _unstack(self, rgb: np.ndarray, polys: list[np.ndarray], read: list[RawLine]) -> list[RawLine]:
        """Tall boxes that are columns of stacked table cells (ocr/stacks.py) replaced by their
        pieces read upright, where every piece reads above REC_SCORE_THRESH and the pieces read
        more confidently on average than the box (or the box was dropped for a low score)."""
        from paddlex.inference.pipelines.components import cal_ocr_word_box

        stacks = [(poly, pieces) for poly in polys if is_stack_candidate(poly) for pieces in [stack_pieces(rgb, poly)] if pieces]
        if not stacks:
            return read
        results = iter(self.recognise([crop for _, pieces in stacks for crop, _ in pieces]))
        for poly, pieces in stacks:
            texts = [next(results) for _ in pieces]
            scores = [score for _, score, _ in texts]
            whole = next((k for k, line in enumerate(read) if np.array_equal(line.box, poly)), None)
            if min(scores) < REC_SCORE_THRESH or (whole is not None and sum(scores) / len(scores) <= read[whole].score):
                continue
            split = [_raw_line(text, score, box, *cal_ocr_word_box(text, box, info))
                     for (_, box), (text, score, info) in zip(pieces, texts)]
            if whole is None:
                read.extend(split)
            else:
                read[whole:whole + 1] = split
        return read

    def _detect(self, detector: Any, images: list[np.ndarray], params: dict[str, Any]) -> list[Any]:
        """The pipeline's text detection of one image, run again at a larger size (before anything
        is recognised) when the text came out too small."""
        (image,) = images
        (result,) = detector(images, **params)
        limit = self._second_limit(result["dt_polys"], max(image.shape[:2]))
        if limit is None:
            return [result]
        self._release_rec_arena()  # before the larger detection needs its memory
        return list(detector(images, **{**params, "limit_side_len": limit}))

    def _second_limit(self, polys: list[np.ndarray], long_side: int) -> int | None:
        """A larger detection size when the image was shrunk so much that its text got too small
        (or vanished); None when the first pass is good enough."""
        if long_side <= self._limit:
            return None  # the detector saw the image at full resolution
        scale = self._limit / long_side
        heights = [_box_height(poly) for poly in polys]
        if heights and statistics.median(heights) * scale >= MIN_BOX_PX:
            return None
        wanted = long_side * TARGET_BOX_PX / statistics.median(heights) if heights else long_side
        limit = min(self._max_limit, long_side, math.ceil(wanted))
        return limit if limit > self._limit * 1.2 else None


class _Detector:
    """Stands in for the PaddleX pipeline's text detector (called with a list of images and the
    detection parameters) and hands each call to `detect` with the real detector."""

    def __init__(self, detector: Any, detect: Callable[[Any, list[np.ndarray], dict[str, Any]], list[Any]]) -> None:
        self._detector = detector
        self._detect = detect

    def __call__(self, images: list[np.ndarray], **params: Any) -> list[Any]:
        return self._detect(self._detector, images, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._detector, name)


def _raw_line(text: str, score: float, poly: Any, runs: Any, run_boxes: Any) -> RawLine:
    return RawLine(text=text, score=float(score), box=np.asarray(poly, dtype=np.float64), runs=tuple(runs),
                   run_boxes=tuple(np.asarray(box, dtype=np.float64) for box in run_boxes))


def _fragment(rgb: np.ndarray, line: RawLine, cut: bool) -> Fragment:
    """A recognised line with the spaces the page shows put back; lines of a tiled image may have
    been cut at a tile edge and end in a space run, which is stripped."""
    text = restore_spaces(rgb, line.text, line.runs, line.run_boxes, line.box)
    text = text.strip() if cut else text
    box = tuple((float(x), float(y)) for x, y in line.box)
    words = split_words(text, line.score, line.runs, line.run_boxes, line.box)
    return Fragment(text=text, score=line.score, box=box, words=words)


def _box_height(poly: np.ndarray) -> float:
    """Height of a detected text quadrilateral (points clockwise from top-left)."""
    p = np.asarray(poly, dtype=np.float64)
    return float((np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])) / 2)


_engine: Engine | None = None
_engine_lock = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine, created on first use (concurrent first calls create it once)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = Engine(settings())
    return _engine
