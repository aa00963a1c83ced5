"""OCR in a process of its own, at a lower CPU priority, so a page being read never slows the digit calls.

In the app's process OCR's Python code (PaddleX's pre- and post-processing, the layout analysis) would
compete for the interpreter lock with Gradio's event loop and the digit calls (with 8 drawers and 4 OCR
clients: README, "Mixed load"). The worker process loads the OCR models once and reads one call at a time;
the app's process never imports them. Progress reports come back to the caller's
thread as they happen. A worker that dies (out of memory, a crash in a native library) costs only the call
it was reading: the next call starts a fresh one.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from pathlib import Path
from typing import Any

import ocr
from ocr.errors import OcrError
from ocr.export.batch import Batch, export_batch

DONE = "done"  # the last message of every call, after its progress reports
LATE_MESSAGE_S = 5.0  # how long a finished call waits for its last message (the queue's feeder thread)

_events: Any = None  # in the worker: the queue its progress reports go to


class WorkerStopped(OcrError):
    """The worker process ended while reading a call (out of memory, a crash in a native library)."""


def read_document(path: str, folder: Path, progress: Callable[[int, int], None]) -> tuple[str, str, dict]:
    """(In the worker.) Text, overlay of page 1 (a JPEG written under folder: encoding it here keeps that
    work off the app's process too) and JSON result of one image or PDF."""
    result = ocr.recognize(path, progress=progress)
    overlay = Path(folder) / "overlay-page-1.jpg"
    result.overlay(0).save(overlay, quality=90)
    return result.text, str(overlay), result.to_json()


def export_documents(inputs: Sequence[tuple[str, str]], formats: Sequence[str], folder: Path,
                     progress: Callable[[int, int, str, int, int], None]) -> Batch:
    """(In the worker.) ocr.export.batch.export_batch."""
    return export_batch(inputs, formats, folder, progress=progress)


def warm_up(progress: Callable[..., None]) -> None:
    """(In the worker.) Load the models before the first call."""
    ocr.warm_up()


def _start_worker(events: Any, nice: int, parent: int) -> None:
    """Pool initializer: `nice` steps lower priority than the app (Windows: below normal), leave Ctrl+C to the
    app, exit when the app is gone."""
    global _events
    _events = events
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:
        try:
            if os.name == "nt":
                import psutil
                psutil.Process().nice(psutil.BELOW_NORMAL_PRIORITY_CLASS)
            else:
                os.nice(nice)  # relative to the app's own priority
        except (OSError, ImportError):
            pass  # not permitted: the worker still runs, at the app's priority

    def watch_parent() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent:  # the app was killed: nobody will ask for results
                os._exit(0)

    threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()


def _run(call_id: int, fn: Callable, args: tuple) -> Any:
    """(In the worker.) fn(*args, progress) with each progress report sent to the app, then DONE."""
    def progress(*report: Any) -> None:
        _events.put((call_id, report))

    try:
        return fn(*args, progress)
    finally:
        _events.put((call_id, DONE))


class OcrWorker:
    """One worker process, started on the first call (or by start()); call() runs one function at a time."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self._context = multiprocessing.get_context("spawn")  # the same on Linux, macOS and Windows
        self._events: Any = None  # the running worker's progress queue, made with it
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def start(self) -> None:
        """Start the worker and load its models now, not on the first request."""
        self.call(warm_up)

    def call(self, fn: Callable, *args: Any, progress: Callable[..., None] | None = None) -> Any:
        """fn(*args, progress) in the worker (fn: a module-level function of this module); its progress
        reports go to `progress` here. Raises what fn raised, or WorkerStopped when the worker died."""
        with self._lock:
            if self._pool is None:
                self._events = self._context.Queue()
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=self._context, initializer=_start_worker,
                    initargs=(self._events, self.nice, os.getpid()))
            call_id = next(self._ids)
            future = self._pool.submit(_run, call_id, fn, args)
            self._relay(call_id, future, progress)
            try:
                return future.result()
            except BrokenProcessPool:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                raise WorkerStopped("The OCR worker stopped while reading this file (out of memory, or a crash in "
                               "a library); it restarts for the next file.") from None

    def _relay(self, call_id: int, future: Future, progress: Callable[..., None] | None) -> None:
        """Pass this call's progress reports on until its DONE arrives (or the worker is gone)."""
        finished_at = None
        while True:
            try:
                got_id, report = self._events.get(timeout=0.05)
            except queue.Empty:
                if future.done():
                    if isinstance(future.exception(), BrokenProcessPool):
                        return  # the worker died: its DONE never comes
                    finished_at = finished_at or time.monotonic()
                    if time.monotonic() - finished_at > LATE_MESSAGE_S:
                        return
                continue
            if got_id != call_id:
                continue  # a report of an earlier call whose worker died
            if report == DONE:
                return
            if progress is not None:
                progress(*report)

    def stop(self) -> None:
        """Stop the worker (it finishes the call it is reading)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
