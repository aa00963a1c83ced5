"""OCR Studio: the Gradio app. UI wiring only; inference lives in `ocr/` and `digits/`.

    python app.py [--host HOST] [--port PORT] [--share]

Named endpoints (a public contract, see README "API"): /ocr, /export, /digit, /number.
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no call home
# Gradio's queue rebuilds a pandas summary of its last 10,000 events after every event (its monitoring page):
# ~3 ms per digit call, and growing. Every 1,000 events over the last 1,000 costs nothing.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")

import argparse
import contextlib
import io
import shutil
import signal
import tempfile
from pathlib import Path

import gradio as gr
from PIL import Image
from starlette.middleware import Middleware

import digits
import ocr
from ocr.export import FORMATS
from ocr.export.batch import fresh_folder
from ocr.result import REGION_COLOURS, page_notes, table_rows, tables_csv
from serving.gate import ApiGate
from serving import ocr_worker, uploads
from serving.logs import logged, setup_logs

__version__ = "1.14.0"

ROOT = Path(__file__).resolve().parent
SAMPLES = ROOT / "samples"
CANVAS_SIZE = (540, 540)  # the Digits sketch-pad, px: with the editor's margins it fits its column at 100 %
# An image output's label floats over the top of its image: room for it, so the first lines' and digits' labels
# in the overlays stay visible
OVERLAY_CSS = "#ocr-overlay img, #number-overlay img { padding-top: 2.4rem; }"
# Gradio's editor sets its "image" tool whenever its value is empty (on open, after Clear or its own trash
# button), and there a mouse stroke selects page text instead of drawing; no Sketchpad parameter changes that
# (gradio 6.31). This watches the pad and presses its Brush button whenever none of its tools is active.
BRUSH_ALWAYS_ON_JS = """() => {
  const pick = () => {
    const tools = [...document.querySelectorAll('#digit-pad button[aria-label]')]
      .filter(b => ['Brush', 'Erase', 'Pan'].includes(b.getAttribute('aria-label')));
    const brush = tools.find(b => b.getAttribute('aria-label') === 'Brush');
    if (brush && !tools.some(b => b.classList.contains('highlight'))) brush.click();
  };
  let queued = false;
  new MutationObserver(() => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; pick(); }); } })
    .observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['class']});
  pick();
}"""


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < minimum:
        raise SystemExit(f"{name} must be a whole number of at least {minimum}, got {raw!r}.")
    return int(raw)


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "0")
    if raw not in ("0", "1"):
        raise SystemExit(f"{name} must be 0 or 1, got {raw!r}.")
    return raw == "1"


# The app's own settings (OCR_* and DIGITS_* live in ocr/config.py and digits/config.py).
LOG_DIR = Path(os.environ.get("OCR_STUDIO_LOG_DIR", ROOT / "logs"))
MAX_FILE_SIZE = os.environ.get("OCR_STUDIO_MAX_FILE_SIZE", "50mb")
UPLOAD_TTL_S = _env_int("OCR_STUDIO_UPLOAD_TTL", 3600, 1)    # uploads and outputs are deleted after this
SHARED_UPLOADS = _env_flag("OCR_STUDIO_SHARED_UPLOADS")      # GRADIO_TEMP_DIR is shared (serving/uploads.py)
OCR_QUEUE = _env_int("OCR_STUDIO_OCR_QUEUE", 16, 1)          # OCR calls waiting at most, all clients together
DIGITS_QUEUE = _env_int("OCR_STUDIO_DIGITS_QUEUE", 64, 1)    # the same for each digit endpoint
DIGITS_CONCURRENCY = _env_int("OCR_STUDIO_DIGITS_CONCURRENCY", 2, 1)  # digit calls run at once (OCR: one)
OCR_NICE = _env_int("OCR_STUDIO_OCR_NICE", 19, 0)            # the OCR worker process runs at this lower priority
QUEUE_LIMITS = {"ocr": OCR_QUEUE, "digit": DIGITS_QUEUE, "number": DIGITS_QUEUE}  # by concurrency_id

INPUT_ERRORS = (ocr.InputError, digits.InputError)  # their messages are meant for the person: shown as they are
OCR = ocr_worker.OcrWorker(OCR_NICE)  # every page is read there, one call at a time


def _file_path(part: dict | None) -> str | None:
    """The server-side path of one file in a raw (not preprocessed) Gradio payload."""
    return part.get("path") if isinstance(part, dict) else None


@logged("/ocr", INPUT_ERRORS, shown_errors=(ocr_worker.WorkerStopped,))
def read_document(path: str | dict | None, progress: gr.Progress = gr.Progress()) -> tuple[str, str, dict]:
    """Text, overlay of page 1 (an image file) and the full JSON result for an uploaded image or PDF (a path,
    or the raw payload of the photo input)."""
    path = _file_path(path) if isinstance(path, dict) else path
    if not path:
        raise gr.Error("Upload an image or a PDF first.")
    folder = fresh_folder(Path(tempfile.gettempdir()) / "ocr-studio-overlays", UPLOAD_TTL_S, "overlay-")
    return OCR.call(ocr_worker.read_document, path, folder,
                    progress=lambda done, total: progress((done, total), desc="Reading pages", unit="pages"))


def show_tables(result: dict | None) -> tuple[dict, str | None]:
    """The tables of an OCR result for the OCR tab: all of them in one grid (an empty row between
    two tables) and a CSV file of the same, or hidden/None when the result has no table."""
    grids = [table_rows(block) for page in (result or {}).get("pages", []) for block in page.get("blocks", [])]
    grids = [grid for grid in grids if grid]
    if not grids:
        return gr.update(value=None, visible=False), None
    width = max(len(row) for grid in grids for row in grid)
    rows: list[list[str]] = []
    for grid in grids:
        if rows:
            rows.append([""] * width)
        rows.extend(row + [""] * (width - len(row)) for row in grid)
    with tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="tables-", delete=False, encoding="utf-8",
                                     newline="") as handle:
        handle.write(tables_csv(result))
    return gr.update(value=rows, visible=True), handle.name


FORMAT_LABELS = {"pdf": "Searchable PDF", "hocr": "hOCR", "alto": "ALTO XML", "md": "Markdown", "txt": "Text",
                 "json": "JSON"}


@logged("/export", INPUT_ERRORS, shown_errors=(ocr_worker.WorkerStopped,))
def export_documents(files: list | None, formats: list[str] | None, progress: gr.Progress = gr.Progress()) -> list[str]:
    """One file per input and format (<stem>.pdf, .hocr, .alto.xml, .md, .txt, .json), plus ocr-export.zip
    when there are several and export-errors.txt naming each file that could not be read."""
    paths = [_file_path(f) if isinstance(f, dict) else f for f in (files or [])]
    paths = [str(p) for p in paths if p]
    if not paths:
        raise gr.Error("Upload one or more images or PDFs first.")
    if not formats:
        raise gr.Error(f"Pick at least one format ({', '.join(FORMATS)}).")

    def report(k: int, count: int, name: str, done: int, total: int) -> None:
        progress((done, total), desc=f"File {k + 1} of {count}: {name}", unit="pages")

    folder = fresh_folder(Path(tempfile.gettempdir()) / "ocr-studio-export", UPLOAD_TTL_S, "export-")
    batch = OCR.call(ocr_worker.export_documents, [(p, Path(p).name) for p in paths], formats, folder, progress=report)
    if not batch.files:
        raise gr.Error("No file could be read. " + " ".join(f"{name}: {reason}" for name, reason in batch.failures))
    for name, reason in batch.failures:
        gr.Warning(f"{name}: {reason}")
    return [str(p) for p in batch.downloads()]


def sketch_drawing(payload: dict | None, pad: gr.Sketchpad) -> Image.Image | None:
    """The drawing in a raw sketch-pad payload, decoded by digits (never by Gradio): the browser's parts
    come from the component's blob storage, an API client's as uploaded files."""
    if not payload:
        return None
    blobs = pad.blob_storage.pop(payload["id"], None) if payload.get("id") else None
    if blobs is not None:
        return digits.flatten(blobs.background, [layer for layer in blobs.layers if layer is not None],
                              blobs.composite)
    layers = payload.get("layers") or []
    return digits.flatten(_file_path(payload.get("background")), [_file_path(layer) for layer in layers],
                          _file_path(payload.get("composite")))


def region_legend() -> str:
    """The overlay's colour key: one swatch per region kind, then the numbered line boxes."""
    swatches = "".join(
        f'<span style="display:inline-block;width:0.9em;height:0.9em;background:rgb{colour};opacity:0.6;'
        f'margin:0 0.3em 0 0.8em;vertical-align:middle"></span>{kind}'
        for kind, colour in REGION_COLOURS.items())
    return f'<div style="font-size:0.9em">Regions:{swatches}; red boxes: lines, numbered in reading order.</div>'


