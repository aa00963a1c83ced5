"""Standalone digit tester: the DigitNet model, MNIST-style preprocessing and a small Gradio UI.

Imports nothing from the OCR Studio repository, so this folder works on its own anywhere:

    pip install -r requirements.txt
    python app.py [--host 127.0.0.1] [--port 7861] [--weights mnist_cnn.pth]

API (gradio_client), both answering {"label": "7", "confidences": [{"label": "7", "confidence": 0.99}, ...top 3]}:
    Client(url).predict({"background": None, "layers": [], "composite": handle_file("7.png")}, api_name="/predict")
    Client(url).predict(handle_file("7.png"), api_name="/predict_upload")

The architecture and the preprocessing are copies of digits/model.py and digits/preprocess.py in the main
repository (tests/test_testing_module.py checks that both give the same predictions).
"""
from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no call home

import argparse
import functools
import hashlib
import io
import struct
import threading
import zlib
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import nn

HERE = Path(__file__).resolve().parent
WEIGHTS = HERE / "mnist_cnn.pth"

# --- Model: same layers as digits/model.py, so the same state_dict loads --------------------------------------

MNIST_MEAN = 0.1307  # pixel statistics of the MNIST training set (ink = 1.0 on a 0.0 background)
MNIST_STD = 0.3081


def normalise(images):
    """The model's input normalisation of [0, 1] images (this DigitNet, unlike digits/model.py's, leaves it to
    the caller)."""
    return (images - MNIST_MEAN) / MNIST_STD


