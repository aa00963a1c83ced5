"""Markdown: per page, its regions (ocr/regions.py) in reading order: titles as headings (`#` for
level 1, `##` for level 2), captions in italics, sidebars as block quotes; paragraphs, headers,
footers and the text on a figure as paragraphs (lines joined with spaces; a hyphen at a line end
joins the word; a figure with no text writes nothing); tables as Markdown (pipe) tables, their first
row as the header."""
from __future__ import annotations

from ..layout import Line
from ..result import OcrPage, OcrResult


def write(result: OcrResult) -> bytes:
    """The whole result as Markdown; pages after the first start with a `<!-- page N -->` comment."""
    parts = []
    for page in result.pages:
        body = page_markdown(page)
        parts.append(body if page.index == 0 else f"<!-- page {page.index + 1} -->\n\n{body}")
    return ("\n\n".join(p.rstrip() for p in parts).strip() + "\n").encode("utf-8")


def page_markdown(page: OcrPage) -> str:
    """One page as Markdown blocks separated by blank lines, one per region (ocr/regions.py)."""
    out: list[str] = []
    for region in page.regions:
        lines = [page.lines[i] for i in region.lines]
        if not lines:  # a figure with no text on it
            continue
        if region.kind == "table":
            out.append(_table(lines))
            continue
        text = _join([t for line in lines if (t := line.text.replace("\t", " ").strip())])
        if region.kind == "title":
            out.append("#" * region.level + " " + _escape(text))
        elif region.kind == "caption":
            out.append("*" + _escape(text).replace("*", "\\*") + "*")
        elif region.kind == "sidebar":
            out.append("> " + _escape(text))
        else:
            out.append(_escape(text))
    return "\n\n".join(part for part in out if part)


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