def _samples(pattern: str) -> list[str]:
    return sorted(str(p) for p in SAMPLES.glob(pattern))


def build_app() -> gr.Blocks:
    """The Blocks app with the Document OCR and Digits tabs, its queues and its upload retention."""
    own_files = None if SHARED_UPLOADS else (min(UPLOAD_TTL_S, 600), UPLOAD_TTL_S)  # shared: swept in main()
    with gr.Blocks(title="OCR Studio", delete_cache=own_files) as demo:
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
                    overlay = gr.Image(label="Regions and lines of page 1 (lines numbered in reading order)",
                                       type="pil", elem_id="ocr-overlay")
                    gr.HTML(region_legend(), elem_id="region-legend")
                    notes = gr.Markdown(elem_id="page-notes")
                    result_json = gr.JSON(label="Lines, boxes, confidences", open=False)
                    tables = gr.Dataframe(label="Tables (cells by row and column)", visible=False, interactive=False)
                    tables_file = gr.File(label="Tables as CSV", interactive=False)
            with gr.Accordion("Export documents: searchable PDF, hOCR, ALTO, Markdown, text, JSON", open=True):
                with gr.Row():
                    with gr.Column():
                        export_files = gr.File(label="Images or PDFs (one or many)", file_count="multiple",
                                               file_types=["image", ".pdf"], type="filepath")
                        export_formats = gr.CheckboxGroup([(FORMAT_LABELS[f], f) for f in FORMATS], value=["pdf", "md"],
                                                          label="Formats")
                        export_button = gr.Button("Export", variant="primary")
                    with gr.Column():
                        downloads = gr.File(label="Downloads (one file per input and format; a zip when several)",
                                            file_count="multiple", interactive=False)
            export_button.click(export_documents, [export_files, export_formats], downloads, api_name="export",
                                concurrency_limit=1, concurrency_id="ocr")
            ocr_outputs = [text, overlay, result_json]
            read = ocr_button.click(read_document, document, ocr_outputs, api_name="ocr", concurrency_limit=1,
                                    concurrency_id="ocr")
            # preprocess=False: the photo reaches ocr/ undecoded, so only ocr's allowed formats are opened
            photo = snapshot.input(read_document, snapshot, ocr_outputs, api_visibility="private", concurrency_limit=1,
                                   concurrency_id="ocr", preprocess=False)
            for event in (read, photo):  # tables and notes from the JSON just shown; /ocr's outputs stay as they are
                event.success(show_tables, result_json, [tables, tables_file], api_visibility="private")
                event.success(page_notes, result_json, notes, api_visibility="private")

        with gr.Tab("Digits"):
            gr.Markdown("Draw one digit (or a whole number) with the mouse or a finger, or upload a picture of one.")
            with gr.Row():
                with gr.Column():
                    # Brush only (BRUSH_ALWAYS_ON_JS keeps it active); pictures come in through `picture`. The
                    # editor fits the canvas in its height less 100 px (30 px border each side, 40 px toolbar):
                    # at 100 % in a column of at least 580 px. Brush radius 12 px: 24 px strokes.
                    pad = gr.Sketchpad(label="Canvas", type="pil", image_mode="RGBA", canvas_size=CANVAS_SIZE,
                                       height=CANVAS_SIZE[1] + 100, sources=(), transforms=(), layers=False,
                                       brush=gr.Brush(default_size=12, colors=["#000000"], color_mode="fixed"),
                                       elem_id="digit-pad")
                    with gr.Row():
                        digit_button = gr.Button("Recognise digit", variant="primary")
                        number_button = gr.Button("Read number")
                        clear = gr.ClearButton(pad, value="Clear")
                    picture = gr.Image(label="…or upload / paste a picture (it goes onto the canvas)", height=160,
                                       type="filepath", sources=["upload", "clipboard"], elem_id="digit-upload")
                    gr.Examples(_samples("digits/*.png"), inputs=pad, label="Sample drawings")
                with gr.Column():
                    label = gr.Label(label="Digit (top 3)", num_top_classes=3, elem_id="digit-label")
                    number_overlay = gr.Image(label="Number: digits found, left to right", type="pil",
                                              elem_id="number-overlay")
                    number_json = gr.JSON(label="Number, per-digit probabilities and boxes", open=False,
                                          elem_id="number-json")
            clear.add([picture, label, number_overlay, number_json])

            @logged("/digit", INPUT_ERRORS)
            def recognise_digit(sketch: dict | None) -> dict:
                """gr.Label value with the top 3 classes for one drawn digit."""
                return digits.top_k(digits.predict(sketch_drawing(sketch, pad)), k=3)

            @logged("/number", INPUT_ERRORS)
            def read_number(sketch: dict | None) -> tuple[dict, Image.Image]:
                """The whole number in a drawing, per-digit probabilities and boxes, and an overlay."""
                result = digits.read_number(sketch_drawing(sketch, pad))
                return result.to_json(), result.overlay()

            @logged("/picture", INPUT_ERRORS)
            def picture_to_canvas(upload: dict | None) -> dict | None:
                """An uploaded picture as the canvas's background, decoded by digits (allowed formats, size)."""
                path = _file_path(upload)
                return {"background": digits.load_image(path), "layers": [], "composite": None} if path else None

            # preprocess=False: the sketch reaches digits/ undecoded (allowed formats, pixel and layer limits)
            digit_button.click(recognise_digit, pad, label, api_name="digit", preprocess=False,
                               concurrency_id="digit", concurrency_limit=DIGITS_CONCURRENCY)
            number_button.click(read_number, pad, [number_json, number_overlay], api_name="number",
                                preprocess=False, concurrency_id="number", concurrency_limit=DIGITS_CONCURRENCY)
            picture.upload(picture_to_canvas, picture, pad, api_visibility="private", preprocess=False,
                           concurrency_id="digit", concurrency_limit=DIGITS_CONCURRENCY)
            demo.load(None, js=BRUSH_ALWAYS_ON_JS)
    return demo.queue(max_size=None)  # bounded per endpoint by QUEUE_LIMITS, in launch()


