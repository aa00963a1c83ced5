"""Many files at once: OCR each, write the chosen formats, collect failures without stopping, zip the lot."""
from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import OcrError
from . import export_file, parse_formats

ERRORS_NAME = "export-errors.txt"
ZIP_NAME = "ocr-export.zip"

# (file index, file count, file name, pages done, page count) after each page
BatchProgress = Callable[[int, int, str, int, int], None]


@dataclass
class Batch:
    """What a batch gave: the files written (per input, in input order) and the failed inputs with reasons."""

    files: list[Path] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    zip: Path | None = None
    errors: Path | None = None

    def downloads(self) -> list[Path]:
        """Every file to hand back: the outputs, the zip when there are several, the error report if any."""
        return self.files + ([self.zip] if self.zip else []) + ([self.errors] if self.errors else [])


def export_batch(inputs: Sequence[tuple[str | Path, str]], formats: Sequence[str], out_dir: str | Path,
                 progress: BatchProgress | None = None) -> Batch:
    """inputs: (path, file name to name the outputs after). Raises InputError for unknown formats only;
    a file that cannot be read is listed in failures (and in ERRORS_NAME) and the others go on."""
    formats = parse_formats(formats)
    out = Path(out_dir)
    batch = Batch()
    for k, (path, name) in enumerate(inputs):
        def page_done(done: int, total: int, k: int = k, name: str = name) -> None:
            if progress is not None:
                progress(k, len(inputs), name, done, total)

        if progress is not None:
            progress(k, len(inputs), name, 0, 1)
        try:
            batch.files += export_file(path, formats, out / str(k + 1), progress=page_done, name=name)
        except OcrError as error:
            batch.failures.append((name, str(error)))
    if batch.failures:
        batch.errors = out / ERRORS_NAME
        batch.errors.write_text("".join(f"{name}: {reason}\n" for name, reason in batch.failures), encoding="utf-8")
    if len(batch.files) > 1:
        batch.zip = out / ZIP_NAME
        with zipfile.ZipFile(batch.zip, "w", zipfile.ZIP_DEFLATED) as archive:
            used: set[str] = set()
            for path in batch.files:
                archive.write(path, _unique(path.name, used))
            if batch.errors:
                archive.write(batch.errors, ERRORS_NAME)
    return batch


def _unique(name: str, used: set[str]) -> str:
    """name, or name with -2, -3 ... before its suffixes when two inputs share a stem."""
    candidate, n = name, 1
    stem, dot, rest = name.partition(".")
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}{dot}{rest}"
    used.add(candidate)
    return candidate


def fresh_folder(parent: Path, keep_s: float, prefix: str) -> Path:
    """A new folder under parent for one call, named prefix + a random part; folders older than keep_s
    seconds are removed first."""
    parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in parent.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > keep_s:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:
            pass
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
