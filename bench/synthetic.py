"""Write the synthetic reading-order pages of fixtures/pages.py, and score them.

    python -m bench.synthetic OUTDIR [--seed N] [--score]
        writes PNGs and manifest.json; --score also prints a markdown table of the reading-order
        CER per page for ocr.recognize and, when installed, Tesseract (`--psm 3`, via bench.ocr).
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from fixtures.pages import SyntheticPage, render_pages, render_receipt


def score(pages: list[SyntheticPage], folder: Path) -> str:
    """Markdown table: reading-order CER (normalised text) per page, ours and Tesseract's."""
    import ocr
    from bench.ocr import Case, run_tesseract
    from ocr.metrics import cer, normalize

    tesseract = shutil.which("tesseract") is not None
    rows = ["| page | ocr.recognize CER | seconds | Tesseract CER | seconds |", "|---|---|---|---|---|"]
    for page in pages:
        started = time.perf_counter()
        ours = ocr.recognize(page.image).text
        seconds = time.perf_counter() - started
        row = f"| {page.name} | {cer(normalize(ours), normalize(page.reference)):.4f} | {seconds:.1f} |"
        if tesseract:
            case = Case(page.name, folder / f"{page.name}.png", page.reference, {})
            text, tesseract_seconds, _ = run_tesseract(case)
            row += f" {cer(normalize(text), normalize(page.reference)):.4f} | {tesseract_seconds:.1f} |"
        else:
            row += " not installed | |"
        rows.append(row)
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    """Write every page (the five types and a receipt) as PNG plus manifest.json into OUTDIR."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score", action="store_true", help="OCR the pages and print CER per page")
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    pages = render_pages(args.seed) + [render_receipt(args.seed)]
    manifest = []
    for page in pages:
        page.image.save(args.outdir / f"{page.name}.png")
        manifest.append({
            "name": page.name, "image": f"{page.name}.png", "reference": page.reference,
            "words": [{"text": w.text, "box": w.box} for w in page.words],
            "segments": [{"text": s.text, "box": s.box} for s in page.segments],
        })
    (args.outdir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"wrote {len(manifest)} pages to {args.outdir}")
    if args.score:
        print(score(pages, args.outdir))


if __name__ == "__main__":
    main()
