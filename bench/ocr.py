"""OCR benchmark: accuracy, speed and memory of ocr.recognize() next to Tesseract, same run.

    python -m bench.ocr [--data ../shared/data/ocr-dev] [--pages ../shared/data/pages-dev] [--requests 50]
                        [--synthetic SEEDS] [--two-up] [--no-tesseract] [--no-pages] [--no-receipts] [--verbose]
    python -m bench.ocr --turns [--no-pages] [--no-receipts] [--verbose]
    python -m bench.ocr --upside-down [--no-pages] [--no-receipts] [--verbose]

Sets: the dev receipts (`--data`), the real document pages of `--pages` (reported per
`doc_type`: multicol, paper, table, ...) and optionally two-up sheets made of those pages
(`--two-up`) and the synthetic reading-order pages.

Text compared = a page's lines joined with spaces, normalised with the manifest's `norm` flags
(ocr.metrics.normalize); CER is order-sensitive, word F1 is not. Both are means over images.
Speed is the median wall time per image; our engine is warmed up first. Peak RSS is this
process's maximum after `--requests` recognize() calls (the dev images, repeated); Tesseract's
is the largest of its processes. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import ocr
from ocr.metrics import cer, normalize, word_f1

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEFAULT_DATA = SHARED_DATA / "ocr-dev"
DEFAULT_PAGES = SHARED_DATA / "pages-dev"


@dataclass
class Case:
    """One image with its reference text and normalisation flags."""

    name: str
    path: Path
    reference: str
    norm: dict
    group: str = "all"  # the doc_type of a document page


@dataclass
class Scores:
    """Per-engine measurements."""

    cer: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    peak_rss_mb: float | None = None

    def add(self, case: Case, predicted: str, seconds: float) -> None:
        pred = normalize(predicted, **case.norm)
        ref = normalize(case.reference, **case.norm)
        self.cer.append(cer(pred, ref))
        self.f1.append(word_f1(pred, ref))
        self.seconds.append(seconds)
        self.groups.append(case.group)

    def only(self, group: str) -> "Scores":
        """The measurements of one group (doc_type)."""
        keep = [k for k, g in enumerate(self.groups) if g == group]
        return Scores([self.cer[k] for k in keep], [self.f1[k] for k in keep],
                      [self.seconds[k] for k in keep], [group] * len(keep), self.peak_rss_mb)


def dev_cases(data: Path) -> list[Case]:
    """The images of a dev set (receipts, or document pages grouped by doc_type), reference =
    gt_lines joined with spaces."""
    cases = []
    for line in (data / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        cases.append(Case(entry["id"], data / entry["image"], " ".join(entry["gt_lines"]), entry["norm"],
                          entry.get("doc_type", "all")))
    return cases


def synthetic_cases(seeds: int, folder: Path) -> list[Case]:
    """The reading-order pages of fixtures/pages.py (five page types per seed), saved as PNG."""
    from fixtures.pages import render_pages

    cases = []
    for seed in range(seeds):
        for page in render_pages(seed):
            path = folder / f"{page.name}_{seed}.png"
            page.image.save(path)
            cases.append(Case(path.stem, path, page.reference, {}))
    return cases


def two_up_cases(data: Path, folder: Path) -> list[Case]:
    """Two-up sheets (fixtures/two_up.py) of the document pages, two at a time in manifest order
    (1 and 2, 3 and 4, ...), saved as PNG; reference = the left page's text, then the right page's."""
    from PIL import Image

    from fixtures.two_up import two_up

    entries = [json.loads(line) for line in (data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    cases = []
    for left, right in zip(entries[0::2], entries[1::2]):
        with Image.open(data / left["image"]) as a, Image.open(data / right["image"]) as b:
            path = folder / f"{left['id']}+{right['id']}.png"
            two_up(a, b).save(path)
        cases.append(Case(path.stem, path, " ".join(left["gt_lines"] + right["gt_lines"]), left["norm"], "two-up"))
    return cases


def run_ours(case: Case) -> tuple[str, float]:
    started = time.perf_counter()
    result = ocr.recognize(case.path)
    seconds = time.perf_counter() - started
    return " ".join(line.text for page in result.pages for line in page.lines), seconds


def run_tesseract(case: Case) -> tuple[str, float, float]:
    """Text, wall seconds and peak RSS (MB) of one `tesseract IMAGE - -l eng --psm 3` run.

    The child's ru_maxrss would include this Python process (it is inherited through fork), so
    the peak is sampled from /proc/<pid>/status (VmHWM) while tesseract runs."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            ["tesseract", str(case.path), "-", "-l", "eng", "--psm", "3"], stdout=out, stderr=subprocess.DEVNULL
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, _vm_hwm_kb(process.pid))
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        if process.returncode:
            raise RuntimeError(f"tesseract failed on {case.path} (exit {process.returncode})")
        out.seek(0)
        return out.read().decode("utf-8", "replace"), seconds, peak_kb / 1024


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass  # the process has just exited
    return 0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def table(rows: dict[str, Scores]) -> str:
    lines = ["| engine | CER | word F1 | median s/image | peak RSS |", "|---|---|---|---|---|"]
    for name, s in rows.items():
        rss = f"{s.peak_rss_mb:.0f} MB" if s.peak_rss_mb is not None else "n/a"
        lines.append(
            f"| {name} | {statistics.mean(s.cer):.4f} | {statistics.mean(s.f1):.4f} | "
            f"{statistics.median(s.seconds):.3f} | {rss} |"
        )
    return "\n".join(lines)


