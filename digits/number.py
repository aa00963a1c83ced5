"""Read a whole number written as a row of digits: split the ink into digits, classify each, left to right.

Strokes are grouped into pieces; a piece wide enough to hold touching digits is cut where the segment model
(digits/segment_cnn.onnx: DigitNet with an eleventh class, "not one whole digit", trained by
digits.train_segments) is surest that every part is one whole digit; the digit model and the number model
(digits/number_cnn.onnx: a second DigitNet, trained also on the pieces these cuts make) then read each part
together.
Where the segment model doubts that a part is one whole digit (digits that lean into each other: no straight
cut parts them), the row model (digits/row_cnn.onnx, CTC, trained by digits.train_rows) reads the piece
whole, and if it finds a different number of digits, its reading is taken."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digits.errors import InputError
from digits.predict import classify_number_digits, classify_segments, read_rows, row_digits, top_k
from digits.preprocess import (ROW_MARGIN, ROW_MAX_ASPECT, ROW_STRIDE, ImageSource, Strokes, find_strokes,
                               load_image, row_width, to_mnist, to_row)

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive)

MAX_STROKES = 200          # more strokes than this (specks dropped) are not a number: refused before grouping
MAX_DIGITS = 12            # at most this many digits are read

FRAGMENT_AREA = 0.15       # strokes with less ink than this fraction of the largest stroke...
FRAGMENT_HEIGHT = 0.5      # ...or shorter than this fraction of the tallest other stroke are parts of a digit
MERGE_OVERLAP = 0.3        # strokes whose x-ranges overlap by this fraction of the narrower one form one digit
TRY_SPLIT = 0.5           # a digit wider than this times its height may be touching digits: segment it
CUT_STEP = 1 / 8           # candidate cuts every this fraction of its height, and at the ink's thin columns:
MAX_CUTS = 160             # at most about this many of the former (bounds the work on a long thin line)
NECK = 0.6                 # local minima of ink per column below this fraction of the median column
SEGMENT_WIDTH = (0.12, 1.4)  # a candidate digit spans this range of widths, as fractions of the height...
SEGMENT_HEIGHT = 0.4       # ...at least this fraction of the height...
MIN_PIECE = 0.06           # ...and at least this fraction of the ink
TOO_WIDE = 1.75            # a digit wider than this times its height is always segmented (hardly any MNIST digit is)
WHOLE_STROKE = 0.75        # a stroke with this fraction of its ink inside a candidate digit belongs to it whole
ROW_DOUBT = 0.5            # where a chosen part's P(one whole digit) is below this, the row model reads the piece
LABEL_HEIGHT = 0.25        # overlay labels: this fraction of the median digit height...
LABEL_MIN_PX = 11          # ...shrunk to no less than this when neighbours' labels would overlap


@dataclass
class DigitRead:
    """One digit of a number: its label, probabilities of 0-9 and box [x0, y0, x1, y1] (end exclusive)."""

    label: str
    probabilities: np.ndarray
    box: Box

    def to_json(self) -> dict:
        confidences = [{"label": label, "confidence": p} for label, p in top_k(self.probabilities).items()]
        return {"label": self.label, "confidences": confidences,
                "probabilities": [round(float(p), 6) for p in self.probabilities], "box": list(self.box)}


@dataclass
class NumberResult:
    """The number read from an image, its digits left to right, and the image for the overlay."""

    number: str
    digits: list[DigitRead]
    image: Image.Image = field(repr=False)

    def to_json(self) -> dict:
        """{"number": "2024", "digits": [{"label", "confidences" (top 3), "probabilities" (10), "box"}...]}."""
        return {"number": self.number, "digits": [d.to_json() for d in self.digits]}

    def overlay(self) -> Image.Image:
        """The input (flattened on white) with a box around each digit and "label confidence" next to it (see
        label_boxes: no two labels overlap)."""
        base = Image.new("RGB", self.image.size, "white")
        rgba = self.image.convert("RGBA")
        base.paste(rgba, mask=rgba.getchannel("A"))
        draw = ImageDraw.Draw(base)
        line = _line_width(base.size)
        for digit, (text, font, (left, top, right, bottom)) in zip(self.digits, self.labels()):
            x0, y0, x1, y1 = digit.box
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(220, 30, 30), width=line)
            draw.rectangle((left, top, right, bottom), fill=(220, 30, 30))
            draw.text((left, bottom), text, font=font, anchor="lb", fill="white")
        return base

    def labels(self) -> list[tuple[str, ImageFont.FreeTypeFont, Box]]:
        """Per digit: its overlay label "7 96%", the font and where it goes: above the box, else below it, else
        (neighbours too close) in a smaller font, down to LABEL_MIN_PX; labels never overlap each other."""
        draw = ImageDraw.Draw(Image.new("1", (1, 1)))
        width, height = self.image.size
        line = _line_width(self.image.size)
        digit_height = float(np.median([d.box[3] - d.box[1] for d in self.digits]))
        placed: list[tuple[str, ImageFont.FreeTypeFont, Box]] = []
        for digit in self.digits:
            x0, y0, x1, y1 = digit.box
            text = f"{digit.label} {float(digit.probabilities.max()):.0%}"
            size = max(LABEL_MIN_PX, round(LABEL_HEIGHT * digit_height))
            while True:
                font = ImageFont.load_default(size=size)
                spots = [draw.textbbox((x0, y0 - line), text, font=font, anchor="lb"),
                         draw.textbbox((x0, y1 + line), text, font=font, anchor="lt"),
                         draw.textbbox((x0 + line, y0 + line), text, font=font, anchor="lt")]
                free = [b for b in spots if b[1] >= 0 and b[3] <= height and b[2] <= width
                        and not _overlaps_any(b, [box for _, _, box in placed])]
                if free or size <= LABEL_MIN_PX:
                    break
                size = max(LABEL_MIN_PX, round(size * 0.8))
            placed.append((text, font, tuple(int(v) for v in (free or spots)[0])))
        return placed


def _line_width(size: tuple[int, int]) -> int:
    return max(2, round(0.004 * max(size)))


def _overlaps_any(box: Box, others: list[Box], margin: int = 2) -> bool:
    return any(box[0] < o[2] + margin and o[0] < box[2] + margin and box[1] < o[3] and o[1] < box[3]
               for o in others)


@dataclass
class Piece:
    """Part of a number's ink the reader works with: a group of strokes, or a candidate digit cut from one."""

    ink: np.ndarray    # ink of the piece's region (other digits' ink may show; `mask` says what is ours)
    mask: np.ndarray   # strokes of this digit
    labels: np.ndarray  # stroke id per pixel inside `mask`, 0 elsewhere
    x: int             # position of the arrays in the image
    y: int
    read: np.ndarray | None = None  # probabilities of 0-9 from the row model (None: the digit models read it)

    def box(self) -> Box:
        rows, cols = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        return self.x + int(cols[0]), self.y + int(rows[0]), self.x + int(cols[-1]) + 1, self.y + int(rows[-1]) + 1


