"""OCR Studio: the Gradio app. UI wiring only; inference lives in `ocr/` and `digits/`.

    python app.py [--host HOST] [--port PORT] [--share]

Named endpoints (a public contract, see README "API"): /ocr, /digit, /number.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no call home

import argparse
import contextlib
import functools
import io
import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any, Callable

import gradio as gr
from PIL import Image

import digits
import ocr

__version__ = "1.2.0"

ROOT = Path(__file__).resolve().parent
SAMPLES = ROOT / "samples"
LOG_DIR = Path(os.environ.get("OCR_STUDIO_LOG_DIR", ROOT / "logs"))
MAX_FILE_SIZE = os.environ.get("OCR_STUDIO_MAX_FILE_SIZE", "50mb")

request_log = logging.getLogger("ocr_studio.requests")


def setup_request_log(log_dir: Path = LOG_DIR) -> None:
    """One JSON line per request, to stderr and to a rotating file under `log_dir`."""
    if request_log.handlers:
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(
        log_dir / "requests.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
    )
    for handler in (logging.StreamHandler(sys.stderr), file_handler):
        handler.setFormatter(logging.Formatter("%(message)s"))
        request_log.addHandler(handler)
    request_log.setLevel(logging.INFO)
    request_log.propagate = False


def _input_size(value: Any) -> int | None:
    """Bytes of an uploaded file, or pixels of an in-memory image (for the log)."""
    if isinstance(value, (str, Path)) and os.path.isfile(value):
        return os.path.getsize(value)
    if isinstance(value, Image.Image):
        return value.width * value.height
    if isinstance(value, dict):
        return _input_size(value.get("composite") or value.get("background"))
    return None


def logged(endpoint: str) -> Callable:
    """Log endpoint, input size, latency and outcome of every call; turn domain errors into gr.Error."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outcome = "ok"
            try:
                return fn(value, *args, **kwargs)
            except gr.Error:
                outcome = "rejected"
                raise
            except (ocr.InputError, digits.InputError) as exc:
                outcome = "rejected"
                raise gr.Error(str(exc)) from exc
            except Exception as exc:
                outcome = f"error: {type(exc).__name__}"
                request_log.exception("unexpected error in %s", endpoint)
                raise gr.Error("Something went wrong on the server while processing this input. "
                               "The error was logged; please try another file.") from exc
            finally:
                request_log.info(json.dumps({
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "endpoint": endpoint,
                    "input_bytes_or_pixels": _input_size(value),
                    "latency_s": round(time.perf_counter() - started, 3), "outcome": outcome,
                }))

        return wrapper

    return decorate


@logged("/ocr")
def read_document(path: str | None, progress: gr.Progress = gr.Progress()) -> tuple[str, Image.Image, dict]:
    """Text, overlay of page 1 and the full JSON result for an uploaded image or PDF."""
    if not path:
        raise gr.Error("Upload an image or a PDF first.")
    result = ocr.recognize(path, progress=lambda done, total: progress((done, total), desc="Reading pages", unit="pages"))
    return result.text, result.overlay(0), result.to_json()


def sketch_image(value: dict | None) -> Image.Image | None:
    """The drawing in a sketchpad value: its composite, else its layers over its background
    (clients may send only one of them)."""
    if value is None:
        return None
    if value.get("composite") is not None:
        return value["composite"]
    parts = [p for p in [value.get("background"), *value.get("layers", [])] if p is not None]
    if not parts:
        return None
    canvas = Image.new("RGBA", parts[0].size, (0, 0, 0, 0))
    for part in parts:
        canvas.alpha_composite(part.convert("RGBA").resize(canvas.size))
    return canvas


@logged("/digit")
def recognise_digit(sketch: dict | None) -> dict:
    """gr.Label value with the top 3 classes for one drawn digit."""
    return digits.top_k(digits.predict(sketch_image(sketch)), k=3)


