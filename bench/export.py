"""Export benchmark and checks: do the searchable PDFs give our text, with words on their boxes?

    python -m bench.export [FILE_OR_FOLDER ...] [--pages-dev N]

For each input (default: samples/documents and the first --pages-dev pages of ../shared/data/pages-dev)
it runs OCR once, writes every format (ocr.export) and measures:
- CER of `pdftotext -raw` of the searchable PDF against result.text (whitespace collapsed);
- the share of the text layer's words (`pdftotext -bbox`) whose box overlaps the box of the same word
  in the OCR result with IoU >= 0.5;
- whether a PDF input kept its page count and page sizes;
- seconds for OCR and for writing each format.
Prints a markdown table. tests/test_ocr_export_pdf.py asserts the same checks on fewer files.
"""
from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree

from ocr.export import FORMATS, output_name, render
from ocr.metrics import cer
from ocr.pipeline import recognize
from ocr.result import OcrResult

REPO = Path(__file__).resolve().parents[1]
PAGES_DEV = REPO.parent / "shared" / "data" / "pages-dev" / "images"
IOU_MIN = 0.5
_XHTML = "{http://www.w3.org/1999/xhtml}"


def _squash(text: str) -> str:
    return " ".join(text.split())


def pdf_text(pdf: Path) -> str:
    """The PDF's text as `pdftotext -raw` gives it (content-stream order)."""
    return subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def text_layer_cer(pdf: Path, result: OcrResult) -> float:
    """CER of the PDF's extracted text against result.text, whitespace collapsed on both sides."""
    return cer(_squash(pdf_text(pdf)), _squash(result.text))


def pdf_words(pdf: Path) -> list[tuple[int, float, float, list[tuple[str, tuple[float, float, float, float]]]]]:
    """Per page: (index, width pt, height pt, [(word, (x0, y0, x1, y1) pt, top-left origin)])."""
    out = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    root = etree.fromstring(out, etree.XMLParser(recover=True))
    pages = []
    for k, page in enumerate(root.iter(f"{_XHTML}page")):
        words = [(w.text or "", tuple(float(w.get(a)) for a in ("xMin", "yMin", "xMax", "yMax")))
                 for w in page.iter(f"{_XHTML}word")]
        pages.append((k, float(page.get("width")), float(page.get("height")), words))
    return pages


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def word_box_share(pdf: Path, result: OcrResult) -> tuple[float, int]:
    """(share of text-layer words lying on the box of the same OCR word with IoU >= IOU_MIN, words)."""
    hits = total = 0
    rotations = [rotate for _, _, rotate in page_sizes(pdf)]
    for index, width, height, words in pdf_words(pdf):
        if rotations[index] % 180 == 90:  # words come upright, the page size as stored (turned)
            width, height = height, width
        page = result.pages[index]
        sx, sy = page.width / width, page.height / height
        ours: dict[str, list[tuple[float, float, float, float]]] = {}
        for line in page.lines:
            for w in line.words:
                xs, ys = [p[0] for p in w.box], [p[1] for p in w.box]
                ours.setdefault(w.text, []).append((min(xs), min(ys), max(xs), max(ys)))
        for text, (x0, y0, x1, y1) in words:
            total += 1
            box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)
            hits += any(_iou(box, b) >= IOU_MIN for b in ours.get(text, []))
    return (hits / total if total else 1.0), total


def page_sizes(pdf: Path | bytes) -> list[tuple[float, float, int]]:
    """(width, height, /Rotate) of each page's crop box, in points."""
    with pikepdf.open(pdf if isinstance(pdf, Path) else io.BytesIO(pdf)) as doc:
        return [(round(float(p.cropbox[2] - p.cropbox[0]), 2), round(float(p.cropbox[3] - p.cropbox[1]), 2),
                 int(p.obj.get("/Rotate", 0))) for p in doc.pages]


@dataclass
class Row:
    name: str
    pages: int
    ocr_s: float
    write_s: dict[str, float]
    cer: float
    box_share: float
    words: int
    sizes_kept: str


def measure(path: Path, out: Path) -> Row:
    started = time.perf_counter()
    result = recognize(path)
    ocr_s = time.perf_counter() - started
    source = path.read_bytes()
    write_s = {}
    for fmt in FORMATS:
        tick = time.perf_counter()
        data = render(result, fmt, source, path.name)
        write_s[fmt] = time.perf_counter() - tick
        (out / output_name(path.name, fmt)).write_bytes(data)
    pdf = out / output_name(path.name, "pdf")
    share, words = word_box_share(pdf, result)
    kept = "n/a"
    if source.startswith(b"%PDF"):
        kept = "yes" if page_sizes(path) == page_sizes(pdf) else "NO"
    return Row(path.name, len(result.pages), ocr_s, write_s, text_layer_cer(pdf, result), share, words, kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path)
    parser.add_argument("--pages-dev", type=int, default=6, help="how many pages-dev pages to add (default 6)")
    args = parser.parse_args()
    inputs = [p for arg in args.inputs for p in (sorted(arg.iterdir()) if arg.is_dir() else [arg])]
    if not args.inputs:
        inputs = sorted((REPO / "samples" / "documents").iterdir())
        inputs += sorted(PAGES_DEV.glob("*.png"))[: args.pages_dev]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for path in inputs:
            rows.append(measure(path, Path(folder)))
            print(f"{path.name}: done", flush=True)
    print("\n| file | pages | OCR s | pdf s | hocr s | alto s | md s | pdftotext CER | words on their boxes | page sizes kept |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        w = r.write_s
        print(f"| {r.name} | {r.pages} | {r.ocr_s:.1f} | {w['pdf']:.2f} | {w['hocr']:.3f} | {w['alto']:.3f} | "
              f"{w['md']:.3f} | {r.cer:.4f} | {r.box_share:.1%} of {r.words} | {r.sizes_kept} |")
    print(f"\nmax CER {max(r.cer for r in rows):.4f}; min box share {min(r.box_share for r in rows):.1%}; "
          f"median pdf write {statistics.median(r.write_s['pdf'] for r in rows):.2f} s")


if __name__ == "__main__":
    main()
