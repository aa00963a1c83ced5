"""Synthetic document pages with known reading order, for layout tests and the OCR bench.

render_pages(seed) draws five page types with real fonts (DejaVu Sans / Serif found on this
machine): a two-column page with full-width title and footer, a three-column page, a pleading page
with a margin of line numbers, a table page and a skewed two-column page. Each page carries its
ground truth text in reading order and the boxes of everything drawn.

    python -m bench.synthetic OUTDIR [--seed N] [--score]
        writes PNGs and manifest.json; --score also prints a markdown table of the reading-order
        CER per page for ocr.recognize and, when installed, Tesseract (`--psm 3`, via bench.ocr).
"""
from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Point = tuple[float, float]

PAGE_SIZE = (1100, 1000)  # fits OCR_DET_LIMIT_SIDE's default, so the detector sees full resolution
MARGIN = 60
INK = (20, 20, 20)
PAPER = (255, 255, 255)
SKEW_DEGREES = 2.5
FONT_FILES = {
    "sans": ("DejaVu Sans", "DejaVuSans.ttf"),
    "sans-bold": ("DejaVu Sans:bold", "DejaVuSans-Bold.ttf"),
    "serif": ("DejaVu Serif", "DejaVuSerif.ttf"),
    "serif-bold": ("DejaVu Serif:bold", "DejaVuSerif-Bold.ttf"),
    "mono": ("DejaVu Sans Mono", "DejaVuSansMono.ttf"),
    "mono-bold": ("DejaVu Sans Mono:bold", "DejaVuSansMono-Bold.ttf"),
}
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")


class FontNotFound(RuntimeError):
    """No DejaVu font on this machine (install fonts-dejavu-core)."""


@dataclass(frozen=True)
class TextBox:
    """Drawn text and its box: 4 points clockwise from top-left, in page pixels."""

    text: str
    box: tuple[Point, ...]


@dataclass
class SyntheticPage:
    """A rendered page, its ground truth in reading order (lines by "\\n", table cells by "\\t"),
    the word boxes and the segments (text runs drawn as one unit: a column line, a table cell, a
    line number) - what a text-line detector would return."""

    name: str
    image: Image.Image
    reference: str
    words: list[TextBox] = field(default_factory=list)
    segments: list[TextBox] = field(default_factory=list)


@lru_cache(maxsize=None)
def find_font(style: str) -> Path:
    """Path of a DejaVu font ("sans", "sans-bold", "serif", "serif-bold"); FontNotFound if none."""
    pattern, filename = FONT_FILES[style]
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True).stdout
        if found.endswith(filename) and Path(found).is_file():
            return Path(found)
    for folder in FONT_DIRS:
        candidate = Path(folder) / filename
        if candidate.is_file():
            return candidate
    raise FontNotFound(f"Font {filename} not found (looked via fc-match and in {', '.join(FONT_DIRS)}); "
                       "install the DejaVu fonts (Debian/Ubuntu: apt-get install fonts-dejavu-core).")


# --- text -------------------------------------------------------------------------------------

SUBJECTS = [
    "The harbour authority", "Our field team", "The city council", "A small bakery on Mill Road",
    "Most farmers in the valley", "The night shift", "Every volunteer", "The museum curator",
    "Two engineers from the depot", "The school board", "A retired pilot", "The regional library",
    "Local fishermen", "The new manager", "Her younger brother", "The orchestra",
]
VERBS = [
    "reviewed", "postponed", "described", "measured", "approved", "questioned", "repaired",
    "photographed", "catalogued", "delivered", "rebuilt", "inspected", "discussed", "painted",
    "recorded", "replaced",
]
OBJECTS = [
    "the annual budget", "the old stone bridge", "seventeen samples of river water",
    "a proposal for cheaper bus tickets", "the broken weather station", "the flood maps",
    "the northern greenhouse", "a collection of letters from 1912", "the ferry timetable",
    "the roof of the town hall", "forty crates of apples", "the noisy ventilation system",
    "the results of the spring survey", "a mural near the station", "the village water supply",
]
TAILS = [
    "before the winter storms arrived.", "after a long debate on Tuesday.",
    "with help from two students.", "in less than three weeks.", "despite the heavy rain.",
    "while the market was closed.", "at a cost of 4,250 dollars.", "for the third time since May.",
    "without telling the neighbours.", "during the quiet hours of the morning.",
    "and published a short report.", "as the harvest season began.", "on the first of October.",
    "under the supervision of Dr. Patel.", "so that visitors could return safely.",
]

