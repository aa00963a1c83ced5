"""Errors raised by the ocr package; messages are meant to be shown to a person."""


class OcrError(Exception):
    """Base class for every error the ocr package raises on purpose."""


class InputError(OcrError):
    """The file or image given to recognize() cannot be used."""


class TimeBudgetError(InputError):
    """Reading the input took longer than OCR_TIME_BUDGET; the message says how far it got."""


class ModelError(OcrError):
    """The shipped model files are missing, damaged or cannot be loaded."""