def _conv(cin: int, cout: int, padding: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DigitNet(nn.Module):
    """Input: (N, 1, 28, 28) normalised images. Output: (N, 10) logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            *_conv(1, 32), *_conv(32, 32), nn.MaxPool2d(2), nn.Dropout(0.1),
            *_conv(32, 64), *_conv(64, 64), nn.MaxPool2d(2), nn.Dropout(0.1),
            *_conv(64, 128, padding=0),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 5 * 5, 128, bias=False), nn.BatchNorm1d(128), nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --- Preprocessing: same steps and constants as digits/preprocess.py ------------------------------------------

MIN_CONTRAST = 24 / 255  # strongest ink weaker than this (fraction of full scale): the canvas is empty
FAINT = 0.08             # ink below this fraction of the strongest ink is background
STROKE = 0.15            # ink at or above this fraction of the strongest ink forms strokes
SPECK = 0.02             # strokes with less area than this fraction of the largest stroke are specks
MIN_EXTENT = 0.015       # the largest stroke must span this fraction of the image's longer side...
MIN_EXTENT_PX = 3        # ...and at least this many pixels, or the canvas counts as empty
THIN = 0.06              # strokes thinner than this fraction of the digit's size are thickened...
THICK_TARGET = 0.10      # ...to this fraction
MAX_RADIUS = 24          # growing strokes by more px is done on a copy shrunk by a whole factor (bounds the cost)
BOX, SIZE, CENTRE = 20, 28, 14.0  # MNIST: digit's longer side, image side, centre of mass
_3x3 = np.ones((3, 3), np.uint8)

RASTER_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF", "PPM")  # the only formats Image.open may try
_OPENED_FORMATS = frozenset(RASTER_FORMATS) | {"MPO"}  # Image.format of those (a phone's multi-picture JPEG: MPO)
MAX_PIXELS = 4096 * 4096  # larger images (width x height) are refused before their pixels are decoded
MAX_SIDE = 2000           # images with a longer side are shrunk (whole factor, box filter) before the ink is found
DIGIT_SIDE = 400          # ...or to this for a single digit (preprocess): the model sees 20 px of it
_POSTSCRIPT = (b"%!", b"\xc5\xd0\xd3\xc6")  # a PostScript program (after blanks), a DOS EPS binary header
_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF8")  # how RASTER_FORMATS start
_DAMAGED = (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, struct.error, zlib.error)
_ACCEPTED = f"{', '.join(RASTER_FORMATS[:-1])} or {RASTER_FORMATS[-1]}"


class EmptyCanvasError(ValueError):
    def __init__(self, message: str = "Draw a digit first: the canvas is empty.") -> None:
        super().__init__(message)


def check_size(width: int, height: int) -> None:
    """Refuse an image with no pixels or more than MAX_PIXELS (checked before decoding)."""
    if width * height > MAX_PIXELS:
        raise ValueError(f"The image is too large: {width} x {height} pixels ({width * height / 1e6:.1f} "
                         f"megapixels); the limit is {MAX_PIXELS / 1e6:.1f} megapixels.")
    if width < 1 or height < 1:
        raise ValueError("The image has no pixels.")


def open_image(data: bytes, name: str) -> Image.Image:
    """Decode image bytes of one of RASTER_FORMATS (PostScript refused, size checked from the header first)."""
    if not data:
        raise ValueError(f"Cannot read {name}: it is empty (0 bytes).")
    if data[:1024].lstrip(b" \t\r\n\f\x00").removeprefix(b"\xef\xbb\xbf").startswith(_POSTSCRIPT):
        raise ValueError(f"PostScript/EPS files are not accepted: {name} is one (a program, not a picture). "
                         f"Send a {_ACCEPTED} image.")
    damaged = f"Cannot read {name}: the image data is damaged or cut short"
    try:
        image = Image.open(io.BytesIO(data), formats=RASTER_FORMATS)  # reads the header only
    except UnidentifiedImageError:
        if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise ValueError(f"{damaged}.") from None
        raise ValueError(f"Cannot read {name}: it is not a {_ACCEPTED} image.") from None
    except Image.DecompressionBombError:
        raise ValueError(f"The image is too large: more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; "
                         f"the limit is {MAX_PIXELS / 1e6:.1f} megapixels.") from None
    except _DAMAGED as exc:
        raise ValueError(f"{damaged} ({exc}).") from exc
    check_size(image.width, image.height)
    try:
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except _DAMAGED as exc:
        raise ValueError(f"{damaged} ({exc}).") from exc


def load_image(source) -> Image.Image:
    """A path, encoded bytes, PIL image or numpy array as a PIL image in mode L, LA, RGB or RGBA."""
    if source is None:
        raise EmptyCanvasError()
    if isinstance(source, np.ndarray):
        array = source[..., 0] if source.ndim == 3 and source.shape[2] == 1 else source
        check_size(array.shape[1] if array.ndim > 1 else 0, array.shape[0])
        if array.dtype != np.uint8:
            array = np.asarray(array, dtype=np.float64)
            array = np.clip(array * 255 if array.max() <= 1.0 else array, 0, 255).round().astype(np.uint8)
        image = Image.fromarray(np.ascontiguousarray(array))
    elif isinstance(source, Image.Image):
        if source.format == "EPS":
            raise ValueError("PostScript/EPS files are not accepted: the image is one (a program, not a picture). "
                             f"Send a {_ACCEPTED} image.")
        if source.format is not None and source.format not in _OPENED_FORMATS:
            raise ValueError(f"Cannot read the image: {source.format} images are not accepted; "
                             f"send a {_ACCEPTED} image.")
        check_size(source.width, source.height)
        image = source
    elif isinstance(source, (bytes, bytearray)):
        image = open_image(bytes(source), "the uploaded data")
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ValueError(f"Cannot read {source}: {exc.strerror or exc}.") from exc
        image = open_image(data, str(source))
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode.startswith("I;16"):
        return Image.fromarray((np.asarray(image, dtype=np.float32) / 257).astype(np.uint8))
    has_alpha = "A" in image.mode or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB" if len(image.getbands()) > 1 else "L")


def ink_map(image: Image.Image) -> np.ndarray:
    """(H, W) float32: ink strength, 1.0 for the strongest. Transparent canvas: the alpha channel; otherwise
    the colour deviation from the paper (border median), darker or lighter, whichever reaches further
    (on 8-bit channels with OpenCV: numpy's max over the colour axis costs ~100 ms per canvas)."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    colour = pixels
    if image.mode in ("LA", "RGBA"):
        colour, alpha = pixels[..., :-1], pixels[..., -1]
        if alpha.min() < 255:
            if np.median(_border(alpha[..., None])) < 128:
                return _relative(alpha)
            opaque = colour[alpha >= 128]
            paper = np.median(opaque if len(opaque) else colour.reshape(-1, colour.shape[2]), axis=0)
            weight = alpha[..., None].astype(np.float32) / 255
            colour = (colour * weight + paper * (1 - weight)).round().astype(np.uint8)
    paper = np.median(_border(colour), axis=0).round().astype(np.uint8)
    channels = cv2.split(np.ascontiguousarray(colour))
    darker = functools.reduce(cv2.max, [cv2.subtract(np.full_like(c, p), c) for c, p in zip(channels, paper)])
    lighter = functools.reduce(cv2.max, [cv2.subtract(c, np.full_like(c, p)) for c, p in zip(channels, paper)])
    return _relative(darker if darker.max() >= lighter.max() else lighter)


def _border(pixels: np.ndarray) -> np.ndarray:
    ring = max(1, round(0.02 * min(pixels.shape[:2])))
    strips = (pixels[:ring], pixels[-ring:], pixels[ring:-ring, :ring], pixels[ring:-ring, -ring:])
    return np.concatenate([strip.reshape(-1, pixels.shape[2]) for strip in strips])


def _relative(ink: np.ndarray) -> np.ndarray:
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST * 255:
        raise EmptyCanvasError()
    ink = ink.astype(np.float32) * np.float32(1 / strongest)
    ink[ink < FAINT] = 0
    return ink


def shrunk(image: Image.Image, max_side: int = MAX_SIDE) -> Image.Image:
    """The image reduced by the smallest whole factor that brings its longer side to max_side or less (box
    filter, colour weighted by alpha)."""
    factor = -(-max(image.size) // max_side)
    if factor == 1:
        return image
    premultiplied = {"RGBA": "RGBa", "LA": "La"}.get(image.mode)
    if premultiplied is None:
        return image.reduce(factor)
    return image.convert(premultiplied).reduce(factor).convert(image.mode)


def preprocess(source) -> np.ndarray:
    """(28, 28) float32 MNIST-format image (ink 1.0 on 0.0) of the digit drawn in `source`."""
    ink = ink_map(shrunk(load_image(source), DIGIT_SIDE))
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink >= STROKE).astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    if len(areas) == 0:
        raise EmptyCanvasError()
    largest = stats[1 + areas.argmax()]
    if max(largest[cv2.CC_STAT_WIDTH], largest[cv2.CC_STAT_HEIGHT]) < max(MIN_EXTENT_PX, MIN_EXTENT * max(ink.shape)):
        raise EmptyCanvasError()
    keep = np.zeros(count, bool)
    keep[1:] = areas >= SPECK * areas.max()
    digit = np.where(cv2.dilate(keep[labels].astype(np.uint8), _3x3) > 0, ink, 0).astype(np.float32)
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    digit = _thicken_thin_strokes(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])

    h, w = digit.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(digit, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    small = np.clip(small / small.max(), 0, 1)
    h, w = small.shape
    total = small.sum()
    cy = small.sum(axis=1) @ np.arange(h) / total
    cx = small.sum(axis=0) @ np.arange(w) / total
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top:top + h, left:left + w] = small
    return out


def _thicken_thin_strokes(digit: np.ndarray) -> np.ndarray:
    strokes = (digit >= STROKE).astype(np.uint8)
    contours, _ = cv2.findContours(strokes, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, closed=True) for c in contours)
    longer = max(digit.shape)
    width = 2 * float(strokes.sum()) / max(perimeter, 1.0) / longer
    radius = round((THICK_TARGET - width) * longer / 2)
    if width >= THIN or radius < 1:
        return digit
    factor = -(-radius // MAX_RADIUS)  # large digit: shrink first, dilation costs grow with the radius squared
    if factor > 1:
        h, w = digit.shape
        digit = cv2.resize(digit, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
        radius = round(radius / factor)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(np.pad(digit, radius), disk)


# --- Inference -----------------------------------------------------------------------------------------------

_model: DigitNet | None = None
_lock = threading.Lock()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model(weights: Path | None = None) -> DigitNet:
    """DigitNet with the weights (default: WEIGHTS) loaded once, on the first call, in eval mode."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                weights = Path(weights or WEIGHTS)
                if not weights.exists():
                    raise FileNotFoundError(f"Weights not found: {weights} (copy digits/mnist_cnn.pth here)")
                torch.set_num_threads(1)
                net = DigitNet()
                net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
                _model = net.eval()
    return _model


def predict(source) -> np.ndarray:
    """(10,) softmax probabilities of the digits 0-9 for the digit drawn in `source`."""
    x = normalise(torch.from_numpy(preprocess(source))[None, None])
    with torch.inference_mode():
        return torch.softmax(model()(x), dim=1)[0].numpy()


def top3(probabilities: np.ndarray) -> dict[str, float]:
    """The 3 most likely digits, most likely first: {"7": 0.98, "1": 0.01, "9": 0.004} (a gr.Label value;
    clients receive it as {"label": "7", "confidences": [{"label": "7", "confidence": 0.98}, ...]})."""
    order = np.argsort(probabilities)[::-1][:3]
    return {str(int(i)): float(probabilities[i]) for i in order}


def sketch_image(value) -> Image.Image | None:
    """The drawing in a sketchpad value: its composite, else the layers over the background."""
    if value is None or isinstance(value, Image.Image):
        return value
    if value.get("composite") is not None:
        return value["composite"]
    parts = [p for p in [value.get("background"), *(value.get("layers") or [])] if p is not None]
    if not parts:
        return None
    canvas = Image.new("RGBA", parts[0].size, (0, 0, 0, 0))
    for part in parts:
        canvas.alpha_composite(part.convert("RGBA").resize(canvas.size))
    return canvas


# --- User interface ------------------------------------------------------------------------------------------

def build_ui():
    import gradio as gr

    def classify(image) -> dict:
        try:
            return top3(predict(image))
        except ValueError as exc:  # EmptyCanvasError included
            raise gr.Error(str(exc)) from exc

    with gr.Blocks(title="Digit model tester") as demo:
        gr.Markdown("# Digit model tester\nDraw a digit or upload a picture of one; the model's top 3 answers "
                    f"appear on the right. Weights: `{WEIGHTS.name}`, SHA-256 `{sha256_of(WEIGHTS)[:16]}…`")
        with gr.Row():
            with gr.Column():
                with gr.Tab("Draw"):
                    pad = gr.Sketchpad(label="Canvas", type="pil", image_mode="RGBA", format="png",
                                       canvas_size=(400, 400),
                                       brush=gr.Brush(default_size=16, colors=["#000000"], color_mode="fixed"))
                    draw_button = gr.Button("Predict", variant="primary")
                with gr.Tab("Upload"):
                    upload = gr.Image(label="Image of one digit", type="pil", image_mode=None, format="png",
                                      sources=["upload", "clipboard"])
                    upload_button = gr.Button("Predict", variant="primary")
            label = gr.Label(label="Prediction (top 3)", num_top_classes=3)
        draw_button.click(lambda value: classify(sketch_image(value)), pad, label, api_name="predict")
        upload_button.click(classify, upload, label, api_name="predict_upload")
    return demo


def main(argv: list[str] | None = None) -> None:
    global WEIGHTS
    parser = argparse.ArgumentParser(description="Standalone digit model tester (Gradio).")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7861")))
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="DigitNet state_dict (default: beside app.py)")
    args = parser.parse_args(argv)
    WEIGHTS = args.weights
    model(WEIGHTS)
    print(f"* weights {WEIGHTS} sha256 {sha256_of(WEIGHTS)}", flush=True)
    build_ui().queue().launch(server_name=args.host, server_port=args.port, quiet=True)


if __name__ == "__main__":
    main()
