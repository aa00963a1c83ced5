"""Digit sketch-pad benchmark: MNIST test digits drawn on canvases, read through the app's /digit and /number.

    python bench/digits.py                      # starts app.py on a free port and calls it over HTTP
    python bench/digits.py --url http://127.0.0.1:7860
    python bench/digits.py --direct             # in-process, no HTTP (same PNGs, same code path below the app)

Conditions for /digit, on a white 800x800 canvas and on a transparent 800x800 RGBA one: "large" (longer side
of the ink box 450-700 px, near the centre), "small" (40-80 px, anywhere), "off-centre" (150-300 px, against
an edge); and "pen-drawn": the digit re-traced along its centre line with a 12-24 px round brush (as with
the app's sketch-pad brush), 300-560 px tall.
/number: 2-12 digits side by side (lengths drawn evenly), enlarged 4-9x, each digit's size varied by
+-15%, gaps of -5 to 60 px (a third of them -5 to 2 px: touching or overlapping), a slope of up to +-8% of
the height per digit, vertical jitter up to 5% of the height; exact string, reported per length.
Prints a markdown table.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path and its name would hide the digits package.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from deploy import server  # noqa: E402
from digits.config import MNIST_DIR  # noqa: E402
from digits.data import load_mnist  # noqa: E402
from digits.synth import draw_digit, ink_crop, pen_drawn, place, render, written_number  # noqa: E402

CANVAS = 800


def digit_canvas(mnist: np.ndarray, condition: str, rng: np.random.Generator, transparent: bool) -> Image.Image:
    """One MNIST digit drawn on an 800x800 canvas as the condition says."""
    low, high = {"large": (450, 700), "small": (40, 80), "off-centre": (150, 300)}[condition]
    size = int(rng.integers(low, high + 1))
    h, w = ink_crop(mnist).shape
    height, width = round(h * size / max(h, w)), round(w * size / max(h, w))
    if condition == "large":
        x = (CANVAS - width) // 2 + int(rng.integers(-40, 41))
        y = (CANVAS - height) // 2 + int(rng.integers(-40, 41))
    else:  # "small" anywhere; "off-centre" against one of the four edges
        x, y = int(rng.integers(0, CANVAS - width)), int(rng.integers(0, CANVAS - height))
        if condition == "off-centre":
            edge, inset = int(rng.integers(4)), int(rng.integers(0, 30))
            if edge == 0:
                x = inset
            elif edge == 1:
                x = CANVAS - width - inset
            elif edge == 2:
                y = inset
            else:
                y = CANVAS - height - inset
    return draw_digit(mnist, size, max(x, 0), max(y, 0), (CANVAS, CANVAS), transparent)


def pen_canvas(mnist: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """The digit re-traced with a round brush 12-24 px wide, 300-560 px tall, on a white 800x800 canvas."""
    crop = ink_crop(mnist)
    ink = pen_drawn(crop, int(rng.integers(300, 561)) / max(crop.shape), int(rng.integers(12, 25)))
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    place(canvas, ink, int(rng.integers(0, CANVAS - ink.shape[1])), int(rng.integers(0, CANVAS - ink.shape[0])))
    return render(canvas)


LENGTHS = (2, 12)     # digits per number


def number_set(images: np.ndarray, labels: np.ndarray, count: int, lengths: tuple[int, int],
               rng: np.random.Generator) -> list[tuple[bytes, str]]:
    """`count` numbers of random test digits, lengths evenly from `lengths` (inclusive)."""
    numbers = []
    for _ in range(count):
        picked = rng.choice(len(images), size=int(rng.integers(lengths[0], lengths[1] + 1)), replace=False)
        numbers.append((png(written_number(list(images[picked]), rng)), "".join(str(labels[i]) for i in picked)))
    return numbers


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def direct_readers() -> tuple[Callable[[bytes], str], Callable[[bytes], str]]:
    import digits
    digits.warm_up()
    return (lambda data: next(iter(digits.top_k(digits.predict(data)))),
            lambda data: digits.read_number(data).number)


def http_readers(url: str, workdir: Path) -> tuple[Callable[[bytes], str], Callable[[bytes], str]]:
    from gradio_client import handle_file
    client = server.api_client(url)
    counter = iter(range(10**9))

    def sketch(data: bytes) -> dict:
        path = workdir / f"{next(counter)}.png"
        path.write_bytes(data)
        return {"background": None, "layers": [], "composite": handle_file(str(path))}

    return (lambda data: client.predict(sketch(data), api_name="/digit")["label"],
            lambda data: client.predict(sketch(data), api_name="/number")[0]["number"])


def run(name: str, samples: list[tuple[bytes, str]], read: Callable[[bytes], str]) -> tuple[str, int, int, float]:
    correct, started = 0, time.perf_counter()
    for data, expected in samples:
        correct += read(data) == expected
    return name, len(samples), correct, (time.perf_counter() - started) / len(samples)


def number_rows(numbers: list[tuple[bytes, str]], read: Callable[[bytes], str]) -> list[tuple[str, int, int, float]]:
    """/number rows: each length, then 2-6 and 7-12 digits together (exact string)."""
    results = []
    for data, expected in numbers:
        started = time.perf_counter()
        try:
            answer = read(data)
        except Exception as exc:  # noqa: BLE001 - a refused drawing counts as a miss
            answer = f"error: {exc}"
        results.append((len(expected), answer == expected, time.perf_counter() - started))
    rows = []
    groups = [(f"/number, {n} digits", [n]) for n in range(LENGTHS[0], LENGTHS[1] + 1)]
    groups += [("/number, **2-6 digits** (exact string)", range(2, 7)), ("/number, **7-12 digits** (exact string)",
                                                                           range(7, 13))]
    for name, lengths in groups:
        chosen = [r for r in results if r[0] in lengths]
        if chosen:
            rows.append((name, len(chosen), sum(r[1] for r in chosen), sum(r[2] for r in chosen) / len(chosen)))
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--direct", action="store_true", help="call the digits package in-process (no HTTP)")
    mode.add_argument("--url", help="a running app (default: start app.py on a free port)")
    p.add_argument("--n", type=int, default=2000, help="digits per /digit condition (default 2000)")
    p.add_argument("--n-numbers", type=int, default=1000, help="numbers of 2-6 digits for /number (default 1000)")
    p.add_argument("--n-long", type=int, default=500, help="numbers of 7-12 digits for /number (default 500)")
    p.add_argument("--numbers-only", action="store_true",
                   help="skip the /digit conditions (the numbers then differ from a full run's: fewer random draws)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(MNIST_DIR), help="directory with the MNIST IDX files")
    args = p.parse_args(argv)

    images, labels = load_mnist(args.data, "test")
    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(images), size=min(args.n, len(images)), replace=False)
    conditions = [(c, t) for t in (False, True) for c in ("large", "small", "off-centre")]
    digit_sets = {} if args.numbers_only else {
        f"/digit {c}, {'transparent' if t else 'white'} canvas":
            [(png(digit_canvas(images[i], c, rng, t)), str(labels[i])) for i in chosen]
        for c, t in conditions
    }
    if not args.numbers_only:
        digit_sets["/digit pen-drawn (12-24 px brush), white canvas"] = [
            (png(pen_canvas(images[i], rng)), str(labels[i])) for i in chosen]
    numbers = number_set(images, labels, args.n_numbers, (2, 6), rng)
    numbers += number_set(images, labels, args.n_long, (7, 12), rng)

    stack = contextlib.ExitStack()  # the app this run starts, stopped at the end
    with tempfile.TemporaryDirectory() as workdir:
        if args.direct:
            read_digit, read_number = direct_readers()
            where = "in-process (--direct)"
        else:
            url = args.url
            if url is None:
                app = stack.enter_context(server.serving(ROOT, Path(workdir) / "app.log"))
                url = app.url
            read_digit, read_number = http_readers(url, Path(workdir))
            where = f"HTTP {url} via gradio_client"
        try:
            rows = [run(name, samples, read_digit) for name, samples in digit_sets.items()]
            rows += number_rows(numbers, read_number)
        finally:
            stack.close()

    print(f"Digit bench: {where}, MNIST test digits, seed {args.seed}\n")
    print("| condition | n | correct | accuracy | ms/request |")
    print("|---|---:|---:|---:|---:|")
    for name, n, correct, seconds in rows:
        print(f"| {name} | {n} | {correct} | {correct / n:.2%} | {seconds * 1000:.0f} |")


if __name__ == "__main__":
    main()
