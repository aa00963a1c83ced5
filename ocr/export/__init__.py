"""Documents back from one OcrResult: searchable PDF, hOCR, ALTO XML, Markdown, plain text and JSON.

    from ocr.export import export_file
    paths = export_file("scan.pdf", ["pdf", "alto", "md"], out_dir)

One module per format (pdf, hocr, alto, markdown, text); all read the same lines, blocks and word
boxes. Formats and file names: FORMATS (docs/export.md)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..errors import InputError
from ..pipeline import recognize
from ..result import OcrResult

# format -> file name suffix (the output is <input stem><suffix>)
FORMATS: dict[str, str] = {
    "pdf": ".pdf",
    "hocr": ".hocr",
    "alto": ".alto.xml",
    "md": ".md",
    "txt": ".txt",
    "json": ".json",
}

Progress = Callable[[int, int], None]


def parse_formats(values: str | Iterable[str]) -> list[str]:
    """Formats from a list or a comma-separated string, in FORMATS order, duplicates dropped;
    InputError naming any unknown one."""
    items = values.split(",") if isinstance(values, str) else list(values)
    wanted = {v.strip().lower().lstrip(".") for v in items if v and v.strip()}
    aliases = {"markdown": "md", "text": "txt", "xml": "alto", "html": "hocr"}
    wanted = {aliases.get(v, v) for v in wanted}
    unknown = sorted(wanted - FORMATS.keys())
    if unknown:
        raise InputError(f"Unknown export format(s): {', '.join(unknown)}; choose from {', '.join(FORMATS)}.")
    if not wanted:
        raise InputError(f"No export format chosen; choose from {', '.join(FORMATS)}.")
    return [f for f in FORMATS if f in wanted]


def render(result: OcrResult, fmt: str, source: bytes, name: str = "") -> bytes:
    """The file of one format for a recognised source (source: the input's bytes; name: its file name)."""
    if fmt == "pdf":
        from . import pdf

        return pdf.write(result, source)
    if fmt == "hocr":
        from . import hocr

        return hocr.write(result, title=name or "OCR Studio")
    if fmt == "alto":
        from . import alto

        return alto.write(result, file_name=name)
    if fmt == "md":
        from . import markdown

        return markdown.write(result)
    if fmt == "txt":
        return (result.text + "\n").encode("utf-8")
    if fmt == "json":
        return json.dumps(result.to_json(), ensure_ascii=False, indent=1).encode("utf-8")
    raise InputError(f"Unknown export format: {fmt}; choose from {', '.join(FORMATS)}.")


def output_name(source: str | Path, fmt: str) -> str:
    """<input stem><suffix>: scan.pdf -> scan.alto.xml."""
    return Path(source).stem + FORMATS[fmt]


def export_file(path: str | Path, formats: Sequence[str], out_dir: str | Path, *,
                progress: Progress | None = None, name: str | None = None) -> list[Path]:
    """OCR one file and write each format into out_dir; returns the written paths (FORMATS order).

    name: the file name to derive outputs from (default: the path's); progress(done, total) per page.
    Raises InputError (unusable file, unknown format), TimeBudgetError and ModelError as recognize()."""
    path = Path(path)
    formats = parse_formats(formats)
    result = recognize(path, progress=progress)
    source = path.read_bytes()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or path.name
    written = []
    for fmt in formats:
        target = out / output_name(name, fmt)
        target.write_bytes(render(result, fmt, source, name))
        written.append(target)
    return written
