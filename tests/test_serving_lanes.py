"""serving/lanes.py: a call wrapped for the lane runs on the lane's thread, at its nice value (Linux), with the
caller's context, and its result or exception comes back to the caller."""
from __future__ import annotations

import contextvars
import os
import sys
import threading

import pytest

from serving.lanes import Lane

caller = contextvars.ContextVar("caller", default=None)


def thread_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_a_call_runs_on_the_lane_with_the_callers_context():
    lane = Lane("test", nice=7)
    caller.set("request 1")

    @lane.wrap
    def where(x: int) -> tuple:
        return x * 2, threading.current_thread().name, caller.get(), thread_nice()

    doubled, name, seen, nice = where(21)
    assert doubled == 42 and name.startswith("test") and name != threading.current_thread().name
    assert seen == "request 1"
    if sys.platform.startswith("linux"):
        before = thread_nice()
        assert nice >= 7  # setpriority sets the lane thread's nice value itself
        assert thread_nice() == before  # the caller's own priority is untouched


def test_errors_come_back_to_the_caller():
    @Lane("test-errors", nice=0).wrap
    def fail() -> None:
        raise ValueError("bad page")

    with pytest.raises(ValueError, match="bad page"):
        fail()