CLUBS = ["rowing club", "garden society", "historical association", "chess league", "choir"]


def _sentences(rng: random.Random, count: int) -> list[str]:
    return [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            for _ in range(count)]


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


# --- drawing ----------------------------------------------------------------------------------

class _Canvas:
    """A white page that records the boxes of the words and segments it draws."""

    def __init__(self, name: str, size: tuple[int, int] = PAGE_SIZE) -> None:
        self.page = SyntheticPage(name, Image.new("RGB", size, PAPER), "")
        self.draw = ImageDraw.Draw(self.page.image)
        self.reference: list[str] = []

    def text(self, x: float, y: float, text: str, font: ImageFont.FreeTypeFont) -> None:
        """Draw one segment with its top-left at (x, y)."""
        ascent, descent = font.getmetrics()
        bottom = y + ascent + descent
        self.draw.text((x, y), text, font=font, fill=INK)
        start = 0
        for word in text.split(" "):
            left = x + font.getlength(text[:start])
            right = left + font.getlength(word)
            self.page.words.append(TextBox(word, _quad(left, y, right, bottom)))
            start += len(word) + 1
        self.page.segments.append(TextBox(text, _quad(x, y, x + font.getlength(text), bottom)))

    def centred(self, y: float, text: str, font: ImageFont.FreeTypeFont) -> None:
        self.text((self.page.image.width - font.getlength(text)) / 2, y, text, font)

    def finish(self) -> SyntheticPage:
        self.page.reference = "\n".join(self.reference)
        return self.page


def _quad(x0: float, y0: float, x1: float, y1: float) -> tuple[Point, ...]:
    return (x0, y0), (x1, y0), (x1, y1), (x0, y1)


def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(find_font(style)), size)


def _columns_page(name: str, rng: random.Random, columns: int, size: int, style: str) -> SyntheticPage:
    """Full-width title, `columns` columns of wrapped paragraphs, full-width footer."""
    canvas = _Canvas(name)
    body, title_font = _font(style, size), _font(f"{style}-bold", size + 10)
    pitch = round(size * 1.45)
    gutter = 2.5 * size
    width = (PAGE_SIZE[0] - 2 * MARGIN - (columns - 1) * gutter) / columns
    title = f"Report on {rng.choice(OBJECTS)}"
    canvas.centred(MARGIN, title, title_font)
    canvas.reference.append(title)
    top = MARGIN + 3 * pitch
    rows = (PAGE_SIZE[1] - top - MARGIN - 3 * pitch) // pitch
    for column in range(columns):
        x = MARGIN + column * (width + gutter)
        lines: list[str] = []
        while len(lines) < rows:
            lines += _wrap(" ".join(_sentences(rng, 3)), body, width) + [""]
        for row, line in enumerate(lines[:rows]):
            if line:
                canvas.text(x, top + row * pitch, line, body)
                canvas.reference.append(line)
    footer = (f"Page {rng.randint(2, 40)} of the quarterly bulletin, "
              f"printed for the members of the {rng.choice(CLUBS)}")
    canvas.centred(PAGE_SIZE[1] - MARGIN - pitch, footer, _font(style, size - 4))
    canvas.reference.append(footer)
    return canvas.finish()


