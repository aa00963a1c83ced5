"""Errors raised by the digit reader, with messages meant for the person using it."""
from __future__ import annotations


class DigitsError(Exception):
    """Base class of the digit reader's errors."""


class InputError(DigitsError, ValueError):
    """The input is not an image the reader can use."""


class EmptyCanvasError(InputError):
    """The image holds no ink: nothing was drawn."""

    def __init__(self, message: str = "Draw a digit first: the canvas is empty.") -> None:
        super().__init__(message)