def evaluate(cases: list[Case], tesseract: bool, verbose: bool, rss_log: list[float]) -> tuple[Scores, Scores]:
    """Score both engines on the cases, interleaved so that both see the same machine load."""
    ours, theirs = Scores(), Scores()
    for case in cases:
        text, seconds = run_ours(case)
        rss_log.append(current_rss_mb())
        ours.add(case, text, seconds)
        line = f"{case.name} [{case.group}]: CER {ours.cer[-1]:.3f} F1 {ours.f1[-1]:.3f} {seconds:.2f}s"
        if tesseract:
            text, seconds, rss = run_tesseract(case)
            theirs.add(case, text, seconds)
            theirs.peak_rss_mb = max(theirs.peak_rss_mb or 0.0, rss)
            line += f" | tesseract CER {theirs.cer[-1]:.3f} F1 {theirs.f1[-1]:.3f} {seconds:.2f}s"
        if verbose:
            print(line, file=sys.stderr)
    return ours, theirs


def group_table(ours: Scores, theirs: Scores, tesseract: bool) -> str:
    """Markdown table: CER and word F1 per group (doc_type), both engines side by side."""
    head = "| doc_type | pages | CER | word F1 |" + (" Tesseract CER | Tesseract word F1 |" if tesseract else "")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    groups = sorted(set(ours.groups), key=lambda g: (-ours.groups.count(g), g))
    for group in [*groups, None]:
        mine = ours.only(group) if group else ours
        row = f"| {group or '**all**'} | {len(mine.cer)} | {statistics.mean(mine.cer):.4f} | {statistics.mean(mine.f1):.4f} |"
        if tesseract:
            other = theirs.only(group) if group else theirs
            row += f" {statistics.mean(other.cer):.4f} | {statistics.mean(other.f1):.4f} |"
        lines.append(row)
    return "\n".join(lines)


def report(title: str, ours: Scores, theirs: Scores, tesseract_name: str | None) -> None:
    rows = {f"ocr ({ocr.model_info()['engine']})": ours}
    if tesseract_name:
        rows[tesseract_name] = theirs
    print(f"\n### {title}: {len(ours.cer)} images\n")
    print(table(rows))
    if len(set(ours.groups)) > 1:
        print()
        print(group_table(ours, theirs, bool(tesseract_name)))
    if tesseract_name:
        ratio = statistics.median(ours.seconds) / statistics.median(theirs.seconds)
        print(f"\nmedian time ratio ocr / tesseract: {ratio:.2f}")