def _pleading_page(rng: random.Random) -> SyntheticPage:
    """Pleading paper: line numbers 1..25 in the left margin, a double rule, a Q/A transcript."""
    canvas = _Canvas("line_numbers")
    font = _font("serif", 20)
    pitch, number_right, text_x = 36, 90, 150
    lines: list[str] = []
    speakers = ("Q.", "A.")
    while len(lines) < 25:
        text = " ".join(_sentences(rng, rng.randint(1, 2)))
        lines += _wrap(f"{speakers[0]} {text}", font, PAGE_SIZE[0] - text_x - MARGIN)
        speakers = speakers[::-1]
        if rng.random() < 0.3:
            lines.append("")
    for number, line in enumerate(lines[:25], start=1):
        y = MARGIN + (number - 1) * pitch
        label = str(number)
        canvas.text(number_right - font.getlength(label), y, label, font)
        if line:
            canvas.text(text_x, y, line, font)
        canvas.reference.append(f"{label} {line}".strip())
    for x in (115, 121):
        canvas.draw.line([(x, MARGIN - 10), (x, MARGIN + 25 * pitch)], fill=INK, width=1)
    return canvas.finish()


TABLE_COLUMNS = [
    ("Item", ["Garden hose", "Oak table", "Desk lamp", "Rain jacket", "Coffee beans", "Road bike",
              "Wool scarf", "Paint brush"]),
    ("Region", ["North East", "Coastal", "Lowlands", "Mountain", "Capital", "River Delta"]),
    ("Quantity", [str(n) for n in (12, 48, 7, 150, 33, 5, 86, 21)]),
    ("Price", ["4.99", "129.00", "18.50", "62.75", "9.20", "845.00", "23.10"]),
    ("Status", ["shipped", "pending", "returned", "in stock", "on order"]),
]


def _table_page(rng: random.Random, columns: int) -> SyntheticPage:
    """A title, a two-line paragraph, a table (header + 6 rows), a footnote."""
    canvas = _Canvas("table")
    font, bold = _font("sans", 20), _font("sans-bold", 20)
    title = f"Inventory summary for {rng.choice(['March', 'April', 'May', 'June'])} {rng.randint(2019, 2024)}"
    canvas.text(MARGIN, MARGIN, title, _font("sans-bold", 28))
    canvas.reference.append(title)
    y = MARGIN + 70
    for line in _wrap(" ".join(_sentences(rng, 2)), font, PAGE_SIZE[0] - 2 * MARGIN)[:2]:
        canvas.text(MARGIN, y, line, font)
        canvas.reference.append(line)
        y += 30
    spec = TABLE_COLUMNS[:columns]
    cell_width = (PAGE_SIZE[0] - 2 * MARGIN) / columns
    y += 50
    rows = [[name for name, _ in spec]] + [[rng.choice(values) for _, values in spec] for _ in range(6)]
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            canvas.text(MARGIN + c * cell_width, y, cell, bold if r == 0 else font)
        canvas.reference.append("\t".join(row))
        if r == 0:
            canvas.draw.line([(MARGIN, y + 32), (PAGE_SIZE[0] - MARGIN, y + 32)], fill=INK, width=2)
        y += 44
    note = f"Prices in dollars; quantities counted on {rng.randint(1, 28)} {rng.choice(['July', 'August'])}."
    canvas.text(MARGIN, y + 30, note, _font("sans", 16))
    canvas.reference.append(note)
    return canvas.finish()


RECEIPT_SIZE = (560, 1000)
GROCERIES = ["Fresh milk 1L", "Whole wheat bread loaf", "Free range eggs 10 pcs", "Cheddar cheese 200g",
             "Green apples", "Basmati rice 5kg", "Orange juice no sugar", "Dish soap lemon",
             "Tomato paste tin", "Dark chocolate bar"]


