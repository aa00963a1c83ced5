"""Markdown: per page, headings, paragraphs in reading order and tables as Markdown (pipe) tables.

Headings: a text line at least HEADING_SCALE times the page's median line height and at most
HEADING_MAX_WORDS words. Paragraphs: the lines of a text block, split where the gap to the next line
exceeds PARAGRAPH_GAP line heights, joined with spaces (a hyphen at a line end joins the word).
Tables: each table block (ocr/layout.py) becomes a table, its first row as the header."""
from __future__ import annotations

from statistics import median

from ..layout import Line
from ..result import OcrPage, OcrResult
from .geometry import line_groups

HEADING_SCALE = 1.5
HEADING_MAX_WORDS = 12
PARAGRAPH_GAP = 0.8


def write(result: OcrResult) -> bytes:
    """The whole result as Markdown; pages after the first start with a `<!-- page N -->` comment."""
    parts = []
    for page in result.pages:
        body = page_markdown(page)
        parts.append(body if page.index == 0 else f"<!-- page {page.index + 1} -->\n\n{body}")
    return ("\n\n".join(p.rstrip() for p in parts).strip() + "\n").encode("utf-8")


def page_markdown(page: OcrPage) -> str:
    """One page as Markdown blocks separated by blank lines."""
    if not page.lines:
        return ""
    typical = median(_height(line) for line in page.lines)
    out: list[str] = []
    for kind, members in line_groups(page):
        lines = [page.lines[i] for i in members]
        if kind == "table":
            out.append(_table(lines))
        else:
            out.extend(_text(lines, typical))
    return "\n\n".join(part for part in out if part)


def _height(line: Line) -> float:
    ys = [p[1] for p in line.box]
    return max(max(ys) - min(ys), 1.0)


def _top(line: Line) -> float:
    return min(p[1] for p in line.box)


def _bottom(line: Line) -> float:
    return max(p[1] for p in line.box)


def _text(lines: list[Line], typical: float) -> list[str]:
    parts: list[str] = []
    paragraph: list[str] = []
    previous: Line | None = None

    def flush() -> None:
        if paragraph:
            parts.append(_escape(_join(paragraph)))
            paragraph.clear()

    for line in lines:
        text = line.text.replace("\t", " ").strip()
        if not text:
            continue
        if _height(line) >= HEADING_SCALE * typical and len(text.split()) <= HEADING_MAX_WORDS:
            flush()
            level = 1 if _height(line) >= 2 * HEADING_SCALE * typical else 2
            parts.append("#" * level + " " + _escape(text))
            previous = None
            continue
        if previous is not None and _top(line) - _bottom(previous) > PARAGRAPH_GAP * typical:
            flush()
        paragraph.append(text)
        previous = line
    flush()
    return parts


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("-") and len(text) > 1 and text[-2].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text += " " + line
    return text


def _table(lines: list[Line]) -> str:
    rows = [[_cell(c) for c in line.text.split("\t")] for line in lines]
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header, body = rows[0], rows[1:]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * width]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.strip().replace("|", "\\|")


def _escape(text: str) -> str:
    """Keep a recognised line from turning into Markdown syntax it did not mean."""
    if text[:1] in "#>-+*" or (text[:1].isdigit() and text.split(" ", 1)[0].rstrip(".").isdigit() and text.split(" ", 1)[0].endswith(".")):
        text = "\\" + text
    return text.replace("|", "\\|")
