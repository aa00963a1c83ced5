"""Sidebars: a narrow column of notes in the margin beside the main text (a journal's imprint and
dates, margin notes), read after the text it stands beside.

    split_sidebars(idx, rects, texts, h) -> (main, [Sidebar(fragments, beside), ...])

The main text's edge is where its prose starts (left) or ends (right): the outermost edge, within
EDGE_SLACK line heights, shared by PROSE_MIN_LINES or more fragments at least PROSE_MIN_WIDTH line
heights wide (the prose column: from that edge to the far side of those fragments). The fragments
wholly beyond the edge (by EDGE_SLACK at most) are a sidebar when SIDEBAR_MIN_LINES or more of them
hold SIDEBAR_MIN_LETTERS letters (a margin of line numbers or a running head's "ER 29,2 / 164" is
none), the sidebar is at most SIDEBAR_MAX_SHARE of the text's width, and no other fragment crosses
the edge between the sidebar's top and bottom (a heading across it makes it a column of the page,
not a note beside it). Geometry only: the fragment boxes in the page's upright frame (anything with
x0, y0, x1, y1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

PROSE_MIN_WIDTH = 20.0
PROSE_MIN_LINES = 8
EDGE_SLACK = 0.5
SIDEBAR_MIN_LINES = 3
SIDEBAR_MIN_LETTERS = 2
SIDEBAR_MAX_SHARE = 0.3


@dataclass(frozen=True)
class Sidebar:
    """A sidebar's fragments and the x-range (x0, x1) of the prose column it stands beside."""

    fragments: list[int]
    beside: tuple[float, float]


def split_sidebars(idx: Sequence[int], rects: Mapping[int, Any], texts: Mapping[int, str],
                   h: float) -> tuple[list[int], list[Sidebar]]:
    """The fragments of the main text, in the order given, and the sidebars (left first)."""
    main, sidebars = list(idx), []
    for side in (-1, 1):  # -1: the left margin, 1: the right
        sidebar = _sidebar(main, rects, texts, h, side)
        if sidebar is not None:
            sidebars.append(sidebar)
            taken = set(sidebar.fragments)
            main = [i for i in main if i not in taken]
    return main, sidebars


def _sidebar(idx: list[int], rects: Mapping[int, Any], texts: Mapping[int, str], h: float,
             side: int) -> Sidebar | None:
    """The sidebar beyond the main text's edge on one side (see the module docstring), or None."""
    column = _prose_column(idx, rects, h, side)
    if column is None:
        return None
    slack = EDGE_SLACK * h
    edge = column[0] if side < 0 else column[1]
    beyond = [i for i in idx if (rects[i].x1 <= edge + slack if side < 0 else rects[i].x0 >= edge - slack)]
    if sum(sum(c.isalpha() for c in texts[i]) >= SIDEBAR_MIN_LETTERS for i in beyond) < SIDEBAR_MIN_LINES:
        return None
    left, right = min(rects[i].x0 for i in idx), max(rects[i].x1 for i in idx)
    if max(rects[i].x1 for i in beyond) - min(rects[i].x0 for i in beyond) > SIDEBAR_MAX_SHARE * (right - left):
        return None
    top, bottom = min(rects[i].y0 for i in beyond), max(rects[i].y1 for i in beyond)
    taken, cut = set(beyond), edge - slack if side < 0 else edge + slack
    if any(rects[i].x0 < cut < rects[i].x1 and rects[i].y1 > top and rects[i].y0 < bottom
           for i in idx if i not in taken):
        return None
    return Sidebar(beyond, column)


def _prose_column(idx: list[int], rects: Mapping[int, Any], h: float, side: int) -> tuple[float, float] | None:
    """(x0, x1) of the outermost prose column on one side: PROSE_MIN_LINES wide fragments whose
    starts (left) or ends (right) lie within EDGE_SLACK line heights; None if there is none."""
    wide = sorted((r for r in (rects[i] for i in idx) if r.x1 - r.x0 >= PROSE_MIN_WIDTH * h),
                  key=lambda r: r.x0 if side < 0 else -r.x1)
    for k in range(len(wide) - PROSE_MIN_LINES + 1):
        run = wide[k:k + PROSE_MIN_LINES]
        first, last = (run[0].x0, run[-1].x0) if side < 0 else (run[-1].x1, run[0].x1)
        if abs(last - first) <= EDGE_SLACK * h:
            return (run[0].x0, max(r.x1 for r in run)) if side < 0 else (min(r.x0 for r in run), run[0].x1)
    return None
