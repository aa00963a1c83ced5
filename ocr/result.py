"""OCR results: pages of lines, blocks and regions in reading order, JSON export and an overlay of the
regions (coloured by kind) and the lines (boxed and numbered)."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .layout import Block, Line
from .orientation import Orientation
from .regions import REGION_KINDS, Region

PAGE_SEPARATOR = "\n\f\n"
_BOX_COLOUR = (220, 30, 30)
# Region fill colours in the overlay (the OCR tab's legend shows the same).
REGION_COLOURS: dict[str, tuple[int, int, int]] = {
    "header": (150, 150, 150),
    "title": (160, 60, 200),
    "paragraph": (40, 110, 230),
    "caption": (0, 170, 190),
    "table": (20, 160, 80),
    "figure": (210, 60, 120),
    "sidebar": (120, 100, 60),
    "footer": (230, 140, 20),
}
_REGION_ALPHA = 60  # of 255: the text stays readable under the fill
# Largest picture of a page kept for overlay() (a 2000 x 2000 or an A4 page at 200 dpi stays as
# it is). Pages can be 60 megapixels each (OCR_MAX_PIXELS); keeping every one whole until the
# call ends took a 20-page PDF to 4.6 GB, so larger pages are kept scaled down.
OVERLAY_MAX_PIXELS = 4_000_000


def overlay_picture(rgb: np.ndarray, max_pixels: int = OVERLAY_MAX_PIXELS) -> np.ndarray:
    """The page as kept for overlay(): itself, or scaled down (area average) to max_pixels."""
    height, width = rgb.shape[:2]
    if width * height <= max_pixels:
        return rgb
    scale = (max_pixels / (width * height)) ** 0.5
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


@dataclass
class OcrPage:
    """One page (an image, or one PDF page) with its lines and blocks in reading order."""

    index: int
    width: int
    height: int
    lines: list[Line]
    blocks: list[Block]
    text: str
    image: np.ndarray = field(repr=False)  # RGB uint8 picture for overlay(): see overlay_picture()
    orientation: Orientation = field(default_factory=Orientation)  # width, height, boxes: of the page as read
    regions: list[Region] = field(default_factory=list)  # ocr/regions.py, kinds in REGION_KINDS

    def to_json(self) -> dict[str, Any]:
        """The page as plain JSON types (the image is left out)."""
        return {
            "index": self.index,
            "width": self.width,
            "height": self.height,
            "text": self.text,
            "lines": [_line_json(line, self.index) for line in self.lines],
            "blocks": [_block_json(b) for b in self.blocks],
            "regions": [_region_json(r) for r in self.regions],
            "orientation": self.orientation.to_json(),
        }


@dataclass
class OcrResult:
    """Everything recognize() found; text = pages joined by PAGE_SEPARATOR."""

    pages: list[OcrPage]
    text: str
    width: int
    height: int
    model: dict[str, Any]
    timings: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable dict: text, lines (all pages), width, height, model, timings, pages."""
        pages = [page.to_json() for page in self.pages]
        return {
            "text": self.text,
            "lines": [line for page in pages for line in page["lines"]],
            "width": self.width,
            "height": self.height,
            "model": self.model,
            "timings": {name: round(seconds, 4) for name, seconds in self.timings.items()},
            "pages": pages,
        }

    def overlay(self, page: int = 0) -> Image.Image:
        """The page image with its regions filled in their REGION_COLOURS and every line boxed and
        numbered in reading order (1, 2, ...); pages over OVERLAY_MAX_PIXELS come back scaled down
        to that size."""
        if not 0 <= page < len(self.pages):
            raise IndexError(f"page {page} out of range: the result has {len(self.pages)} page(s)")
        current = self.pages[page]
        canvas = Image.fromarray(current.image).convert("RGB")
        scale = canvas.width / current.width
        stroke = max(1, round(max(canvas.size) / 800))
        _fill_regions(canvas, current.regions, scale, stroke)
        draw = ImageDraw.Draw(canvas)
        for number, line in enumerate(current.lines, 1):
            polygon = [(x * scale, y * scale) for x, y in line.box]
            draw.polygon(polygon, outline=_BOX_COLOUR, width=stroke)
            x0 = min(p[0] for p in polygon)
            y0 = min(p[1] for p in polygon)
            y1 = max(p[1] for p in polygon)
            font = _font(int(min(max(0.6 * (y1 - y0), 10), 40)))
            label = str(number)
            left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
            lw, lh = right - left + 4, bottom - top + 4
            lx, ly = max(0, x0 - lw), max(0, y0)
            draw.rectangle([lx, ly, lx + lw, ly + lh], fill=_BOX_COLOUR)
            draw.text((lx + 2 - left, ly + 2 - top), label, fill=(255, 255, 255), font=font)
        return canvas