def read_number(source: ImageSource) -> NumberResult:
    """The digits written in a row in `source`, read left to right; raises EmptyCanvasError if there is no ink,
    InputError if there are more than MAX_STROKES strokes or MAX_DIGITS digits."""
    image = load_image(source)
    strokes = find_strokes(image)
    groups = stroke_groups(strokes)
    pieces: list[Piece] = []
    for n, group in enumerate(groups):
        pieces += _segment(group, MAX_DIGITS - len(pieces) - (len(groups) - n - 1))  # room: digits it may hold
    boxes = [_in_input(piece.box(), strokes.scale, image.size) for piece in pieces]
    order = sorted(range(len(pieces)), key=lambda i: boxes[i][0] + boxes[i][2])
    unread = [i for i in order if pieces[i].read is None]
    if unread:
        cut = np.stack([to_mnist(pieces[i].ink, pieces[i].mask) for i in unread])
        for i, p in zip(unread, classify_number_digits(cut)):
            pieces[i].read = p
    digits = [DigitRead(str(int(pieces[i].read.argmax())), pieces[i].read, boxes[i]) for i in order]
    return NumberResult(number="".join(d.label for d in digits), digits=digits, image=image)


def stroke_groups(strokes: Strokes) -> list[Piece]:
    """The strokes grouped into pieces of one or more (touching) digits, left to right; InputError if there are
    more than MAX_STROKES strokes or MAX_DIGITS groups."""
    if len(strokes.areas) > MAX_STROKES:
        raise InputError(f"Too many separate strokes ({len(strokes.areas)}) to read as a number; "
                         f"the limit is {MAX_STROKES}.")
    pieces = []
    for ids, (x0, y0, x1, y1) in _group_strokes(strokes.boxes, strokes.areas):
        x0, y0 = max(x0 - 1, 0), max(y0 - 1, 0)  # keep the anti-aliased rim just outside the strokes
        region = (slice(y0, y1 + 1), slice(x0, x1 + 1))
        mask = np.isin(strokes.labels[region], ids)
        pieces.append(Piece(strokes.ink[region], mask, np.where(mask, strokes.labels[region], 0), x0, y0))
    return pieces


