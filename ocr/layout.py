"""Reading order: group detected text fragments into lines, columns and tables (pure geometry).

Steps (details in docs/layout.md): estimate the page skew from the fragment boxes and work in
de-skewed ("upright") coordinates; split the page recursively into column sections where a real
gutter separates paragraph columns (XY-cut restricted to gutters), side-by-side lists, or two
sides whose rows do not align (the pages of a two-up sheet); inside each remaining region
group fragments into lines by baseline, and turn runs of rows whose cells align into tables.
All distances are multiples of the median fragment height of the page (`h` below).
"""
from __future__ import annotations

import math
import re
from bisect import bisect
from dataclasses import dataclass, field
from statistics import median
from typing import NamedTuple, Sequence

from .sidebars import split_sidebars

Point = tuple[float, float]

# Line grouping: two boxes share a line when they overlap vertically by this share of the
# smaller height and horizontally by less than SAME_LINE_MAX_X_OVERLAP of the narrower width.
LINE_OVERLAP = 0.5
SAME_LINE_MAX_X_OVERLAP = 0.3
# Share of each box height ignored at top and bottom when looking for horizontal whitespace
# (detectors pad their boxes, so boxes of neighbouring lines may touch).
PROJECTION_TRIM = 0.2
# Column gutters: a vertical whitespace band at least GUTTER_MIN_WIDTH x h wide, running along
# GUTTER_MIN_LINES lines or more, that splits a run of rows into columns of paragraph text: each
# column has COLUMN_MIN_LINES lines or more, is COLUMN_MIN_WIDTH x h wide or more, has
# COLUMN_MIN_WORDS words per line (median) or more and is prose: at least COLUMN_MIN_LETTERS of
# its characters are letters (receipt price columns and numeric tables are not).
GUTTER_MIN_WIDTH = 0.8
# Gutters are looked for between the boxes' cores: the detector pads every box by about a third of
# its height on all sides (DB unclip), which closes the narrow gutters of real multi-column pages
# (a Federal Register gutter is about one cap height). CORE_TRIM x h is cut from every side (at most
# CORE_MAX_SHARE of the box's own height or width), and a gap between cores counts as a gutter from
# GUTTER_MIN_CORE_WIDTH x the median core height.
CORE_TRIM = 0.1
CORE_MAX_SHARE = 0.4
GUTTER_MIN_CORE_WIDTH = 0.6
GUTTER_MIN_LINES = 5
COLUMN_MIN_LINES = 3
COLUMN_MIN_WIDTH = 6.0
COLUMN_MIN_WORDS = 3
COLUMN_MIN_LETTERS = 0.5
# List columns (election bulletins, directories, indexes): side-by-side columns of short entries
# (names, labels, counts) that fail the prose test but are still read column by column. Gutters are
# measured between the words' ink (the detector's padded boxes of a right-aligned count and the
# next column's first word touch across a ruling line). Sub-columns narrower than COLUMN_MIN_WIDTH
# x h (a column's own counts and codes) join the column on their left. Each column has
# LIST_MIN_LINES lines or more and LIST_MIN_BREAKS blank-line breaks (gaps of LIST_BREAK x h or
# more between consecutive lines) or more, and at least LIST_MIN_OWN_BREAKS of all breaks are not
# shared by every other column (no break overlapping it there): the columns group their entries
# independently. A table's rows, and so its blank rows, are shared by all its columns.
LIST_MIN_LINES = 8
LIST_MIN_BREAKS = 2
LIST_BREAK = 0.5
LIST_MIN_OWN_BREAKS = 0.5
# Side by side (the two pages of a two-up sheet, once per page): a gutter, found as for
# paragraph columns, that parts two sides of SIDE_MIN_LINES lines or more, each COLUMN_MIN_WIDTH x h
# wide or more, whose lines do not share baselines: of the lines on the side with fewer, at most
# SIDE_MAX_ALIGNED have a line on the other side whose centre is within SIDE_ALIGN x h of theirs. The
# rows of a table or a form, or a price beside its item, are aligned; the lines of two pages that know
# nothing of each other only by chance. Each side is then laid out on its own.
SIDE_MIN_LINES = 5
SIDE_ALIGN = 0.2
SIDE_MAX_ALIGNED = 0.7
# Tables: TABLE_MIN_ROWS consecutive rows, each split into cells by gaps of CELL_GAP x h or more,
# whose cells leave common vertical whitespace (TABLE_COLUMN_MIN_GAP x h or more) between columns.
# The table goes on below them over rows of two cells or more that keep to its columns, and over up
# to TABLE_MAX_BETWEEN other rows inside its width (section headings across the table, cells wrapped
# onto lines of their own, header cells the detector joined) where such a row follows them.
CELL_GAP = 1.0
TABLE_MIN_ROWS = 3
TABLE_COLUMN_MIN_GAP = 0.5
TABLE_MAX_BETWEEN = 4
# Line-number margin (pleadings, depositions): a column at most MARGIN_MAX_WIDTH x h wide whose
# fragments are mostly (MARGIN_MIN_NUMERIC_SHARE) short integers. It prefixes its text lines and
# does not count as a table column.
MARGIN_MAX_WIDTH = 3.0
MARGIN_MIN_NUMERIC_SHARE = 0.8
MARGIN_NUMBER = re.compile(r"\d{1,3}")
# Skew: only boxes at least SKEW_MIN_ASPECT heights wide vote for the page angle; angles beyond
# MAX_SKEW_DEGREES are not skew (rotated pages are out of scope) and are ignored.
SKEW_MIN_ASPECT = 2.0
MAX_SKEW_DEGREES = 15.0