def _fill_regions(canvas: Image.Image, regions: list[Region], scale: float, stroke: int) -> None:
    """Each region as a translucent rectangle with an outline in its kind's colour, drawn onto canvas."""
    if not regions:
        return
    shade = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shade)
    pad = 2 * stroke
    for region in regions:
        colour = REGION_COLOURS[region.kind]
        (x0, y0), (x1, y1) = region.box[0], region.box[2]
        draw.rectangle([x0 * scale - pad, y0 * scale - pad, x1 * scale + pad, y1 * scale + pad],
                       fill=(*colour, _REGION_ALPHA), outline=(*colour, 255), width=stroke)
    canvas.paste(Image.alpha_composite(canvas.convert("RGBA"), shade).convert("RGB"))


@lru_cache(maxsize=64)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed, else Pillow's built-in font."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _points(box: Any) -> list[list[float]]:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in box]


def _block_json(block: Block) -> dict[str, Any]:
    """A block as JSON; a table's also has its cells (row, column, column_span, text, box)."""
    data: dict[str, Any] = {"kind": block.kind, "box": _points(block.box), "lines": list(block.lines)}
    if block.kind == "table":
        data["cells"] = [{"row": c.row, "column": c.column, "column_span": c.column_span, "text": c.text,
                          "box": _points(c.box)} for c in block.cells]
    return data


def _region_json(region: Region) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": region.kind, "box": _points(region.box), "lines": list(region.lines)}
    if region.kind == "title":
        data["level"] = region.level
    return data


def table_rows(block: dict[str, Any]) -> list[list[str]]:
    """A JSON table block (OcrPage.to_json()["blocks"][i]) as a grid of cell texts, empty cells ""
    (a cell across several columns in the first of them)."""
    cells = block.get("cells", [])
    if not cells:
        return []
    rows = 1 + max(c["row"] for c in cells)
    columns = 1 + max(c["column"] for c in cells)
    grid = [[""] * columns for _ in range(rows)]
    for cell in cells:
        grid[cell["row"]][cell["column"]] = cell["text"]
    return grid


def tables_csv(result: dict[str, Any]) -> str:
    """Every table of an OcrResult.to_json() as CSV (csv module, Excel dialect), tables separated
    by an empty row."""
    out = io.StringIO()
    writer = csv.writer(out)
    first = True
    for page in result.get("pages", []):
        for block in page.get("blocks", []):
            grid = table_rows(block)
            if not grid:
                continue
            if not first:
                writer.writerow([])
            writer.writerows(grid)
            first = False
    return out.getvalue()


def _line_json(line: Line, page: int) -> dict[str, Any]:
    return {
        "text": line.text,
        "score": round(float(line.score), 4),
        "box": _points(line.box),
        "page": page,
        "words": [{"text": w.text, "score": round(float(w.score), 4), "box": _points(w.box)} for w in line.words],
        "upside_down": line.upside_down,
    }


def page_notes(result: dict[str, Any]) -> str:
    """What was found on each page of an OcrResult.to_json(), one Markdown line a page: its lines,
    its regions by kind, and whether it or any of its lines was read turned back."""
    notes = []
    for page in result.get("pages", []):
        kinds = [region["kind"] for region in page.get("regions", [])]
        found = ", ".join(f"{kinds.count(kind)} {kind}{'s' * (kinds.count(kind) > 1)}"
                          for kind in REGION_KINDS if kind in kinds)
        parts = [f"{len(page.get('lines', []))} lines" + (f" ({found})" if found else "")]
        turn = page.get("orientation", {})
        if turn.get("angle"):
            parts.append(f"read turned back by {turn['angle']}° (classifier {turn['confidence']:.2f})")
        if turn.get("upside_down_lines"):
            parts.append(f"{turn['upside_down_lines']} lines printed upside down, read turned")
        notes.append(f"**Page {page['index'] + 1}**: " + "; ".join(parts))
    return "  \n".join(notes)