def scored_pieces(group: Piece) -> list[Piece]:
    """Every piece the segment model scores for a group: the group itself and, if it may hold touching
    digits, its candidate digits (what the segment model is trained on, see digits.segments)."""
    x0, y0, x1, y1 = group.box()
    if x1 - x0 <= TRY_SPLIT * (y1 - y0):
        return [group]
    return [group, *_candidates(group)[1].values()]


def _in_input(box: Box, scale: int, size: tuple[int, int]) -> Box:
    """A box in the (possibly shrunk) ink arrays as pixels of the input image."""
    x0, y0, x1, y1 = box
    return x0 * scale, y0 * scale, min(x1 * scale, size[0]), min(y1 * scale, size[1])


def _too_many_digits(found: str) -> InputError:
    return InputError(f"Too many digits to read as one number: found {found} digit-sized parts; "
                      f"at most {MAX_DIGITS} digits are read.")


def _group_strokes(boxes: np.ndarray, areas: np.ndarray) -> list[tuple[list[int], Box]]:
    """Stroke ids grouped into digits, with each group's box: strokes whose x-ranges overlap heavily are one
    digit; fragments (a 5's hat, a detached bar) join the digit they overlap most horizontally (or lie nearest to).
    More than MAX_DIGITS digits raise InputError."""
    heights = boxes[:, 3] - boxes[:, 1]
    substantial = areas >= FRAGMENT_AREA * areas.max()
    fragment = ~substantial | (heights < FRAGMENT_HEIGHT * heights[substantial].max())
    groups = _merge_overlapping([([k + 1], _box(boxes[k])) for k in np.flatnonzero(~fragment)])
    if len(groups) > MAX_DIGITS:
        raise _too_many_digits(str(len(groups)))
    digit_boxes = np.array([box for _, box in groups])
    for k in np.flatnonzero(fragment):
        overlaps = np.minimum(digit_boxes[:, 2], boxes[k, 2]) - np.maximum(digit_boxes[:, 0], boxes[k, 0])
        i = int(overlaps.argmax())
        groups[i] = (groups[i][0] + [k + 1], _union(groups[i][1], _box(boxes[k])))
    return groups


def _merge_overlapping(groups: list[tuple[list[int], Box]]) -> list[tuple[list[int], Box]]:
    """Groups merged until no two overlap in x by MERGE_OVERLAP of the narrower one's width: sweeps left to right
    (by left edge), each group merging into the one before it if they overlap enough, until a sweep merges
    none (if two groups overlap enough, so do two neighbours in that order: nothing is missed)."""
    while True:
        groups = sorted(groups, key=lambda group: group[1][0])
        merged = [groups[0]]
        for ids, box in groups[1:]:
            last_ids, last = merged[-1]
            if _x_overlap(last, box) >= MERGE_OVERLAP * min(last[2] - last[0], box[2] - box[0]):
                merged[-1] = (last_ids + ids, _union(last, box))
            else:
                merged.append((ids, box))
        if len(merged) == len(groups):
            return merged
        groups = merged


