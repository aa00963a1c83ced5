"""OCR settings: every OCR_* environment variable and its default, read in this one place."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import OcrError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent

# name -> (default, meaning); docs/ocr.md lists the same table.
DEFAULTS: dict[str, tuple[str, str]] = {
    "OCR_MODEL_DIR": (str(PACKAGE_DIR / "models"), "folder with manifest.json and the two model folders"),
    "OCR_CACHE_DIR": (str(REPO_DIR / ".cache" / "paddlex"), "writable cache folder for PaddleX (PADDLE_PDX_CACHE_HOME)"),
    "OCR_THREADS": (str(os.cpu_count() or 1), "onnxruntime intra-op threads per model (default: all cores; the app's OCR worker runs at the lowest CPU priority, so the digit calls still come first)"),
    "OCR_DET_LIMIT_SIDE": ("1280", "longest side (pixels) an image is scaled down to before text detection"),
    "OCR_DET_MAX_SIDE": ("2048", "largest detection size used when text on a big image is small"),
    "OCR_REC_BATCH": ("4", "text lines recognised per onnxruntime call"),
    "OCR_LINE_SQUEEZE": ("0.75", "share of their width long printed lines are read at (ocr/squeeze.py); 1: every line at its own width"),
    "OCR_MAX_PIXELS": ("60000000", "largest image (width x height) accepted, checked before decoding"),
    "OCR_MAX_PDF_PAGES": ("20", "most pages accepted per file (PDF pages, or the pages of a multi-page TIFF)"),
    "OCR_PDF_DPI": ("200", "resolution PDF pages are rendered at"),
    "OCR_PDF_MAX_PIXELS": ("16000000", "largest rendering of one PDF page (width x height); bigger pages are rendered at a lower resolution"),
    "OCR_ORIENTATION": ("1", "1: read pages turned by 90/180/270 degrees turned back (ocr/orientation.py); 0: read every page as it comes"),
    "OCR_TEXTLINE_ORIENTATION": ("1", "1: lines printed upside down on an upright page are read turned back (ocr/textlines.py); 0: as they come"),
    "OCR_TIME_BUDGET": ("120", "seconds one recognize() call may take; checked between pages and between tiles"),
}


def _env_path(name: str) -> Path:
    return Path(os.environ.get(name, DEFAULTS[name][0]))


def _env_int(name: str, minimum: int = 1) -> int:
    raw = os.environ.get(name, DEFAULTS[name][0])
    try:
        value = int(raw)
    except ValueError:
        raise OcrError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < minimum:
        raise OcrError(f"{name} must be at least {minimum}, got {value}.")
    return value


def _env_fraction(name: str, minimum: float) -> float:
    raw = os.environ.get(name, DEFAULTS[name][0])
    try:
        value = float(raw)
    except ValueError:
        raise OcrError(f"{name} must be a number, got {raw!r}.") from None
    if not minimum <= value <= 1:
        raise OcrError(f"{name} must be between {minimum} and 1, got {value}.")
    return value


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, DEFAULTS[name][0]).strip()
    if raw not in ("0", "1"):
        raise OcrError(f"{name} must be 0 or 1, got {raw!r}.")
    return raw == "1"


@dataclass(frozen=True)
class Settings:
    """Resolved OCR settings (see DEFAULTS for meanings)."""

    model_dir: Path
    cache_dir: Path
    threads: int
    det_limit_side: int
    det_max_side: int
    rec_batch: int
    line_squeeze: float
    max_pixels: int
    max_pdf_pages: int
    pdf_dpi: int
    pdf_max_pixels: int
    time_budget: int
    orientation: bool = True
    textline_orientation: bool = True


def settings() -> Settings:
    """Read the OCR_* environment variables, falling back to DEFAULTS."""
    return Settings(
        model_dir=_env_path("OCR_MODEL_DIR"),
        cache_dir=_env_path("OCR_CACHE_DIR"),
        threads=_env_int("OCR_THREADS"),
        det_limit_side=_env_int("OCR_DET_LIMIT_SIDE", 32),
        det_max_side=_env_int("OCR_DET_MAX_SIDE", 32),
        rec_batch=_env_int("OCR_REC_BATCH"),
        line_squeeze=_env_fraction("OCR_LINE_SQUEEZE", 0.5),
        max_pixels=_env_int("OCR_MAX_PIXELS"),
        max_pdf_pages=_env_int("OCR_MAX_PDF_PAGES"),
        pdf_dpi=_env_int("OCR_PDF_DPI", 36),
        pdf_max_pixels=_env_int("OCR_PDF_MAX_PIXELS"),
        time_budget=_env_int("OCR_TIME_BUDGET"),
        orientation=_env_flag("OCR_ORIENTATION"),
        textline_orientation=_env_flag("OCR_TEXTLINE_ORIENTATION"),
    )


def prepare_offline_environment() -> None:
    """Set the variables that keep onnxruntime and PaddleX offline; must run before
    either is imported. Values already set by the operator win."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
    os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(_env_path("OCR_CACHE_DIR")))
