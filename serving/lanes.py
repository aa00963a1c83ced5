"""A background lane for long calls: they run on their own thread at a lower CPU priority (a higher nice
value), so on a small machine a page being read never starves the quick digit calls or the web server.

Linux applies nice values per thread (setpriority on the thread id); with OCR_THREADS=1 onnxruntime runs on
the calling thread, so the whole OCR call runs at that priority. Elsewhere the lane is only a thread.
Gradio's context (progress bars) travels with each call (contextvars).
"""
from __future__ import annotations

import concurrent.futures
import contextvars
import functools
import os
import sys
import threading
from collections.abc import Callable
from typing import Any


def _lower_priority(nice: int) -> None:
    if sys.platform.startswith("linux") and nice > 0:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass  # not permitted: the lane still runs, at normal priority


class Lane:
    """`workers` threads at nice `nice`; wrap(fn) gives a function that runs fn there and waits for it."""

    def __init__(self, name: str, nice: int, workers: int = 1) -> None:
        self.nice = nice
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=name, initializer=_lower_priority, initargs=(nice,))

    def wrap(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def in_lane(*args: Any, **kwargs: Any) -> Any:
            context = contextvars.copy_context()
            return self._pool.submit(context.run, fn, *args, **kwargs).result()
        return in_lane


def run_in_lane(demo: Any, concurrency_id: str, lane: Lane) -> None:
    """Move every event of the Blocks with that concurrency_id onto the lane (before launch)."""
    for block_fn in demo.fns.values():
        if block_fn.concurrency_id == concurrency_id and block_fn.fn is not None:
            block_fn.fn = lane.wrap(block_fn.fn)