@dataclass(frozen=True)
class Word:
    """One word of a line (text without spaces) with its box: 4 points clockwise from top-left."""

    text: str
    score: float
    box: tuple[Point, ...]


@dataclass(frozen=True)
class Fragment:
    """One detected text box with its recognised text; box = 4 points clockwise from top-left;
    words = its words in reading order (ocr/words.py), empty when not known; upside_down: the line
    was printed upside down and read turned (ocr/textlines.py), its words then run right to left."""

    text: str
    score: float
    box: tuple[Point, ...]
    words: tuple[Word, ...] = ()
    upside_down: bool = False


@dataclass
class Line:
    """One text line in reading order; fragments are indices into the analyze() input; upside_down:
    all its fragments were printed upside down and read turned (its words run right to left)."""

    text: str
    score: float
    box: list[list[float]]
    fragments: list[int]
    words: list[Word] = field(default_factory=list)  # the fragments' words, in reading order
    upside_down: bool = False


@dataclass
class Cell:
    """One cell of a table block: row and column indices (0-based, row = the block's n-th line);
    column_span: how many columns its text reaches from `column` (a section heading: often several)."""

    row: int
    column: int
    text: str
    box: list[list[float]]
    column_span: int = 1


@dataclass
class Block:
    """A paragraph region ("text"), a table ("table") or a sidebar ("sidebar", ocr/sidebars.py);
    lines are indices into Layout.lines. A table's non-empty cells are in `cells`, row by row, left
    to right."""

    kind: str
    box: list[list[float]]
    lines: list[int]
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Layout:
    """Lines and blocks of one page in reading order; text = lines joined by newlines."""

    lines: list[Line] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    text: str = ""


class _Rect(NamedTuple):
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class _Frame:
    """Rotation between page coordinates and upright (de-skewed) coordinates."""

    angle: float
    cx: float
    cy: float

    def upright(self, x: float, y: float) -> Point:
        c, s, dx, dy = math.cos(self.angle), math.sin(self.angle), x - self.cx, y - self.cy
        return self.cx + dx * c + dy * s, self.cy - dx * s + dy * c

    def page(self, x: float, y: float) -> Point:
        c, s, dx, dy = math.cos(self.angle), math.sin(self.angle), x - self.cx, y - self.cy
        return self.cx + dx * c - dy * s, self.cy + dx * s + dy * c

    def bounds(self, box: Sequence[Point]) -> _Rect:
        points = [self.upright(x, y) for x, y in box]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return _Rect(min(xs), min(ys), max(xs), max(ys))

    def polygon(self, rect: _Rect) -> list[list[float]]:
        corners = [(rect.x0, rect.y0), (rect.x1, rect.y0), (rect.x1, rect.y1), (rect.x0, rect.y1)]
        return [[round(v, 1) for v in self.page(x, y)] for x, y in corners]


