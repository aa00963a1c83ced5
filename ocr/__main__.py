"""Command line: OCR files and folders of documents into searchable PDF, hOCR, ALTO, Markdown, text, JSON.

    python -m ocr INPUT... --format pdf,alto,md --out DIR [--workers N]

INPUT: files or folders (a folder's images and PDFs, its subfolders too; outputs keep the subfolder).
Every input gives one file per format, <stem>.pdf | .hocr | .alto.xml | .md | .txt | .json. A file that
cannot be read is reported with its reason and the batch goes on. Exit status: 0 when every file was
converted, 1 when some failed, 2 for a usage error.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .errors import OcrError
from .export import FORMATS, parse_formats

SUFFIXES = frozenset({".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".ppm", ".pgm", ".pbm"})


@dataclass
class Job:
    """One input file and the folder its outputs go to."""

    path: Path
    out_dir: Path


@dataclass
class Outcome:
    job: Job
    pages: int = 0
    written: tuple[Path, ...] = ()
    error: str = ""


def find_inputs(inputs: list[Path], out: Path) -> tuple[list[Job], list[str]]:
    """Jobs for files and folders (folders walked in name order); messages for inputs that do not exist."""
    jobs: list[Job] = []
    missing: list[str] = []
    for item in inputs:
        if item.is_dir():
            for path in sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
                jobs.append(Job(path, out / path.parent.relative_to(item)))
        elif item.is_file():
            jobs.append(Job(item, out))
        else:
            missing.append(f"{item}: no such file or folder")
    return jobs, missing


def convert(job: Job, formats: list[str]) -> Outcome:
    """OCR one file and write its formats; never raises for a bad file (the error is in the outcome)."""
    from .export import export_file

    pages = [0]

    def progress(done: int, total: int) -> None:
        pages[0] = done

    try:
        written = export_file(job.path, formats, job.out_dir, progress=progress)
    except OcrError as error:
        return Outcome(job, pages[0], error=str(error))
    except Exception as error:  # noqa: BLE001 - a damaged file must not stop the batch
        return Outcome(job, pages[0], error=f"unexpected {type(error).__name__}: {error}")
    return Outcome(job, pages[0], tuple(written))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ocr", description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="files or folders")
    parser.add_argument("--format", "-f", default="pdf,md",
                        help=f"comma-separated formats from {','.join(FORMATS)} (default pdf,md)")
    parser.add_argument("--out", "-o", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--workers", "-w", type=int, default=1,
                        help="files converted at once, each in its own process (default 1)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        formats = parse_formats(args.format)
    except OcrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    jobs, missing = find_inputs(args.inputs, args.out)
    for message in missing:
        print(f"FAILED {message}", file=sys.stderr)
    if not jobs:
        print("error: no images or PDFs found in the inputs", file=sys.stderr)
        return 1 if missing else 2
    started = time.perf_counter()
    outcomes = _run(jobs, formats, args.workers)
    seconds = time.perf_counter() - started
    failures = [o for o in outcomes if o.error]
    for outcome in failures:
        print(f"FAILED {outcome.job.path}: {outcome.error}", file=sys.stderr)
    pages = sum(o.pages for o in outcomes if not o.error)
    print(f"{len(outcomes) - len(failures)} of {len(outcomes)} files converted ({pages} pages, "
          f"{sum(len(o.written) for o in outcomes)} files written to {args.out}) "
          f"in {seconds:.1f} s; {len(failures) + len(missing)} failed")
    return 1 if failures or missing else 0


def _run(jobs: list[Job], formats: list[str], workers: int) -> list[Outcome]:
    bar = tqdm(total=len(jobs), unit="file", file=sys.stderr, dynamic_ncols=True)
    outcomes: list[Outcome] = []

    def done(outcome: Outcome) -> None:
        outcomes.append(outcome)
        bar.set_postfix_str(f"{outcome.job.path.name}: {'failed' if outcome.error else f'{outcome.pages} p'}")
        bar.update()

    try:
        if workers == 1:
            for job in jobs:
                bar.set_description(job.path.name)
                done(convert(job, formats))
        else:
            # each process loads its own models; split the cores between them
            os.environ.setdefault("OCR_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(convert, job, formats) for job in jobs]
                for future in as_completed(futures):
                    done(future.result())
    finally:
        bar.close()
    order = {job.path: k for k, job in enumerate(jobs)}
    return sorted(outcomes, key=lambda o: order.get(o.job.path, 0))


if __name__ == "__main__":
    sys.exit(main())
