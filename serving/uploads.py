"""Deleting old files from an upload folder that several instances share (a deployment's replicas).

Gradio deletes the files its own process wrote: after their age, and all of them when it stops. It names an
upload after its content (<folder>/<sha256>/<name>), so two replicas given the same file write the same path,
and a replica stopping (an upgrade, a scale-down) would delete a file another replica is about to read. With a
shared folder (OCR_STUDIO_SHARED_UPLOADS=1, set by `deploy start --replicas`) Gradio deletes nothing; each
replica instead sweeps the whole folder on a schedule, by age only, and `deploy stop` removes the folder once
every replica has stopped.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path


def sweep(folder: Path, age_s: float) -> int:
    """Delete the files under folder written more than age_s seconds ago, and folders as old that are left
    empty (a younger one may be about to receive an upload); returns how many files were deleted."""
    now, deleted = time.time(), 0
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):  # files before their folder
        try:
            if path.is_dir():
                if now - path.stat().st_mtime > age_s and not any(path.iterdir()):
                    path.rmdir()
            elif now - path.lstat().st_ctime > age_s:
                path.unlink()
                deleted += 1
        except OSError:  # another replica deleted or refilled it meanwhile
            continue
    return deleted


def start_sweeping(folder: Path, age_s: float, every_s: float) -> threading.Thread:
    """Sweep folder every every_s seconds in a daemon thread, for as long as the process runs."""
    def run() -> None:
        while True:
            time.sleep(every_s)
            sweep(folder, age_s)

    thread = threading.Thread(target=run, name="upload-sweeper", daemon=True)
    thread.start()
    return thread