def _box(row: np.ndarray) -> Box:
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _x_overlap(a: Box, b: Box) -> int:
    """Width shared by two boxes' x-ranges; negative: the gap between them."""
    return min(a[2], b[2]) - max(a[0], b[0])


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _segment(piece: Piece, room: int) -> list[Piece]:
    """A piece that may hold several touching or overlapping digits, cut where the segment model is surest that
    each part is one whole digit: candidate cuts every CUT_STEP of the height and at thin columns of the ink,
    every run of consecutive cuts a candidate digit (strokes mostly inside it whole, others cut at the
    columns), the whole piece one more; the chain of candidates from the left edge to the right with the
    largest product of P(one whole digit), by dynamic programming, at most `room` of them. A piece far too wide
    for one digit is always cut. If a part of that chain is doubtful (below ROW_DOUBT) and the piece fits the
    row model, the row model reads the piece; if it finds another number of digits (2 to `room`), the piece is
    cut between them instead, each part carrying the row model's reading. Raises InputError if it would need
    more than `room` digits."""
    x0, y0, x1, y1 = piece.box()
    width, height = x1 - x0, y1 - y0
    if width <= TRY_SPLIT * height:
        return [piece]
    bounds, candidates = _candidates(piece)
    last = len(bounds) - 1
    forced = width > TOO_WIDE * height
    if not forced:
        candidates[(0, last)] = piece
    if not candidates:  # far too wide for one digit, and no digit-shaped part in it (a long line)
        raise _too_many_digits(f"more than {MAX_DIGITS}")
    one_digit = 1 - classify_segments(np.stack([to_mnist(p.ink, p.mask) for p in candidates.values()]))[:, -1]
    one_digit_of = dict(zip(candidates, one_digit.tolist()))
    log_conf = {key: float(np.log(max(p, 1e-12))) for key, p in one_digit_of.items()}
    path = _best_path(log_conf, last, max(room, 1))
    if path is None:  # only when forced: no chain of at most `room` digits covers the piece
        raise _too_many_digits(f"more than {MAX_DIGITS}")
    chain = [candidates[key] for key in path]
    if min(one_digit_of[key] for key in path) >= ROW_DOUBT or (x1 - x0) > ROW_MAX_ASPECT * (y1 - y0):
        return chain
    found = row_digits(read_rows(to_row(piece.ink, piece.mask)[None])[0])
    split = _split_at(piece, found) if len(found) != len(chain) and 2 <= len(found) <= room else None
    return split or chain


def _split_at(piece: Piece, found: list[tuple[int, np.ndarray]]) -> list[Piece] | None:
    """The piece cut half-way between the columns where the row model found its digits, each part carrying that
    digit's probabilities; None if a part would hold no ink."""
    x0, y0, x1, y1 = piece.box()
    scale = row_width(x1 - x0, y1 - y0) / (x1 - x0)  # row pixels per piece pixel
    centres = [x0 - piece.x + (ROW_STRIDE * (frame + 0.5) - ROW_MARGIN) / scale for frame, _ in found]
    cuts = [x0 - piece.x, *(round((a + b) / 2) for a, b in zip(centres, centres[1:])), x1 - piece.x]
    parts = []
    for (a, b), (_, probabilities) in zip(zip(cuts, cuts[1:]), found):
        mask = piece.mask.copy()
        mask[:, :a] = False
        mask[:, b:] = False
        if not mask.any():
            return None
        part = _cropped(piece, mask)
        part.read = probabilities
        parts.append(part)
    return parts


def _candidates(piece: Piece) -> tuple[np.ndarray, dict[tuple[int, int], Piece]]:
    """The candidate cut columns of a piece (array coordinates) and its candidate digits: every run of
    consecutive cuts spanning a digit's width, keyed by (first cut, last cut), with enough ink and height."""
    x0, y0, x1, y1 = piece.box()
    width, height = x1 - x0, y1 - y0
    left = x0 - piece.x
    bounds = _cut_columns(piece.mask[:, left:left + width], height) + left
    spans = [(i, j) for i in range(len(bounds)) for j in range(i + 1, len(bounds))
             if SEGMENT_WIDTH[0] * height <= bounds[j] - bounds[i] <= SEGMENT_WIDTH[1] * height]
    strokes = _StrokeColumns(piece)
    total = piece.mask.sum()
    candidates: dict[tuple[int, int], Piece] = {}
    for i, j in spans:
        mask = strokes.mask(bounds[i], bounds[j])
        rows = np.flatnonzero(mask.any(axis=1))
        if len(rows) and mask.sum() >= MIN_PIECE * total and rows[-1] - rows[0] + 1 >= SEGMENT_HEIGHT * height:
            candidates[(i, j)] = _cropped(piece, mask)
    return bounds, candidates


