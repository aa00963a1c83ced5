"""onnxruntime's memory arenas: on for speed, given back for memory.

With the CPU arena on, the tensors of a run are carved out of memory the arena already holds; with
it off, every allocation maps fresh pages and faults them in, which made detection ~35 % slower per
receipt. But an arena only grows: the detector's to the activations of its largest page, the
recogniser's to its widest batch of lines, and the process kept ~300 MB more after a few table
pages. onnxruntime's arena-shrinkage run option hands a session's unused chunks back at the end of
a run. The detector runs once or twice per page, so every detector run shrinks
(ShrinkingSession): its page-sized arena is gone before the lines are recognised. The recogniser
runs once per batch of lines, so it keeps its arena for the page and gives it back after it, with
one tiny run (ArenaRelease). And a batch of four very wide lines (the rows of a landscape table,
~5000 pixels each at height 48) took 609 MB of activations at once, one such line 143 MB, so a
batch wider than REC_MAX_BATCH_WIDTH in all is read one line at a time (SplittingSession).
docs/ocr.md, "Speed and memory", has the measurements."""
from __future__ import annotations

from typing import Any

import numpy as np

SHRINK_ENTRY = "memory.enable_memory_arena_shrinkage"
REC_MAX_BATCH_WIDTH = 8000  # pixels: the widths of a recognition batch's lines (all padded alike) added up


def shrink_options() -> Any:
    """onnxruntime RunOptions that shrink the CPU arena after the run."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry(SHRINK_ENTRY, "cpu:0")
    return options


class ShrinkingSession:
    """An onnxruntime InferenceSession whose every run gives its arena's unused chunks back; in
    everything else the session itself (it stands in for PaddleX's runner.session)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._options = shrink_options()

    def run(self, output_names: Any, feeds: dict[str, np.ndarray], run_options: Any = None) -> Any:
        return self._session.run(output_names, feeds, run_options or self._options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class SplittingSession:
    """An onnxruntime InferenceSession of one image input whose batches wider than max_width in all
    run one image at a time, outputs joined along the batch axis: the same results, as the images
    of a batch do not affect each other, with the activations of one image at a time."""

    def __init__(self, session: Any, max_width: int = REC_MAX_BATCH_WIDTH) -> None:
        self._session = session
        self._max_width = max_width

    def run(self, output_names: Any, feeds: dict[str, np.ndarray], run_options: Any = None) -> Any:
        ((name, batch),) = feeds.items()
        if len(batch) == 1 or len(batch) * batch.shape[-1] <= self._max_width:
            return self._session.run(output_names, feeds, run_options)
        parts = [self._session.run(output_names, {name: batch[k:k + 1]}, run_options) for k in range(len(batch))]
        return [np.concatenate(outputs, axis=0) for outputs in zip(*parts)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class ArenaRelease:
    """Gives the CPU arenas of some onnxruntime sessions back to the system, one tiny run each."""

    def __init__(self, sessions: list[Any]) -> None:
        self._options = shrink_options()
        self._runs = [(session, {meta.name: _tiny_input(meta.shape) for meta in session.get_inputs()})
                      for session in sessions]

    def __call__(self) -> None:
        """Run each session once on its tiny input, shrinking its arena afterwards. Not thread-safe
        with other runs of the same sessions: call it under the lock that guards them."""
        for session, feeds in self._runs:
            session.run(None, feeds, self._options)


def _tiny_input(shape: list[Any]) -> np.ndarray:
    """A small float32 image batch for an input of this shape (dynamic sizes: batch 1, 32 pixels)."""
    sizes = [dim if isinstance(dim, int) else 32 for dim in shape]
    sizes[0] = 1
    return np.zeros(sizes, dtype=np.float32)