@dataclass(frozen=True)
class _Page:
    """Upright boxes and texts of the fragments being analysed, with the median text height."""

    texts: dict[int, str]
    rects: dict[int, _Rect]
    h: float
    cores: dict[int, _Rect] = field(default_factory=dict)  # rects without the detector's padding
    core_h: float = 1.0
    inks: dict[int, tuple[float, float]] = field(default_factory=dict)  # x-extent of the words
    line_memo: dict[tuple[int, ...], list[list[int]]] = field(default_factory=dict, compare=False)

    def lines(self, idx: Sequence[int]) -> list[list[int]]:
        """_lines(idx), remembered (the list-column search looks at the same columns often)."""
        key = tuple(sorted(idx))
        if key not in self.line_memo:
            self.line_memo[key] = _lines(key, self)
        return self.line_memo[key]

    def span(self, idx: Sequence[int]) -> _Rect:
        rects = [self.rects[i] for i in idx]
        return _Rect(min(r.x0 for r in rects), min(r.y0 for r in rects),
                     max(r.x1 for r in rects), max(r.y1 for r in rects))


@dataclass
class _BlockPlan:
    """A block before output: its rows of fragment indices and, for a table, the gaps between its columns."""

    kind: str
    rows: list[list[int]]
    gaps: list[tuple[float, float]] = field(default_factory=list)  # a table's whitespace between columns (upright x)


def analyze(fragments: Sequence[Fragment], width: int, height: int) -> Layout:
    """Order recognised fragments into lines and blocks; fragments with blank text are ignored."""
    kept = [i for i, f in enumerate(fragments) if f.text.strip()]
    if not kept:
        return Layout()
    frame = _Frame(_estimate_angle([fragments[i].box for i in kept]), width / 2, height / 2)
    rects = {i: frame.bounds(fragments[i].box) for i in kept}
    h = max(median(r.height for r in rects.values()), 1.0)
    cores = {i: _core(r, h) for i, r in rects.items()}
    inks = {i: _ink(fragments[i], frame, cores[i]) for i in kept}
    page = _Page({i: fragments[i].text.strip() for i in kept}, rects, h, cores,
                 max(median(r.height for r in cores.values()), 1.0), inks)
    main, sidebars = split_sidebars(kept, rects, page.texts, h)
    plans = [plan for region in _regions(main, page) for plan in _blocks(region, page)]
    for sidebar in sidebars:  # after the last block of the text it stands beside
        x0, x1 = sidebar.beside
        beside = [k for k, plan in enumerate(plans)
                  if any(x0 <= rects[i].cx <= x1 for row in plan.rows for i in row)]
        plans.insert(beside[-1] + 1 if beside else len(plans), _BlockPlan("sidebar", page.lines(sidebar.fragments)))
    return _assemble(plans, fragments, page, frame)


def _core(r: _Rect, h: float) -> _Rect:
    """The box without the detector's padding (CORE_TRIM x h per side, bounded by its own size)."""
    tx = min(CORE_TRIM * h, CORE_MAX_SHARE * (r.x1 - r.x0))
    ty = min(CORE_TRIM * h, CORE_MAX_SHARE * r.height)
    return _Rect(r.x0 + tx, r.y0 + ty, r.x1 - tx, r.y1 - ty)


def _ink(fragment: Fragment, frame: "_Frame", core: _Rect) -> tuple[float, float]:
    """Upright x-extent of the fragment's words (its core when the words are not known)."""
    if not fragment.words:
        return core.x0, core.x1
    spans = [frame.bounds(word.box) for word in fragment.words]
    return max(min(r.x0 for r in spans), core.x0), min(max(r.x1 for r in spans), core.x1)


# --- skew -------------------------------------------------------------------------------------

def _estimate_angle(boxes: Sequence[Sequence[Point]]) -> float:
    """Dominant text angle (radians, clockwise positive) from the long boxes' top/bottom edges."""
    votes: list[tuple[float, float]] = []
    for p in boxes:
        if len(p) != 4:
            continue
        dx = (p[1][0] - p[0][0]) + (p[2][0] - p[3][0])
        dy = (p[1][1] - p[0][1]) + (p[2][1] - p[3][1])
        width = math.hypot(dx, dy) / 2
        height = (math.dist(p[0], p[3]) + math.dist(p[1], p[2])) / 2
        if width >= SKEW_MIN_ASPECT * max(height, 1e-6):
            votes.append((math.atan2(dy, dx), width))
    if not votes:
        return 0.0
    angle = _weighted_median(votes)
    return angle if abs(angle) <= math.radians(MAX_SKEW_DEGREES) else 0.0