def turns(cases: list[Case], verbose: bool) -> str:
    """Markdown table per set: each image read upright and turned clockwise by 90, 180 and 270
    degrees; how many turned reads come within +0.01 CER of the upright one, how many pages were
    turned back by the right angle, and false turns (upright pages that were turned)."""
    import numpy as np
    from PIL import Image

    rows = ["| set | images | false turns (upright) | right angle | within +0.01 CER of upright | mean CER upright / turned |",
            "|---|---|---|---|---|---|"]
    for group in sorted({case.group for case in cases}):
        members = [case for case in cases if case.group == group]
        false_turns = right = close = total = 0
        upright_cer, turned_cer = [], []
        for case in members:
            rgb = np.asarray(Image.open(case.path).convert("RGB"))
            ref = normalize(case.reference, **case.norm)
            result = ocr.recognize(rgb)
            base = cer(normalize(result.text, **case.norm), ref)
            false_turns += result.pages[0].orientation.angle != 0
            for angle in (90, 180, 270):
                turned = ocr.recognize(np.ascontiguousarray(np.rot90(rgb, -angle // 90)))
                score = cer(normalize(turned.text, **case.norm), ref)
                right += turned.pages[0].orientation.angle == angle
                close += score <= base + 0.01
                total += 1
                upright_cer.append(base)
                turned_cer.append(score)
                if verbose:
                    print(f"{case.name} turned {angle}: read as {turned.pages[0].orientation.to_json()} "
                          f"CER {score:.3f} (upright {base:.3f})", file=sys.stderr)
        rows.append(f"| {group} | {len(members)} | {false_turns} | {right}/{total} | {close}/{total} | "
                    f"{statistics.mean(upright_cer):.4f} / {statistics.mean(turned_cer):.4f} |")
    return "\n".join(rows)


def upside_down(cases: list[Case], verbose: bool) -> str:
    """Markdown table per set for text-line 0/180 (ocr/textlines.py): every image read upright with
    and without it (lines turned on upright pages are false turns), and with the lines of the middle
    of the page turned by 180 degrees where they lie (fixtures/upside_down.py), read with and without
    it (CER and word F1 against the ground truth)."""
    import numpy as np
    from PIL import Image

    from fixtures.upside_down import turn_lines_in_place

    def read(image, on: bool):
        os.environ["OCR_TEXTLINE_ORIENTATION"] = "1" if on else "0"
        started = time.perf_counter()
        result = ocr.recognize(image)
        return result, time.perf_counter() - started

    rows = ["| set | images | lines read turned on upright pages (false) | upright CER without / with | lines turned "
            "| of them read turned | with lines turned, CER (word F1): without / with | s/image upright, lines turned: without / with |",
            "|---|---|---|---|---|---|---|---|"]
    for group in sorted({case.group for case in cases}):
        members = [case for case in cases if case.group == group]
        false_turns = band_lines = band_turned = 0
        cer_off, cer_on, band_cer_off, band_cer_on, band_f1_off, band_f1_on = [], [], [], [], [], []
        seconds: dict[str, list[float]] = {"off": [], "on": [], "band off": [], "band on": []}
        for case in members:
            rgb = np.asarray(Image.open(case.path).convert("RGB"))
            ref = normalize(case.reference, **case.norm)
            on, seconds_on = read(rgb, True)
            off, seconds_off = read(rgb, False)
            false_turns += sum(page.orientation.upside_down_lines for page in on.pages)
            cer_on.append(cer(normalize(on.text, **case.norm), ref))
            cer_off.append(cer(normalize(off.text, **case.norm), ref))
            band, inside = turn_lines_in_place(rgb, on.pages[0].lines)
            band_on, band_seconds_on = read(band, True)
            band_off, band_seconds_off = read(band, False)
            band_lines += inside
            band_turned += band_on.pages[0].orientation.upside_down_lines
            band_cer_on.append(cer(normalize(band_on.text, **case.norm), ref))
            band_cer_off.append(cer(normalize(band_off.text, **case.norm), ref))
            band_f1_on.append(word_f1(normalize(band_on.text, **case.norm), ref))
            band_f1_off.append(word_f1(normalize(band_off.text, **case.norm), ref))
            for key, value in zip(seconds, (seconds_off, seconds_on, band_seconds_off, band_seconds_on)):
                seconds[key].append(value)
            if verbose:
                print(f"{case.name}: upright turned {on.pages[0].orientation.upside_down_lines}, CER {cer_off[-1]:.3f} -> "
                      f"{cer_on[-1]:.3f}; {inside} lines turned, {band_on.pages[0].orientation.upside_down_lines} read turned, "
                      f"CER {band_cer_off[-1]:.3f} -> {band_cer_on[-1]:.3f}", file=sys.stderr)
        os.environ.pop("OCR_TEXTLINE_ORIENTATION")
        median = {key: statistics.median(value) for key, value in seconds.items()}
        rows.append(f"| {group} | {len(members)} | {false_turns} | {statistics.mean(cer_off):.4f} / {statistics.mean(cer_on):.4f} "
                    f"| {band_lines} | {band_turned} | {statistics.mean(band_cer_off):.4f} ({statistics.mean(band_f1_off):.3f}) / "
                    f"{statistics.mean(band_cer_on):.4f} ({statistics.mean(band_f1_on):.3f}) "
                    f"| {median['off']:.2f} / {median['on']:.2f}, "
                    f"{median['band off']:.2f} / {median['band on']:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dev set folder with manifest.jsonl")
    parser.add_argument("--pages", type=Path, default=DEFAULT_PAGES, help="document pages with manifest.jsonl and doc_type")
    parser.add_argument("--no-pages", action="store_true", help="skip the document pages")
    parser.add_argument("--no-receipts", action="store_true", help="skip the receipts")
    parser.add_argument("--requests", type=int, default=50, help="recognize() calls before peak RSS is read")
    parser.add_argument(
        "--synthetic", type=int, default=0, metavar="SEEDS",
        help="also score the synthetic reading-order pages of fixtures/pages.py (5 pages per seed)",
    )
    parser.add_argument("--two-up", action="store_true",
                        help="also score two-up sheets: the document pages two at a time side by side")
    parser.add_argument("--no-tesseract", action="store_true", help="skip the Tesseract baseline")
    parser.add_argument("--verbose", action="store_true", help="print per-image scores")
    parser.add_argument("--limit", type=int, default=0, help="with --turns: only the first N images of each set")
    parser.add_argument("--turns", action="store_true",
                        help="only the orientation check: every image upright and turned by 90/180/270 (ours only)")
    parser.add_argument("--upside-down", action="store_true",
                        help="only the text-line 0/180 check: every image upright, and with a band of lines turned by 180 "
                             "where they lie, each with and without OCR_TEXTLINE_ORIENTATION (ours only)")
    args = parser.parse_args()
    if args.turns or args.upside_down:
        ocr.warm_up()
        selected = [] if args.no_receipts else [Case(c.name, c.path, c.reference, c.norm, "receipts") for c in dev_cases(args.data)]
        selected += [] if args.no_pages else [Case(c.name, c.path, c.reference, c.norm, "pages") for c in dev_cases(args.pages)]
        if args.limit:
            selected = [c for g in ("receipts", "pages") for c in [c for c in selected if c.group == g][:args.limit]]
        print(upside_down(selected, args.verbose) if args.upside_down else turns(selected, args.verbose))
        return

    tesseract_name = None
    if not args.no_tesseract and shutil.which("tesseract"):
        version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
        tesseract_name = f"{version} (--psm 3, eng)"
    print(f"OCR benchmark, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores")
    if not args.no_tesseract and not tesseract_name:
        print("Tesseract skipped: `tesseract` is not installed (apt-get install tesseract-ocr).")

    ocr.warm_up()
    rss_log: list[float] = []
    cases: list[Case] = []
    results = {}
    if not args.no_receipts:
        receipts = dev_cases(args.data)
        results[f"receipts ({args.data.name})"] = evaluate(receipts, bool(tesseract_name), args.verbose, rss_log)
        cases += receipts
    if not args.no_pages:
        pages = dev_cases(args.pages)
        results[f"document pages ({args.pages.name})"] = evaluate(pages, bool(tesseract_name), args.verbose, rss_log)
        cases += pages
    if args.two_up:
        with tempfile.TemporaryDirectory() as tmp:
            sheets = two_up_cases(args.pages, Path(tmp))
            results[f"two-up sheets ({args.pages.name}, two pages side by side)"] = evaluate(
                sheets, bool(tesseract_name), args.verbose, rss_log)
    if args.synthetic:
        with tempfile.TemporaryDirectory() as tmp:
            synthetic = synthetic_cases(args.synthetic, Path(tmp))
            results["synthetic reading-order pages"] = evaluate(synthetic, bool(tesseract_name), args.verbose, rss_log)
    while cases and len(rss_log) < args.requests:
        run_ours(cases[len(rss_log) % len(cases)])
        rss_log.append(current_rss_mb())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for title, (ours, theirs) in results.items():
        ours.peak_rss_mb = peak
        report(title, ours, theirs, tesseract_name)
    marks = sorted({min(10, len(rss_log)), len(rss_log) // 2, len(rss_log)})
    print(
        f"\nocr peak RSS is this process's maximum after {len(rss_log)} requests; its current RSS "
        + ", ".join(f"after {n}: {rss_log[n - 1]:.0f} MB" for n in marks)
    )

if __name__ == "__main__":
    main()