def _cropped(piece: Piece, mask: np.ndarray) -> Piece:
    """The part of `piece` in `mask`, its arrays cut to the mask's box plus a 1 px rim (the anti-aliased edge)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, left = max(int(rows[0]) - 1, 0), max(int(cols[0]) - 1, 0)
    region = (slice(top, int(rows[-1]) + 2), slice(left, int(cols[-1]) + 2))
    return Piece(piece.ink[region], mask[region], piece.labels[region], piece.x + left, piece.y + top)


def _cut_columns(mask: np.ndarray, height: int) -> np.ndarray:
    """Candidate cut columns of a piece's mask (its box's columns): its edges, every CUT_STEP of the height, and
    the columns where the ink is thinnest locally (touching digits usually meet at a thin neck)."""
    width = mask.shape[1]
    step = max(1, round(CUT_STEP * height), width // MAX_CUTS)
    profile = np.convolve(mask.sum(axis=0).astype(np.float32), np.ones(3, np.float32) / 3, mode="same")
    inner = np.arange(1, width - 1)
    thin = profile[1:-1] <= NECK * np.median(profile[profile > 0])
    minima = inner[thin & (profile[1:-1] < profile[:-2]) & (profile[1:-1] <= profile[2:])]
    return np.unique(np.concatenate([[0, width], np.arange(step, width - step // 2, step), minima])).astype(int)


def _best_path(log_conf: dict[tuple[int, int], float], last: int, room: int) -> list[tuple[int, int]] | None:
    """The chain of spans (0, a), (a, b), ..., (z, last) of at most `room` spans with the largest sum of log
    confidences; None if no chain covers 0..last."""
    # best[k][j]: best score of a chain of k spans from 0 to bound j, with its previous bound
    best: list[dict[int, tuple[float, int]]] = [{0: (0.0, -1)}]
    ends: dict[int, list[tuple[int, float]]] = {}
    for (i, j), score in log_conf.items():
        ends.setdefault(j, []).append((i, score))
    for k in range(1, room + 1):
        layer: dict[int, tuple[float, int]] = {}
        for j in sorted(ends):
            for i, score in ends[j]:
                if i in best[k - 1]:
                    total = best[k - 1][i][0] + score
                    if j not in layer or total > layer[j][0]:
                        layer[j] = (total, i)
        best.append(layer)
        if not layer:
            break
    chains = [k for k in range(1, len(best)) if last in best[k]]
    if not chains:
        return None
    k = max(chains, key=lambda n: best[n][last][0])
    path, j = [], last
    for level in range(k, 0, -1):
        i = best[level][j][1]
        path.append((i, j))
        j = i
    return path[::-1]


class _StrokeColumns:
    """Per stroke of a piece, how much of its ink lies left of each column: which strokes a candidate digit
    between two columns holds whole (overlapping digits drawn apart stay apart) and which it cuts."""

    def __init__(self, piece: Piece) -> None:
        self.piece = piece
        ids = np.unique(piece.labels[piece.labels > 0])
        self.index = np.zeros(int(ids.max()) + 1 if len(ids) else 1, np.int64)
        self.index[ids] = np.arange(1, len(ids) + 1)
        local = self.index[piece.labels]  # 0: not ours, 1..n: stroke
        counts = np.zeros((len(ids) + 1, piece.mask.shape[1]), np.int64)
        np.add.at(counts, (local, np.broadcast_to(np.arange(piece.mask.shape[1]), local.shape)), 1)
        self.left_of = np.concatenate([np.zeros((len(ids) + 1, 1), np.int64), counts.cumsum(axis=1)], axis=1)
        self.local = local

    def mask(self, a: int, b: int) -> np.ndarray:
        """Pixels of the candidate digit between columns a and b (array coordinates, b exclusive)."""
        inside = (self.left_of[:, b] - self.left_of[:, a]) / np.maximum(self.left_of[:, -1], 1)
        status = np.where(inside >= WHOLE_STROKE, 1, np.where(inside > 1 - WHOLE_STROKE, 2, 0))
        status[0] = 0
        state = status[self.local]
        columns = np.zeros(self.piece.mask.shape[1], bool)
        columns[a:b] = True
        return (state == 1) | ((state == 2) & columns[None, :])