def _weighted_median(pairs: list[tuple[float, float]]) -> float:
    pairs.sort()
    half, total = sum(w for _, w in pairs) / 2, 0.0
    for value, weight in pairs:
        total += weight
        if total >= half:
            return value
    return pairs[-1][0]


# --- intervals --------------------------------------------------------------------------------

def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of intervals as sorted disjoint intervals."""
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _gaps(merged: list[tuple[float, float]], min_width: float) -> list[tuple[float, float]]:
    """Whitespace between consecutive merged intervals that is at least min_width wide."""
    return [(a[1], b[0]) for a, b in zip(merged, merged[1:]) if b[0] - a[1] >= min_width]


def _x_extent(idx: Sequence[int], page: _Page) -> list[tuple[float, float]]:
    return _merge([(page.rects[i].x0, page.rects[i].x1) for i in idx])


def _core_extent(idx: Sequence[int], page: _Page) -> list[tuple[float, float]]:
    return _merge([(page.cores[i].x0, page.cores[i].x1) for i in idx])


def _cuts(gaps: list[tuple[float, float]]) -> list[float]:
    return [(lo + hi) / 2 for lo, hi in gaps]


def _split_by(idx: Sequence[int], cuts: list[float], page: _Page) -> list[list[int]]:
    parts: list[list[int]] = [[] for _ in range(len(cuts) + 1)]
    for i in idx:
        parts[bisect(cuts, page.rects[i].cx)].append(i)
    return parts


# --- columns (XY-cut restricted to real gutters) -----------------------------------------------

def _regions(idx: list[int], page: _Page, apart: bool = True) -> list[list[int]]:
    """Split into regions without columns, in reading order: above, each column, below. Two sides
    are parted once at most (apart: not yet; the two pages of a sheet, not a table's columns)."""
    strips = _strips(idx, page)
    section = _column_section(strips, page) or _list_section(strips, page)
    if section is None and apart:
        section = _side_by_side_section(strips, page)
        apart = section is None
    if section is None:
        return [idx]
    start, stop, columns = section
    above = [i for strip in strips[:start] for i in strip]
    below = [i for strip in strips[stop:] for i in strip]
    return [region for part in (above, *columns, below) if part for region in _regions(part, page, apart)]


def _strips(idx: list[int], page: _Page) -> list[list[int]]:
    """Horizontal bands separated by whitespace (top to bottom); a line never spans two bands."""
    bands = sorted((_trimmed_band(page.rects[i], page.h), i) for i in idx)
    strips: list[list[int]] = []
    bottom = -math.inf
    for (top, low), i in bands:
        if strips and top < bottom:
            strips[-1].append(i)
            bottom = max(bottom, low)
        else:
            strips.append([i])
            bottom = low
    return strips


def _trimmed_band(r: _Rect, h: float) -> tuple[float, float]:
    """The box's vertical extent without the detector's padding (PROJECTION_TRIM x h each side)."""
    trim = min(PROJECTION_TRIM * h, r.height / 2)
    return r.y0 + trim, r.y1 - trim


def _column_section(strips: list[list[int]], page: _Page) -> tuple[int, int, list[list[int]]] | None:
    """The largest run of strips [start, stop) that gutters split into paragraph columns."""
    min_gap = GUTTER_MIN_CORE_WIDTH * page.core_h
    extents = [_close(_core_extent(strip, page), _strip_min_gap(strip, page)) for strip in strips]
    for start, stop in _gutter_runs(extents, min_gap, strips):
        covered = _merge([span for extent in extents[start:stop] for span in extent])
        cuts = _cuts(_gaps(covered, min_gap))
        stop = _columns_go_on(strips, stop, cuts, page)
        members = [i for strip in strips[start:stop] for i in strip]
        columns = _join_number_margins(_split_by(members, cuts, page), page)
        if len(columns) >= 2 and _paragraph_columns(columns, page):
            return start, stop, columns
    return None


def _columns_go_on(strips: list[list[int]], stop: int, cuts: list[float], page: _Page) -> int:
    """The end of a column section, moved down over the strips whose fragments all keep to one column
    (none crosses a cut) though the gap between them there is narrower than a gutter must be to be
    found: the last lines of two justified columns, side by side, one detector box each."""
    while stop < len(strips) and not any(page.cores[i].x0 < cut < page.cores[i].x1
                                         for i in strips[stop] for cut in cuts):
        stop += 1
    return stop


def _join_number_margins(columns: list[list[int]], page: _Page) -> list[list[int]]:
    """Columns with each line-number margin joined to the text column on its right: the two pages
    of a two-up transcript sheet are two columns, each with its own margin of numbers."""
    joined: list[list[int]] = []
    pending: list[int] = []
    for k, column in enumerate(columns):
        if k + 1 < len(columns) and _is_number_margin(column, page):
            pending += column
            continue
        joined.append(pending + column)
        pending = []
    return joined


def _list_section(strips: list[list[int]], page: _Page) -> tuple[int, int, list[list[int]]] | None:
    """The run of strips [start, stop) that gutters between the words' ink split into the most
    list columns (see LIST_MIN_LINES), the largest of those; narrow sub-columns join the column on
    their left. A whitespace band across all the columns with no list above it ends a header
    block, which is left out of the run (read above it, row by row)."""
    min_gap = GUTTER_MIN_CORE_WIDTH * page.core_h
    extents = [_close(_merge([page.inks[i] for i in strip]), _strip_min_gap(strip, page)) for strip in strips]

    tried: dict[tuple[int, int], list[list[int]] | None] = {}

    def columns_of(start: int, stop: int) -> list[list[int]] | None:
        if (start, stop) not in tried:
            members = [i for strip in strips[start:stop] for i in strip]
            covered = _merge([span for extent in extents[start:stop] for span in extent])
            columns = _join_narrow(_split_by(members, _cuts(_gaps(covered, min_gap)), page), page)
            tried[start, stop] = columns if len(columns) >= 2 and _list_columns(columns, page) else None
        return tried[start, stop]

    found = []
    for start, stop in _gutter_runs(extents, min_gap, strips):
        columns = columns_of(start, stop)
        if columns is None:
            continue
        # the first whitespace band across every column with no list above it and lists below it
        # ends a header block
        cuts = sorted({k for lo, hi in _shared_breaks(columns, page) for k in range(start + 1, stop)
                       if _strip_top(strips[k], page) >= (lo + hi) / 2 > _strip_top(strips[k - 1], page)})
        for k in cuts:
            below = columns_of(k, stop) if columns_of(start, k) is None else None
            if below is not None:
                start, columns = k, below
                break
        found.append((start, stop, columns))
    # the most columns first: a header strip above the lists that crosses one gutter joins fewer
    return max(found, key=lambda run: len(run[2]), default=None)


def _side_by_side_section(strips: list[list[int]], page: _Page) -> tuple[int, int, list[list[int]]] | None:
    """All the strips as two sides, when a gutter runs from their top to their bottom and parts them into
    sides whose lines do not align (see SIDE_MIN_LINES); of several such gutters, the one whose sides
    align least, then the widest."""
    members = [i for strip in strips for i in strip]
    gaps = _gaps(_merge(_core_extent(members, page)), GUTTER_MIN_CORE_WIDTH * page.core_h)
    scored = []
    for lo, hi in gaps:
        sides = _split_by(members, [(lo + hi) / 2], page)
        share = _aligned_share(sides, page)
        if share <= SIDE_MAX_ALIGNED:
            scored.append((share, lo - hi, sides))
    return (0, len(strips), min(scored, key=lambda found: found[:2])[2]) if scored else None


def _aligned_share(sides: list[list[int]], page: _Page) -> float:
    """Share of the lines on the side with fewer that have a line on the other side at their height
    (SIDE_ALIGN); 1.0 unless both sides are wide columns of SIDE_MIN_LINES lines or more."""
    lines = [page.lines(side) for side in sides]
    if min(len(side_lines) for side_lines in lines) < SIDE_MIN_LINES or min(
            _width(side, page) for side in sides) < COLUMN_MIN_WIDTH * page.h:
        return 1.0
    fewer, other = sorted(([page.span(line).cy for line in side_lines] for side_lines in lines), key=len)
    other.sort()
    aligned = 0
    for y in fewer:
        k = bisect(other, y)
        aligned += any(abs(other[j] - y) <= SIDE_ALIGN * page.h for j in (k - 1, k) if 0 <= j < len(other))
    return aligned / len(fewer)


def _strip_top(strip: list[int], page: _Page) -> float:
    return min(page.rects[i].cy for i in strip)


def _column_breaks(column: list[int], page: _Page) -> list[tuple[float, float]]:
    """Blank-line breaks of a column: (bottom, top) of consecutive lines LIST_BREAK x h apart or more."""
    spans = [page.span(line) for line in page.lines(column)]
    return [(a.y1, b.y0) for a, b in zip(spans, spans[1:]) if b.y0 - a.y1 >= LIST_BREAK * page.h]


def _shared_breaks(columns: list[list[int]], page: _Page) -> list[tuple[float, float]]:
    """Whitespace bands that every column has a break across."""
    shared = _column_breaks(columns[0], page)
    for column in columns[1:]:
        breaks = _column_breaks(column, page)
        shared = [(max(lo, a), min(hi, b)) for lo, hi in shared for a, b in breaks if max(lo, a) < min(hi, b)]
    return shared


def _join_narrow(columns: list[list[int]], page: _Page) -> list[list[int]]:
    """Columns with every one narrower than COLUMN_MIN_WIDTH x h joined to the one on its left
    (the first to the one on its right)."""
    joined: list[list[int]] = []
    for column in columns:
        if joined and (_width(column, page) < COLUMN_MIN_WIDTH * page.h or _width(joined[-1], page) < COLUMN_MIN_WIDTH * page.h):
            joined[-1] = joined[-1] + column
        else:
            joined.append(column)
    return joined


def _width(idx: list[int], page: _Page) -> float:
    span = page.span(idx)
    return span.x1 - span.x0


def _list_columns(columns: list[list[int]], page: _Page) -> bool:
    """True when every column is a list whose blank-line breaks are its own (LIST_MIN_LINES)."""
    breaks = []
    for column in columns:
        chars = "".join(page.texts[i] for i in column).replace(" ", "")
        if (len(page.lines(column)) < LIST_MIN_LINES or _width(column, page) < COLUMN_MIN_WIDTH * page.h
                or sum(c.isalpha() for c in chars) < COLUMN_MIN_LETTERS * len(chars)):
            return False
        gaps = _column_breaks(column, page)
        if len(gaps) < LIST_MIN_BREAKS:
            return False
        breaks.append(gaps)
    shared = sum(all(any(max(lo, a) < min(hi, b) for a, b in gaps) for j, gaps in enumerate(breaks) if j != k)
                 for k, own in enumerate(breaks) for lo, hi in own)
    total = sum(len(own) for own in breaks)
    return total - shared >= LIST_MIN_OWN_BREAKS * total


def _gutter_runs(extents: list[list[tuple[float, float]]], min_gap: float, strips: list[list[int]]) -> list[tuple[int, int]]:
    """Runs of strips [start, stop) whose united x-extents keep a gap of min_gap, most fragments first."""
    runs = []
    for start in range(len(strips)):
        covered: list[tuple[float, float]] = []
        stop = start
        while stop < len(strips):
            grown = _merge(covered + extents[stop])
            if not _gaps(grown, min_gap):
                break
            covered, stop = grown, stop + 1
        if stop > start:
            runs.append((start, stop))
    runs.sort(key=lambda run: sum(len(s) for s in strips[run[0]:run[1]]), reverse=True)
    return runs


def _strip_min_gap(strip: list[int], page: _Page) -> float:
    """Narrowest gutter in a strip: relative to its own text height when that is larger than the
    page's (the word gaps of a big title are not gutters)."""
    return GUTTER_MIN_CORE_WIDTH * max(page.core_h, median(page.cores[i].height for i in strip))


def _close(merged: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    """Merged intervals with the gaps narrower than min_gap filled."""
    closed: list[tuple[float, float]] = []
    for lo, hi in merged:
        if closed and lo - closed[-1][1] < min_gap:
            closed[-1] = (closed[-1][0], hi)
        else:
            closed.append((lo, hi))
    return closed


def _paragraph_columns(columns: list[list[int]], page: _Page) -> bool:
    """True when every column is paragraph text and the gutter runs along GUTTER_MIN_LINES lines."""
    tallest = 0
    for column in columns:
        lines = _text_column_lines(column, page)
        if not lines:
            return False
        tallest = max(tallest, lines)
    return tallest >= GUTTER_MIN_LINES


def _text_column_lines(idx: list[int], page: _Page) -> int:
    """Line count of a column of paragraph text; 0 for numbers, labels or table cells."""
    span = page.span(idx)
    if span.x1 - span.x0 < COLUMN_MIN_WIDTH * page.h:
        return 0
    lines = _lines(idx, page)
    if len(lines) < COLUMN_MIN_LINES:
        return 0
    words = median(sum(len(page.texts[i].split()) for i in line) for line in lines)
    chars = "".join(page.texts[i] for i in idx).replace(" ", "")
    letters = sum(c.isalpha() for c in chars) / len(chars)
    return len(lines) if words >= COLUMN_MIN_WORDS and letters >= COLUMN_MIN_LETTERS else 0


# --- lines ------------------------------------------------------------------------------------

def _lines(idx: Sequence[int], page: _Page) -> list[list[int]]:
    """Group fragments sharing a baseline; lines top to bottom, fragments left to right."""
    lines: list[list[int]] = []
    bands: list[tuple[float, float]] = []  # running mean top and bottom of each line
    for i in sorted(idx, key=lambda i: page.rects[i].cy):
        best, best_overlap = -1, LINE_OVERLAP
        for k, line in enumerate(lines):
            overlap = _line_overlap(page.rects[i], bands[k], line, page)
            if overlap >= best_overlap:
                best, best_overlap = k, overlap
        r = page.rects[i]
        if best < 0:
            lines.append([i])
            bands.append((r.y0, r.y1))
        else:
            n = len(lines[best])
            top, bottom = bands[best]
            bands[best] = ((top * n + r.y0) / (n + 1), (bottom * n + r.y1) / (n + 1))
            lines[best].append(i)
    order = sorted(range(len(lines)), key=lambda k: bands[k][0] + bands[k][1])
    return [sorted(lines[k], key=lambda i: page.rects[i].x0) for k in order]


def _line_overlap(r: _Rect, band: tuple[float, float], line: list[int], page: _Page) -> float:
    """Vertical overlap with a line's band over the smaller height; 0 if it collides in x."""
    top, bottom = band
    overlap = (min(r.y1, bottom) - max(r.y0, top)) / max(min(r.height, bottom - top), 1e-6)
    if overlap < LINE_OVERLAP:
        return overlap
    for j in line:
        o = page.rects[j]
        narrower = max(min(r.x1 - r.x0, o.x1 - o.x0), 1e-6)
        if (min(r.x1, o.x1) - max(r.x0, o.x0)) / narrower > SAME_LINE_MAX_X_OVERLAP:
            return 0.0
    return overlap


# --- tables -----------------------------------------------------------------------------------

def _blocks(region: list[int], page: _Page) -> list[_BlockPlan]:
    """Lines of a column-free region as text blocks and table blocks, top to bottom."""
    rows = _lines(region, page)
    plans: list[_BlockPlan] = []
    start = 0
    while start < len(rows):
        stop, gaps = _aligned_rows(rows, start, page)
        if gaps:
            stop = _table_continues(rows, start, stop, gaps, page)
            plans.append(_BlockPlan("table", rows[start:stop], gaps))
        elif plans and plans[-1].kind == "text":
            plans[-1].rows.extend(rows[start:stop])
        else:
            plans.append(_BlockPlan("text", rows[start:stop]))
        start = stop
    return plans


def _aligned_rows(rows: list[list[int]], start: int, page: _Page) -> tuple[int, list[tuple[float, float]]]:
    """(stop, whitespace between the columns) of the longest run of multi-cell rows from `start` whose
    cells align.

    The gaps are empty when the run is not a table: shorter than TABLE_MIN_ROWS, or fewer than two
    content columns (text lines prefixed by a line-number margin); stop is then at least start+1."""
    min_gap = TABLE_COLUMN_MIN_GAP * page.h
    stop, gaps = start, []
    covered: list[tuple[float, float]] = []
    while stop < len(rows) and _cell_count(rows[stop], page) >= 2:
        grown = _merge(covered + _x_extent(rows[stop], page))
        grown_gaps = _gaps(grown, min_gap)
        if not grown_gaps:
            break
        covered, gaps, stop = grown, grown_gaps, stop + 1
    if stop - start < TABLE_MIN_ROWS:
        return start + 1, []
    columns = _split_by([i for row in rows[start:stop] for i in row], _cuts(gaps), page)
    content_columns = len(columns) - _is_number_margin(columns[0], page)
    return stop, gaps if content_columns >= 2 else []


def _table_continues(rows: list[list[int]], start: int, stop: int, gaps: list[tuple[float, float]], page: _Page) -> int:
    """Where the table of rows [start, stop) ends: after the rows of two cells or more below it that
    keep to its columns, each after at most TABLE_MAX_BETWEEN other rows inside the table's width."""
    width = page.span([i for row in rows[start:stop] for i in row])
    while True:
        ahead = None
        for k in range(stop, min(stop + TABLE_MAX_BETWEEN + 1, len(rows))):
            if _keeps_columns(rows[k], gaps, page):
                ahead = k
                break
            span = page.span(rows[k])
            if span.x0 < width.x0 - page.h or span.x1 > width.x1 + page.h:
                break
        if ahead is None:
            return stop
        stop = ahead + 1


def _keeps_columns(row: list[int], gaps: list[tuple[float, float]], page: _Page) -> bool:
    """A row of two cells or more, none of them across the whitespace between two columns."""
    return _cell_count(row, page) >= 2 and all(first == last for first, last, _ in _row_cells(row, gaps, page))


def _row_cells(row: list[int], gaps: list[tuple[float, float]], page: _Page) -> list[tuple[int, int, list[int]]]:
    """The non-empty cells of a table row, left to right: (first column, last column, fragments).
    A fragment starts in the column its words' ink starts in (split at the middle of each gap) and
    reaches every column whose gap on the left its ink crosses; fragments reaching the same column
    share a cell."""
    cuts = _cuts(gaps)
    cells: list[tuple[int, int, list[int]]] = []
    for i in sorted(row, key=lambda i: page.rects[i].x0):
        x0, x1 = page.inks[i]
        first = bisect(cuts, x0)
        last = max(first, sum(hi < x1 for _, hi in gaps))
        if cells and first <= cells[-1][1]:
            start, end, members = cells[-1]
            cells[-1] = (start, max(end, last), members + [i])
        else:
            cells.append((first, last, [i]))
    return cells


def _cell_count(row: list[int], page: _Page) -> int:
    return len(_gaps(_x_extent(row, page), CELL_GAP * page.h)) + 1


def _is_number_margin(idx: list[int], page: _Page) -> bool:
    """A narrow column of short integers: the line numbers of pleadings and depositions."""
    span = page.span(idx)
    numeric = sum(bool(MARGIN_NUMBER.fullmatch(page.texts[i])) for i in idx)
    return span.x1 - span.x0 <= MARGIN_MAX_WIDTH * page.h and numeric >= MARGIN_MIN_NUMERIC_SHARE * len(idx)


# --- output -----------------------------------------------------------------------------------

def _assemble(plans: list[_BlockPlan], fragments: Sequence[Fragment], page: _Page, frame: _Frame) -> Layout:
    layout = Layout()
    for plan in plans:
        first = len(layout.lines)
        table = [_row_cells(row, plan.gaps, page) for row in plan.rows] if plan.kind == "table" else []
        for r, row in enumerate(plan.rows):
            text = (_table_row_text(table[r], len(plan.gaps) + 1, page) if table
                    else " ".join(page.texts[i] for i in row))
            layout.lines.append(Line(text=text, score=_score(row, fragments),
                                     box=frame.polygon(page.span(row)), fragments=list(row),
                                     words=[w for i in row for w in fragments[i].words],
                                     upside_down=all(fragments[i].upside_down for i in row)))
        members = [i for row in plan.rows for i in row]
        layout.blocks.append(Block(kind=plan.kind, box=frame.polygon(page.span(members)),
                                   lines=list(range(first, len(layout.lines))), cells=_cells(table, page, frame)))
    layout.text = "\n".join(line.text for line in layout.lines)
    return layout


def _cells(table: list[list[tuple[int, int, list[int]]]], page: _Page, frame: _Frame) -> list[Cell]:
    """The non-empty cells of a table, from its rows' _row_cells (none for text)."""
    return [Cell(row=r, column=first, text=" ".join(page.texts[i] for i in cell), box=frame.polygon(page.span(cell)),
                 column_span=last - first + 1)
            for r, cells in enumerate(table)
            for first, last, cell in cells]


def _table_row_text(cells: list[tuple[int, int, list[int]]], columns: int, page: _Page) -> str:
    """A table row's text: its columns joined by tabs, empty ones kept (a cell across several columns in the
    first of them, as in tables_csv)."""
    texts = [""] * columns
    for first, _, cell in cells:
        texts[first] = " ".join(page.texts[i] for i in cell)
    return "\t".join(texts)


def _score(row: list[int], fragments: Sequence[Fragment]) -> float:
    """Confidence of a line: fragment scores weighted by their text length."""
    weights = [max(len(fragments[i].text), 1) for i in row]
    return sum(fragments[i].score * w for i, w in zip(row, weights)) / sum(weights)