def upload_dir(port: int) -> Path:
    """Where Gradio keeps this instance's uploads and outputs: GRADIO_TEMP_DIR, else a folder per port that
    is emptied at start (files a killed earlier instance left behind)."""
    if os.environ.get("GRADIO_TEMP_DIR"):
        return Path(os.environ["GRADIO_TEMP_DIR"])
    folder = Path(tempfile.gettempdir()) / "ocr-studio" / str(port)
    shutil.rmtree(folder, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def launch(demo: gr.Blocks, host: str, port: int, share: bool = False, files: Path | None = None) -> None:
    """Serve the app in a background thread, with the upload limit, the per-endpoint queue limits and the
    theme. files: the upload folder, served to whoever has a link into it. Gradio serves only the files its
    own process wrote; the replicas of a deployment share one upload folder, so a result file one replica
    wrote must also come from the replica the proxy picks next (after an upgrade or a failover)."""
    gate = Middleware(ApiGate, demo=demo, limits=QUEUE_LIMITS)
    with contextlib.redirect_stdout(io.StringIO()):  # Gradio's own offline share notice runs to 7 lines
        demo.launch(server_name=host, server_port=port, max_file_size=MAX_FILE_SIZE, theme=gr.themes.Soft(),
                    css=OVERLAY_CSS, share=share, quiet=True, prevent_thread_lock=True,
                    app_kwargs={"middleware": [gate]}, allowed_paths=[str(files)] if files else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OCR Studio: document OCR and digit recognition, offline.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to listen on (0.0.0.0 for all; env GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (env GRADIO_SERVER_PORT)")
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a public share link")
    args = parser.parse_args(argv)

    setup_logs(LOG_DIR)
    files = upload_dir(args.port)
    if SHARED_UPLOADS:
        uploads.start_sweeping(files, UPLOAD_TTL_S, min(UPLOAD_TTL_S, 600))
    OCR.start()
    digits.warm_up()
    demo = build_app()
    launch(demo, args.host, args.port, args.share, files)
    print(f"* OCR Studio {__version__} running on {demo.local_url}", flush=True)
    if args.share:
        print(f"* Public share link: {demo.share_url}" if demo.share_url else
              "* No share link could be created (no internet connection?): serving locally only.", flush=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl+C: own uploads are deleted
    demo.block_thread()


if __name__ == "__main__":
    main()
