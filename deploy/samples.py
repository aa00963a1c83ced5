"""Call a running app on the bundled samples through gradio_client and compare with samples/expected.json.

Runs inside the package with the package's own environment (verify starts it with the venv's Python), so
the comparison uses that package's ocr.metrics:

    python -m deploy.samples --url http://127.0.0.1:7860 [--samples samples]

Prints one JSON object {"ok": bool, "results": [...]} and exits 1 when a sample does not match.
OCR text and ground truth are compared after ocr.metrics.normalize, case-insensitively when the case says
"casefold": true, and without CJK characters (no ground truth here contains any).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gradio_client import Client, handle_file

from ocr.metrics import cer, normalize


def sketch(path: Path) -> dict:
    """A sketch-pad value holding only a composite image, as a client sends a drawing."""
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def check_ocr(client: Client, path: Path, case: dict) -> tuple[bool, str]:
    """OK when the text is within max_cer of the ground truth and contains every must_contain string."""
    text, _overlay, _result = client.predict(handle_file(str(path)), api_name="/ocr")
    casefold = case.get("casefold", False)
    got = normalize(text, casefold=casefold, drop_cjk=True)
    error = cer(got, normalize(case["text"], casefold=casefold, drop_cjk=True))
    missing = [s for s in case.get("must_contain", []) if normalize(s, casefold=casefold) not in got]
    if error > case["max_cer"] or missing:
        return False, f"CER {error:.3f} (limit {case['max_cer']}), missing {missing}; text starts {text[:80]!r}"
    return True, f"CER {error:.3f} (limit {case['max_cer']})"


def check_digit(client: Client, path: Path, case: dict) -> tuple[bool, str]:
    """OK when the top label is the expected digit."""
    label = client.predict(sketch(path), api_name="/digit")
    return label["label"] == case["label"], f"label {label['label']!r}, expected {case['label']!r}"


def check_number(client: Client, path: Path, case: dict) -> tuple[bool, str]:
    """OK when the number read is the expected one."""
    result, _overlay = client.predict(sketch(path), api_name="/number")
    return result["number"] == case["number"], f"number {result['number']!r}, expected {case['number']!r}"


CHECKS: dict[str, tuple[str, Callable[[Client, Path, dict], tuple[bool, str]]]] = {
    "ocr": ("/ocr", check_ocr),
    "digit": ("/digit", check_digit),
    "number": ("/number", check_number),
}


def run(url: str, samples: Path) -> dict:
    """Every case of expected.json against the app at url: {"ok", "results": [{endpoint, file, ok, seconds,
    detail}]}. A failing call (AppError, connection) counts as a failed case with its message."""
    expected = json.loads((samples / "expected.json").read_text(encoding="utf-8"))
    client = Client(url, verbose=False)
    results = []
    for kind, (endpoint, check) in CHECKS.items():
        for case in expected.get(kind, []):
            started = time.monotonic()
            try:
                ok, detail = check(client, samples / case["file"], case)
            except Exception as exc:  # the report must name the case whatever went wrong
                ok, detail = False, f"{type(exc).__name__}: {exc}"
            results.append({"endpoint": endpoint, "file": case["file"], "ok": ok,
                            "seconds": round(time.monotonic() - started, 3), "detail": detail})
    return {"ok": bool(results) and all(r["ok"] for r in results), "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--samples", type=Path, default=Path("samples"))
    args = parser.parse_args(argv)
    report = run(args.url, args.samples)
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