def render_receipt(seed: int = 0) -> SyntheticPage:
    """A shop receipt: centred header, item rows whose prices stand in right-aligned columns far
    from the descriptions, totals, footer. Reference rows join their cells with single spaces."""
    rng = random.Random(seed)
    canvas = _Canvas("receipt", RECEIPT_SIZE)
    font, bold = _font("mono", 18), _font("mono-bold", 22)
    left, pitch = 30, 30
    qty, price, total = -330, -430, -(RECEIPT_SIZE[0] - left)  # right edges of the number columns
    y = 40

    def centred(text: str, face: ImageFont.FreeTypeFont) -> None:
        nonlocal y
        canvas.centred(y, text, face)
        canvas.reference.append(text)
        y += pitch

    def row(*cells: tuple[float, str]) -> None:
        """Cells as (x, text); a negative x right-aligns the cell at -x."""
        nonlocal y
        for x, text in cells:
            canvas.text(x if x >= 0 else -x - font.getlength(text), y, text, font)
        canvas.reference.append(" ".join(text for _, text in cells))
        y += pitch

    centred(rng.choice(["GREEN LEAF GROCERS", "CORNER MARKET", "SUNRISE MINIMART"]), bold)
    centred(f"{rng.randint(10, 99)} Harbour Street, Port Elliot", font)
    centred(f"Tel: 03-{rng.randint(1000, 9999)} {rng.randint(1000, 9999)}", font)
    y += pitch // 2
    invoice = f"Invoice: INV-{rng.randint(10000, 99999)}"
    row((left, invoice), (total, f"{rng.randint(1, 28):02d}/0{rng.randint(1, 9)}/2021"))
    row((left, f"Cashier: {rng.choice(['Amira', 'Tom', 'Lena', 'Raj'])}"))
    y += pitch // 2
    row((left, "Item"), (qty, "Qty"), (price, "Price"), (total, "Total"))
    subtotal = 0.0
    for name in rng.sample(GROCERIES, 7):
        count, each = rng.randint(1, 4), rng.randint(80, 1500) / 100
        subtotal += count * each
        row((left, name), (qty, str(count)), (price, f"{each:.2f}"), (total, f"{count * each:.2f}"))
    y += pitch // 2
    tax = round(subtotal * 0.06, 2)
    paid = math.ceil(subtotal + tax + 1)
    for label, value in (("Subtotal", subtotal), ("Tax 6%", tax), ("Total", subtotal + tax), ("Cash", paid),
                         ("Change", paid - subtotal - tax)):
        row((left, label), (total, f"{value:.2f}"))
    y += pitch // 2
    centred("Thank you, please come again", font)
    return canvas.finish()


def _skewed(page: SyntheticPage, degrees: float) -> SyntheticPage:
    """The page rotated counter-clockwise by `degrees` about its centre, boxes included."""
    cx, cy = PAGE_SIZE[0] / 2, PAGE_SIZE[1] / 2
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))

    def turn(box: TextBox) -> TextBox:
        points = tuple((cx + (x - cx) * cos + (y - cy) * sin, cy - (x - cx) * sin + (y - cy) * cos)
                       for x, y in box.box)
        return TextBox(box.text, points)

    image = page.image.rotate(degrees, resample=Image.Resampling.BICUBIC, center=(cx, cy), fillcolor=PAPER)
    return SyntheticPage(f"skewed_{page.name}", image, page.reference,
                         [turn(w) for w in page.words], [turn(s) for s in page.segments])


def render_pages(seed: int = 0) -> list[SyntheticPage]:
    """The five synthetic page types; the text varies with the seed. Raises FontNotFound."""
    rng = random.Random(seed)
    return [
        _columns_page("two_column", rng, 2, 20, "serif"),
        _columns_page("three_column", rng, 3, 18, "sans"),
        _pleading_page(rng),
        _table_page(rng, 3 + (seed + 1) % 3),
        _skewed(_columns_page("two_column", rng, 2, 20, "sans"), SKEW_DEGREES * (1 if seed % 2 == 0 else -1)),
    ]


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
