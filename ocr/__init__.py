"""Document OCR: PaddleOCR 3.x on onnxruntime with the PP-OCRv6 small models shipped in ocr/models.

    result = ocr.recognize("scan.png")   # or bytes, a PIL image, a numpy array, a PDF, a TIFF
    result.text, result.to_json(), result.overlay(0)
"""
from .config import prepare_offline_environment

prepare_offline_environment()  # before anything imports onnxruntime or paddlex

from .engine import model_info  # noqa: E402
from .errors import InputError, ModelError, OcrError, TimeBudgetError  # noqa: E402
from .pipeline import recognize, warm_up  # noqa: E402
from .result import OcrPage, OcrResult  # noqa: E402

__all__ = [
    "InputError",
    "ModelError",
    "OcrError",
    "OcrPage",
    "OcrResult",
    "TimeBudgetError",
    "model_info",
    "recognize",
    "warm_up",
]
