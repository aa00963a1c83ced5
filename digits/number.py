"""Read a whole number written as a row of digits: split the ink into digits, classify each, left to right."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digits.errors import InputError
from digits.predict import classify, top_k
from digits.preprocess import ImageSource, find_strokes, load_image, to_mnist

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (end exclusive)

MAX_STROKES = 200          # more strokes than this (specks dropped) are not a number: refused before grouping
MAX_DIGITS = 12            # at most this many digits are read

FRAGMENT_AREA = 0.15       # strokes with less ink than this fraction of the largest stroke...
FRAGMENT_HEIGHT = 0.5      # ...or shorter than this fraction of the tallest other stroke are parts of a digit
MERGE_OVERLAP = 0.3        # strokes whose x-ranges overlap by this fraction of the narrower one form one digit
WIDE = 1.25                # a digit wider than this times its height may be touching digits: try cuts
SURE = 0.9                 # ...and cut if the confidences in both sides multiply to at least this and to more
                           # than the confidence in the whole as one digit
TOO_WIDE = 1.75            # a digit wider than this times its height is always cut (hardly any MNIST digit is)
CUT_SPAN = (0.25, 0.75)    # cuts are tried at columns in this part of the width
CUT_TRIES = 24             # at most this many cut columns per wide digit
MIN_PIECE = 0.1            # each side of a cut must hold this fraction of the ink


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
        """The input (flattened on white) with a box around each digit and its label and confidence above it."""
        base = Image.new("RGB", self.image.size, "white")
        rgba = self.image.convert("RGBA")
        base.paste(rgba, mask=rgba.getchannel("A"))
        draw = ImageDraw.Draw(base)
        line = max(2, round(0.004 * max(base.size)))
        height = float(np.median([d.box[3] - d.box[1] for d in self.digits]))
        font = ImageFont.load_default(size=max(12, round(0.25 * height)))
        for digit in self.digits:
            x0, y0, x1, y1 = digit.box
            text = f"{digit.label} {float(digit.probabilities.max()):.0%}"
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(220, 30, 30), width=line)
            left, top, right, bottom = draw.textbbox((x0, y0), text, font=font, anchor="lb")
            if top < 0:  # no room above the box: write inside it
                left, top, right, bottom = draw.textbbox((x0, y0), text, font=font, anchor="lt")
            draw.rectangle((left, top, right, bottom), fill=(220, 30, 30))
            draw.text((left, bottom), text, font=font, anchor="lb", fill="white")
        return base


@dataclass
class _Piece:
    ink: np.ndarray    # ink of the piece's region (other digits' ink may show; `mask` says what is ours)
    mask: np.ndarray   # strokes of this digit
    x: int             # position of the arrays in the image
    y: int

    def box(self) -> Box:
        rows, cols = np.flatnonzero(self.mask.any(axis=1)), np.flatnonzero(self.mask.any(axis=0))
        return self.x + int(cols[0]), self.y + int(rows[0]), self.x + int(cols[-1]) + 1, self.y + int(rows[-1]) + 1


def read_number(source: ImageSource) -> NumberResult:
    """The digits written in a row in `source`, read left to right; raises EmptyCanvasError if there is no ink,
    InputError if there are more than MAX_STROKES strokes or MAX_DIGITS digits."""
    image = load_image(source)
    strokes = find_strokes(image)
    if len(strokes.areas) > MAX_STROKES:
        raise InputError(f"Too many separate strokes ({len(strokes.areas)}) to read as a number; "
                         f"the limit is {MAX_STROKES}.")
    groups = _group_strokes(strokes.boxes, strokes.areas)
    pieces: list[_Piece] = []
    for n, (ids, (x0, y0, x1, y1)) in enumerate(groups):
        x0, y0 = max(x0 - 1, 0), max(y0 - 1, 0)  # keep the anti-aliased rim just outside the strokes
        region = (slice(y0, y1 + 1), slice(x0, x1 + 1))
        room = MAX_DIGITS - len(pieces) - (len(groups) - n - 1)  # digits this group may split into
        pieces += _split_touching(_Piece(strokes.ink[region], np.isin(strokes.labels[region], ids), x0, y0), room)
    boxes = [_in_input(piece.box(), strokes.scale, image.size) for piece in pieces]
    order = sorted(range(len(pieces)), key=lambda i: boxes[i][0] + boxes[i][2])
    probabilities = classify(np.stack([to_mnist(pieces[i].ink, pieces[i].mask) for i in order]))
    digits = [DigitRead(str(int(p.argmax())), p, boxes[i]) for i, p in zip(order, probabilities)]
    return NumberResult(number="".join(d.label for d in digits), digits=digits, image=image)


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


def _split_touching(piece: _Piece, room: int) -> list[_Piece]:
    """A piece too wide for one digit, cut where the classifier is most confident in both sides (if sure and
    surer than of the whole as one digit, or always if far too wide for one), recursively; else the piece.
    Raises InputError if it would split into more than `room` digits."""
    x0, y0, x1, y1 = piece.box()
    width, height = x1 - x0, y1 - y0
    if width <= WIDE * height:
        return [piece]
    left_col = x0 - piece.x
    columns = np.unique(np.linspace(left_col + CUT_SPAN[0] * width, left_col + CUT_SPAN[1] * width,
                                    CUT_TRIES).round().astype(int))
    total = piece.mask.sum()
    candidates: list[tuple[_Piece, _Piece]] = []
    for c in columns:
        left, right = _cut(piece, c)
        if min(left.mask.sum(), right.mask.sum()) >= MIN_PIECE * total:
            candidates.append((left, right))
    if not candidates:
        return [piece]
    images = [to_mnist(piece.ink, piece.mask)] + [to_mnist(p.ink, p.mask) for pair in candidates for p in pair]
    confidence = classify(np.stack(images)).max(axis=1)
    scores = confidence[1::2] * confidence[2::2]
    best = int(scores.argmax())
    if width <= TOO_WIDE * height and (scores[best] < SURE or scores[best] <= confidence[0]):
        return [piece]
    if room < 2:
        raise _too_many_digits(f"more than {MAX_DIGITS}")
    left, right = candidates[best]
    lefts = _split_touching(left, room - 1)
    return lefts + _split_touching(right, room - len(lefts))


def _cut(piece: _Piece, column: int) -> tuple[_Piece, _Piece]:
    """The piece cut in two at `column` (array coordinates): views of the columns left of it and from it on."""
    left = _Piece(piece.ink[:, :column], piece.mask[:, :column], piece.x, piece.y)
    return left, _Piece(piece.ink[:, column:], piece.mask[:, column:], piece.x + column, piece.y)
