"""Regenerate samples/ from the shared data sets (run from the repo root):

    python samples/make_samples.py --mnist ../shared/data/mnist --ocr-dev ../shared/data/ocr-dev

Digits are MNIST test images drawn the way a person uses the sketch-pad: black ink on a white or
transparent canvas, scaled up, not centred. Expected outputs are the data sets' ground truth.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from fixtures.pages import render_pages  # noqa: E402
from digits.data import load_mnist  # noqa: E402

RECEIPTS = ["sroie_043", "sroie_052"]
DIGITS = [(0, "white"), (1, "transparent"), (3, "white"), (18, "white")]   # MNIST test indices
NUMBER = "2024"  # drawn with the first MNIST test images of these labels, one image per position
TWO_COLUMN = "two_column"


def draw_on_canvas(glyphs: list[np.ndarray], canvas: str, size: tuple[int, int] = (560, 560),
                   scale: int = 8) -> Image.Image:
    """MNIST glyphs (white on black) as black ink side by side on a canvas, scaled up, off-centre."""
    width = max(size[0], sum(g.shape[1] for g in glyphs) * scale + 40)
    ink = Image.new("L", (width, size[1]), 0)
    x = 20
    for glyph in glyphs:
        big = Image.fromarray(glyph).resize((glyph.shape[1] * scale, glyph.shape[0] * scale), Image.BILINEAR)
        ink.paste(big, (x, 60))
        x += big.width - 4 * scale  # MNIST glyphs carry a 4 px margin: let the digits sit close
    black = Image.new("RGBA", ink.size, (0, 0, 0, 255))
    if canvas == "transparent":
        black.putalpha(ink)
        return black
    return Image.composite(black, Image.new("RGBA", ink.size, (255, 255, 255, 255)), ink).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", required=True)
    parser.add_argument("--ocr-dev", required=True)
    args = parser.parse_args()
    expected: dict[str, list] = {"ocr": [], "digit": [], "number": []}

    manifest = {d["id"]: d for d in map(json.loads, (Path(args.ocr_dev) / "manifest.jsonl").read_text().splitlines())}
    for rid in RECEIPTS:
        entry = manifest[rid]
        name = f"receipt_{rid.split('_')[1]}.jpg"
        shutil.copyfile(Path(args.ocr_dev) / entry["image"], ROOT / "documents" / name)
        expected["ocr"].append({"file": f"documents/{name}", "text": "\n".join(entry["gt_lines"]),
                                "casefold": True, "max_cer": 0.15, "source": "ICDAR 2019 SROIE (ocr-dev)"})

    page = next(p for p in render_pages(seed=0) if p.name == TWO_COLUMN)
    page.image.save(ROOT / "documents" / "two_column.png")
    page.image.convert("RGB").save(ROOT / "documents" / "two_column.pdf", resolution=150)
    for name in ("two_column.png", "two_column.pdf"):
        expected["ocr"].append({"file": f"documents/{name}", "text": page.reference, "casefold": False,
                                "max_cer": 0.03, "source": "fixtures/pages.py (rendered, known text)"})

    images, labels = load_mnist(args.mnist, "test")
    for index, canvas in DIGITS:
        label = int(labels[index])
        name = f"digit_{label}_mnist_test_{index:04d}_{canvas}.png"
        draw_on_canvas([images[index]], canvas).save(ROOT / "digits" / name)
        expected["digit"].append({"file": f"digits/{name}", "label": str(label)})
    picks = [int(np.flatnonzero(labels == int(d))[k]) for k, d in enumerate(NUMBER)]
    name = f"number_{NUMBER}.png"
    draw_on_canvas([images[i] for i in picks], "white").save(ROOT / "digits" / name)
    expected["number"].append({"file": f"digits/{name}", "number": NUMBER})

    (ROOT / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    print(json.dumps({k: len(v) for k, v in expected.items()}))


if __name__ == "__main__":
    main()
