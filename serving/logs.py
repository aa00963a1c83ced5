"""The app's logs: requests.log holds one JSON object per line and nothing else; errors.log the tracebacks."""
from __future__ import annotations

import functools
import json
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

request_log = logging.getLogger("ocr_studio.requests")
error_log = logging.getLogger("ocr_studio.errors")


def _add_handlers(logger: logging.Logger, path: Path) -> None:
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    for handler in (logging.StreamHandler(sys.stderr), file_handler):
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def setup_logs(log_dir: Path) -> None:
    """requests.log (JSON lines) and errors.log (tracebacks) under log_dir, rotated at 5 MB x 5, both also
    to stderr. Calling it again changes nothing."""
    if request_log.handlers:
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    _add_handlers(request_log, log_dir / "requests.log")
    _add_handlers(error_log, log_dir / "errors.log")


def close_logs() -> None:
    """Detach and close both logs' handlers (so setup_logs can point them elsewhere)."""
    for logger in (request_log, error_log):
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
            handler.close()


def log_request(endpoint: str, size: int | None, started: float, outcome: str) -> None:
    """One line: time, endpoint, input size, latency since `started` (perf_counter) and outcome."""
    request_log.info(json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "endpoint": endpoint, "input_bytes_or_pixels": size,
        "latency_s": round(time.perf_counter() - started, 3), "outcome": outcome,
    }))


def input_size(value: Any) -> int | None:
    """Bytes of an uploaded file (a path or Gradio's file payload); for a sketch, of its largest part."""
    if isinstance(value, dict) and "path" in value:
        value = value["path"]
    if isinstance(value, (str, Path)) and os.path.isfile(value):
        return os.path.getsize(value)
    if isinstance(value, dict):
        parts = [value.get("background"), value.get("composite"), *(value.get("layers") or [])]
        return max((size for size in map(input_size, parts) if size is not None), default=None)
    return None


def logged(endpoint: str, input_errors: tuple[type[Exception], ...],
           shown_errors: tuple[type[Exception], ...] = ()) -> Callable:
    """Log endpoint, input size, latency and outcome of every call; input_errors become gr.Error with their
    message; shown_errors (the server's own failures, explained for the person) too, with their traceback in
    errors.log; anything else a generic gr.Error with its traceback in errors.log."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "ok"
            try:
                return fn(value, *args, **kwargs)
            except gr.Error:
                outcome = "rejected"
                raise
            except input_errors as exc:
                outcome = "rejected"
                raise gr.Error(str(exc)) from exc
            except Exception as exc:
                outcome = f"error: {type(exc).__name__}"
                error_log.exception("unexpected error in %s", endpoint)
                if isinstance(exc, shown_errors):
                    raise gr.Error(str(exc)) from exc
                raise gr.Error("Something went wrong on the server while processing this input. "
                               "The error was logged; please try another file.") from exc
            finally:
                log_request(endpoint, input_size(value), started, outcome)

        return wrapper

    return decorate
