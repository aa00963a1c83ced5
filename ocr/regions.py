"""Regions of a page: its blocks (ocr/layout.py) divided into what a reader sees, in reading order.

    find_regions(lines, blocks, height, figures=()) -> [Region(kind, box, lines, level)]

Kinds (REGION_KINDS): a `table` block is one region, and so is a `sidebar` block (ocr/sidebars.py).
A text block is divided into `title` runs (lines at least HEADING_SCALE x the page's median line
height, at most HEADING_MAX_WORDS words; level 1 from twice that) and `paragraph` runs (split where
the gap to the next line exceeds PARAGRAPH_GAP line heights). A line that opens with a figure's or
table's label ("Figure 7-26.", "Fig. 2:", "Table 1.", CAPTION_LABEL) starts a `caption`, which goes
on over the next lines of the paragraph while they follow within PARAGRAPH_GAP, start where its
first line starts (within a line height) and the line before is full (CAPTION_FULL of the first
line's width or more), CAPTION_MAX_LINES at most. A paragraph of at most MARGIN_MAX_LINES lines no
taller than MARGIN_MAX_SCALE x the median, lying wholly in the top (bottom) MARGIN_BAND of the page,
MARGIN_GAP line heights or more clear of the text below (above) it (other margin text aside), is a
`header` (`footer`): running heads, page numbers. A `figure` (ocr/figures.py) takes the lines
printed on it out of the text and goes where its first line was read; a figure with no text goes
just before a caption it touches (the nearest within FIGURE_CAPTION_GAP line heights above or below
it), else before the first region below it that it overlaps across, else before the footer.
Geometry, the caption labels and the image's ink, no model.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Sequence

from .layout import Block, Line

if TYPE_CHECKING:
    from .figures import Figure

REGION_KINDS = ("header", "title", "paragraph", "caption", "table", "figure", "sidebar", "footer")
HEADING_SCALE = 1.5
HEADING_MAX_WORDS = 12
PARAGRAPH_GAP = 0.8
MARGIN_BAND = 0.1
MARGIN_MAX_LINES = 2
MARGIN_GAP = 1.5
MARGIN_MAX_SCALE = 1.2
# The label, its number ("7-26", "2", "IV", "A.1") and the punctuation after it: "Figure 3 was made
# with ..." is a sentence, not a caption.
CAPTION_LABEL = re.compile(r"(?:Figure|Fig\.?|Table|Tableau|Chart|Exhibit|Plate|Map)\s*[0-9IVXA-Z][0-9IVX.\-]*\s*[.:\u2013\u2014-]")
CAPTION_MAX_LINES = 6
CAPTION_FULL = 0.8
FIGURE_CAPTION_GAP = 2.0


@dataclass(frozen=True)
class Region:
    """A run of lines (indices into the page's lines) of one kind; box = the axis-aligned rectangle
    around them (4 points clockwise from top-left); level = 1 or 2 for a title, else 0."""

    kind: str
    box: list[list[float]]
    lines: list[int]
    level: int = 0


def line_height(line: Line) -> float:
    """Height of a line's (possibly rotated) box: its left edge."""
    (x0, y0), (x3, y3) = line.box[0], line.box[3]
    return max(math.hypot(x3 - x0, y3 - y0), 1.0)


def find_regions(lines: Sequence[Line], blocks: Sequence[Block], height: int,
                 figures: Sequence[Figure] = ()) -> list[Region]:
    """The regions of a page's blocks and figures, in reading order; lines no block holds are left out."""
    if not lines:
        return []
    typical = median(line_height(line) for line in lines)
    angle = median(math.atan2(line.box[1][1] - line.box[0][1], line.box[1][0] - line.box[0][0]) for line in lines)
    on_figures = {i for figure in figures for i in figure.lines}
    runs: list[tuple[str, list[int], int]] = []
    for block in blocks:
        members = [i for i in block.lines if i not in on_figures]
        if not members:
            continue
        if block.kind in ("table", "sidebar"):
            runs.append((block.kind, members, 0))
        else:
            runs.extend(_text_runs(lines, members, typical, angle))
    regions = [Region(kind, _box(lines, members), members, level) for kind, members, level in runs]
    regions = [_margin(region, regions, lines, typical, height) for region in regions]
    for figure in figures:
        x0, y0, x1, y1 = figure.box
        box = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
        region = Region("figure", box, list(figure.lines))
        regions.insert(_figure_place(region, regions, typical), region)
    return regions


def _figure_place(figure: Region, regions: list[Region], typical: float) -> int:
    """Where a figure goes in the reading order of regions (see the module docstring)."""
    if figure.lines:
        first = figure.lines[0]
        return next((k for k, r in enumerate(regions) if r.lines and r.lines[0] > first), len(regions))
    (x0, y0), (x1, y1) = figure.box[0], figure.box[2]
    across = [k for k, r in enumerate(regions) if r.box[0][0] < x1 and r.box[2][0] > x0]
    gaps = {k: max(regions[k].box[0][1] - y1, y0 - regions[k].box[2][1])
            for k in across if regions[k].kind == "caption"}
    touching = [k for k, gap in gaps.items() if 0 <= gap <= FIGURE_CAPTION_GAP * typical]
    if touching:
        return min(touching, key=gaps.__getitem__)
    footers = [k for k, r in enumerate(regions) if r.kind == "footer"] + [len(regions)]
    return next((k for k in across if regions[k].box[0][1] >= y1), footers[0])


def _text_runs(lines: Sequence[Line], members: Sequence[int], typical: float,
               angle: float) -> list[tuple[str, list[int], int]]:
    """A text block's lines as title and paragraph runs, top to bottom (gaps measured across the
    lines of a page skewed by angle radians)."""
    runs: list[tuple[str, list[int], int]] = []
    previous: int | None = None
    for i in members:
        line = lines[i]
        if not line.text.strip():
            continue
        size = line_height(line) / typical
        gap = _across(lines[i], angle)[0] - _across(lines[previous], angle)[1] if previous is not None else 0.0
        if size >= HEADING_SCALE and len(line.text.split()) <= HEADING_MAX_WORDS:
            kind, level = "title", 1 if size >= 2 * HEADING_SCALE else 2
        elif CAPTION_LABEL.match(line.text.strip()):
            runs.append(("caption", [i], 0))
            previous = i
            continue
        elif runs and runs[-1][0] == "caption" and _caption_goes_on(lines, runs[-1][1], line, gap, typical):
            kind, level = "caption", 0
        else:
            kind, level = "paragraph", 0
        same = runs and runs[-1][0] == kind and runs[-1][2] == level
        if same and (kind in ("title", "caption") or gap <= PARAGRAPH_GAP * typical):
            runs[-1][1].append(i)
        else:
            runs.append((kind, [i], level))
        previous = i
    return runs


def _caption_goes_on(lines: Sequence[Line], caption: list[int], line: Line, gap: float, typical: float) -> bool:
    """Whether line, gap below the caption's last line, continues it (see CAPTION_LABEL)."""
    first, last = lines[caption[0]], lines[caption[-1]]
    return (len(caption) < CAPTION_MAX_LINES and gap <= PARAGRAPH_GAP * typical
            and abs(line.box[0][0] - first.box[0][0]) <= typical
            and _width(last) >= CAPTION_FULL * _width(first))


def _width(line: Line) -> float:
    (x0, y0), (x1, y1) = line.box[0], line.box[1]
    return math.hypot(x1 - x0, y1 - y0)


def _margin(region: Region, regions: list[Region], lines: Sequence[Line], typical: float, height: int) -> Region:
    """The region as a header or footer when it is a short paragraph alone at the top or bottom."""
    if region.kind != "paragraph" or len(region.lines) > MARGIN_MAX_LINES:
        return region
    if any(line_height(lines[i]) > MARGIN_MAX_SCALE * typical for i in region.lines):
        return region  # larger than the body text: a heading, not a running head
    top, bottom = region.box[0][1], region.box[2][1]
    head_band, foot_band = MARGIN_BAND * height, (1 - MARGIN_BAND) * height
    if bottom <= head_band and all(r.box[0][1] - bottom >= MARGIN_GAP * typical
                                   for r in regions if r.box[2][1] > head_band):
        return Region("header", region.box, region.lines)
    if top >= foot_band and all(top - r.box[2][1] >= MARGIN_GAP * typical
                                for r in regions if r.box[0][1] < foot_band):
        return Region("footer", region.box, region.lines)
    return region


def _across(line: Line, angle: float) -> tuple[float, float]:
    """Top and bottom of a line measured at right angles to text skewed by angle radians."""
    sin, cos = math.sin(angle), math.cos(angle)
    ys = [y * cos - x * sin for x, y in line.box]
    return min(ys), max(ys)


def _box(lines: Sequence[Line], members: Sequence[int]) -> list[list[float]]:
    points = [p for i in members for p in lines[i].box]
    x0, y0 = min(p[0] for p in points), min(p[1] for p in points)
    x1, y1 = max(p[0] for p in points), max(p[1] for p in points)
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