@logged("/number")
def read_number(sketch: dict | None) -> tuple[dict, Image.Image]:
    """The whole number in a drawing, per-digit probabilities and boxes, and an overlay."""
    result = digits.read_number(sketch_image(sketch))
    return result.to_json(), result.overlay()


def _samples(pattern: str) -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob(pattern))


def build_app() -> gr.Blocks:
    """The Blocks app with the Document OCR and Digits tabs."""
    with gr.Blocks(title="OCR Studio") as demo:
        gr.Markdown(f"# OCR Studio <small>v{__version__}</small>\nRuns entirely on this machine: "
                    "nothing you upload leaves it.")
        with gr.Tab("Document OCR"):
            gr.Markdown(f"Upload a photo, scan or PDF (up to {ocr.config.settings().max_pdf_pages} pages). "
                        "Reads printed text in Latin-script languages (accents included), Greek, Chinese "
                        "and Japanese; not Cyrillic, Korean, Arabic or handwriting.")
            with gr.Row():
                with gr.Column():
                    document = gr.File(label="Image or PDF", file_types=["image", ".pdf"], type="filepath")
                    snapshot = gr.Image(label="…or paste / take a photo", type="filepath",
                                        sources=["clipboard", "webcam", "upload"], height=240)
                    ocr_button = gr.Button("Read text", variant="primary")
                    gr.Examples(_samples("documents/*"), inputs=document, label="Sample documents")
                with gr.Column():
                    text = gr.Textbox(label="Text (reading order)", lines=14, buttons=["copy"])
                    overlay = gr.Image(label="Detected lines (numbered in reading order, page 1)", type="pil")
                    result_json = gr.JSON(label="Lines, boxes, confidences", open=False)
            ocr_outputs = [text, overlay, result_json]
            ocr_button.click(read_document, document, ocr_outputs, api_name="ocr", concurrency_limit=1)
            snapshot.input(read_document, snapshot, ocr_outputs, api_visibility="private", concurrency_limit=1)

        with gr.Tab("Digits"):
            gr.Markdown("Draw one digit (or a whole number) with the mouse or a finger, or upload a picture of one.")
            with gr.Row():
                with gr.Column():
                    pad = gr.Sketchpad(label="Canvas", type="pil", image_mode="RGBA", canvas_size=(560, 560),
                                       sources=["upload", "clipboard"],
                                       brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"))
                    with gr.Row():
                        digit_button = gr.Button("Recognise digit", variant="primary")
                        number_button = gr.Button("Read number")
                        clear = gr.ClearButton(pad, value="Clear")
                    gr.Examples(_samples("digits/*.png"), inputs=pad, label="Sample drawings")
                with gr.Column():
                    label = gr.Label(label="Digit (top 3)", num_top_classes=3)
                    number_overlay = gr.Image(label="Number: digits found, left to right", type="pil")
                    number_json = gr.JSON(label="Number, per-digit probabilities and boxes", open=False)
            clear.add([label, number_overlay, number_json])
            digit_button.click(recognise_digit, pad, label, api_name="digit")
            number_button.click(read_number, pad, [number_json, number_overlay], api_name="number")
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OCR Studio: document OCR and digit recognition, offline.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 for all; env GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (env GRADIO_SERVER_PORT)")
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a public share link")
    args = parser.parse_args(argv)

    setup_request_log()
    ocr.warm_up()
    digits.warm_up()
    demo = build_app().queue(max_size=64)
    with contextlib.redirect_stdout(io.StringIO()):  # Gradio's own offline share notice runs to 7 lines
        demo.launch(server_name=args.host, server_port=args.port, max_file_size=MAX_FILE_SIZE,
                    theme=gr.themes.Soft(), share=args.share, quiet=True, prevent_thread_lock=True)
    print(f"* OCR Studio {__version__} running on {demo.local_url}", flush=True)
    if args.share:
        print(f"* Public share link: {demo.share_url}" if demo.share_url else
              "* No share link could be created (no internet connection?): serving locally only.", flush=True)
    demo.block_thread()


if __name__ == "__main__":
    main()
