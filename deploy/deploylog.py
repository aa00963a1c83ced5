"""The deployment log: JSON lines, one per verify step (with its duration) and one final outcome line."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class DeployLog:
    """Appends the steps of one verify run, all carrying the same run id and package name."""

    def __init__(self, path: Path, package: str) -> None:
        self.path = path
        self.package = package
        self.run = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.started = time.monotonic()

    def write(self, step: str, ok: bool, duration_s: float, **detail: object) -> dict:
        """Append one line and return it."""
        line = {"time": _now(), "run": self.run, "package": self.package, "step": step, "ok": ok,
                "duration_s": round(duration_s, 3), **detail}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
        return line

    @contextmanager
    def step(self, name: str) -> Iterator[dict]:
        """Time a step; the caller may add details to the yielded dict. A raised exception marks it failed
        (its message becomes "error") and propagates."""
        detail: dict = {}
        started = time.monotonic()
        try:
            yield detail
        except Exception as exc:
            self.write(name, False, time.monotonic() - started, error=str(exc), **detail)
            raise
        self.write(name, True, time.monotonic() - started, **detail)

    def outcome(self, ok: bool, **detail: object) -> dict:
        """The final line: overall result and total duration."""
        return self.write("outcome", ok, time.monotonic() - self.started, **detail)


def read(path: Path) -> list[dict]:
    """All lines of a deployment log ([] when there is none)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
