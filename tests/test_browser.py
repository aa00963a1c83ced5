"""The app in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, installed by .ci/run)
against `python app.py` started by the test. Mouse strokes are real pointer events on Gradio's sketch-pad;
no tool is clicked before drawing, so the tests fail when the brush is not active when the tab opens.

Screenshots go to test-artifacts/browser/ (git-ignored; OCR_STUDIO_TEST_ARTIFACTS to change) for a person
to look at."""
from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocr.result import REGION_COLOURS


REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("OCR_STUDIO_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(os.environ.get("OCR_STUDIO_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"
VIEWPORT = {"width": 1280, "height": 1100}
# Share of the OCR overlay that shows colour: receipt_043 with its regions filled 0.675, with only
# its red line boxes drawn 0.064 (in-process overlay, 2026-12-02).
MIN_REGION_TINT = 0.3
TIMEOUT_MS = 45_000  # per step; a loaded 2-core CI machine needs a few seconds for some
# Strokes as (x, y) fractions of the drawing area: a 7, then a 1 and a 0 side by side.
SEVEN = [[(0.30, 0.22), (0.72, 0.22), (0.45, 0.80)]]
ONE_ZERO = [[(0.28, 0.25), (0.28, 0.75)],
            [(0.62 + 0.14 * float(np.sin(a)), 0.50 - 0.25 * float(np.cos(a))) for a in np.linspace(0, 2 * np.pi, 13)]]


@pytest.fixture(scope="module")
def app_url(serve_app, tmp_path_factory) -> Iterator[str]:
    """`python app.py` on a free port, started, health-checked and stopped by the shared helper."""
    with serve_app(tmp_path_factory.mktemp("browser")) as app:
        yield app.url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: .ci/run installs it with apt-get (package chromium)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url, request):
    """A fresh page on the app; its screenshot is saved when the test ends, passed or failed."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}.png", full_page=True)
    context.close()


def open_digits(page) -> dict:
    """Select the Digits tab; the drawing area's box on the page (the canvas image, centred by the editor)."""
    page.get_by_role("tab", name="Digits").click()
    canvas = page.locator("#digit-pad canvas").first
    canvas.wait_for()
    page.wait_for_function("() => document.querySelector('#digit-pad')?.innerText.includes('%')")
    page.wait_for_timeout(500)  # the editor's zoom-to-fit animation
    return drawing_area(page)


def canvas_size(page) -> tuple[int, int]:
    """The sketch-pad's canvas_size, from the app's own /config."""
    config = page.evaluate("() => fetch('config').then(r => r.json())")
    props = next(c["props"] for c in config["components"] if c.get("props", {}).get("elem_id") == "digit-pad")
    return tuple(props["canvas_size"])


def drawing_area(page) -> dict:
    box = page.locator("#digit-pad canvas").first.bounding_box()
    scale = zoom(page)
    width, height = (side * scale for side in canvas_size(page))
    # the editor centres the image in its canvas element, above a 40 px toolbar band
    return {"x": box["x"] + (box["width"] - width) / 2, "y": box["y"] + (box["height"] - 40 - height) / 2,
            "width": width, "height": height}


def zoom(page) -> float:
    match = re.search(r"(\d+)%", page.locator("#digit-pad").inner_text())
    assert match, "the sketch-pad shows no zoom level"
    return int(match.group(1)) / 100


def draw(page, area: dict, strokes: list[list[tuple[float, float]]], steps: int = 1) -> None:
    """Mouse strokes (press, move through the points, release) at fractions of the drawing area; the editor
    draws straight between pointer positions, and each move costs a software-rendered frame (seconds on a
    loaded 2-core machine), so strokes use few points."""
    for points in strokes:
        xy = [(area["x"] + fx * area["width"], area["y"] + fy * area["height"]) for fx, fy in points]
        page.mouse.move(*xy[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(xy, xy[1:]):
            for k in range(1, steps + 1):
                page.mouse.move(x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)
        page.mouse.up()
    page.wait_for_timeout(300)


def ink_pixels(page, area: dict) -> int:
    """Dark pixels inside the drawing area, from a screenshot of it (what a person sees)."""
    shot = page.screenshot(clip=area)
    grey = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
    return int((grey < 100).sum())


def top_digit(page) -> str:
    """The most likely digit the label output shows (its text starts with the component's own label)."""
    lines = [line.strip() for line in page.locator("#digit-label").inner_text().splitlines()]
    return next((line for line in lines if len(line) == 1 and line.isdigit()), "")


def shown_number(page) -> str:
    """The "number" of the /number result in the JSON output, once it shows."""
    return page.wait_for_function(
        "() => (document.querySelector('#number-json')?.innerText.replace(/\\s+/g, ' ')"
        ".match(/\"number\"\\s*:\\s*\"(\\d*)\"/) || [])[1]").json_value()


def label_clear_of_image(page, component: str) -> bool:
    """The image output's own label (which floats over the top of the component) ends above its image."""
    return page.evaluate("""(id) => {
        const block = document.querySelector(id), img = block.querySelector('img');
        const label = block.querySelector('[data-testid=block-label]').getBoundingClientRect();
        return label.bottom <= img.getBoundingClientRect().top + parseFloat(getComputedStyle(img).paddingTop);
    }""", component)


def test_ocr_tab_reads_an_uploaded_sample(page, expected_samples):
    sample = next(s for s in expected_samples["ocr"] if s["file"].endswith(".jpg"))
    page.locator("input[type=file]").first.set_input_files(str(REPO / "samples" / sample["file"]))
    page.get_by_role("button", name="Read text").click()
    first_line = sample["text"].splitlines()[0]
    text = page.wait_for_function(
        "(line) => [...document.querySelectorAll('textarea')].map(t => t.value)"
        ".find(v => v.toLowerCase().includes(line))", arg=first_line.lower(), timeout=180_000).json_value()
    assert "TOTAL" in text.upper() and len(text.splitlines()) >= 10
    overlay = page.locator("#ocr-overlay img")
    overlay.wait_for()
    shown = np.asarray(Image.open(io.BytesIO(overlay.screenshot())).convert("RGB")).astype(int)
    coloured = float(((shown.max(axis=2) - shown.min(axis=2)) > 25).mean())
    assert coloured > MIN_REGION_TINT, f"only {coloured:.0%} of the overlay is coloured: regions not filled"
    assert label_clear_of_image(page, "#ocr-overlay"), "the overlay's label hides the top of the page"
    legend = page.locator("#region-legend").inner_text()
    assert all(kind in legend for kind in REGION_COLOURS)
    notes = page.locator("#page-notes")
    notes.get_by_text("Page 1").wait_for()
    assert re.search(r"Page 1: \d+ lines \(", notes.inner_text()), notes.inner_text()


def test_canvas_opens_at_full_size_with_the_brush_active(page):
    area = open_digits(page)
    assert zoom(page) == 1.0, "the canvas should show at 100 %"
    column = page.locator("#digit-pad").bounding_box()
    assert column["x"] <= area["x"] and area["x"] + area["width"] <= column["x"] + column["width"]
    brush = page.locator("#digit-pad button[aria-label=Brush]")
    assert "highlight" in (brush.get_attribute("class") or ""), "the brush is not the active tool"


def test_a_mouse_stroke_draws_at_once(page):
    area = open_digits(page)
    before = ink_pixels(page, area)
    draw(page, area, [[(0.2, 0.5), (0.8, 0.5)]])  # no tool clicked first
    assert page.evaluate("() => window.getSelection().toString()") == "", "the stroke selected page text"
    drawn = ink_pixels(page, area) - before
    assert drawn > 0.3 * 0.6 * area["width"] * 20, f"the stroke left {drawn} dark pixels: it did not draw"


def test_a_drawn_seven_reads_7(page):
    area = open_digits(page)
    draw(page, area, SEVEN)
    page.get_by_role("button", name="Recognise digit").click()
    page.wait_for_function("() => /\\d+%/.test(document.querySelector('#digit-label')?.innerText || '')")
    assert top_digit(page) == "7", page.locator("#digit-label").inner_text()


def test_a_drawn_one_and_zero_read_10(page):
    area = open_digits(page)
    draw(page, area, ONE_ZERO)
    page.get_by_role("button", name="Read number").click()
    assert shown_number(page) == "10"
    page.locator("#number-overlay img").wait_for()
    assert label_clear_of_image(page, "#number-overlay"), "the overlay's label hides the first digits' labels"


def test_clear_resets_the_canvas_and_the_outputs_and_the_brush_stays(page):
    area = open_digits(page)
    empty = ink_pixels(page, area)
    draw(page, area, SEVEN)
    page.get_by_role("button", name="Recognise digit").click()
    page.wait_for_function("() => /\\d+%/.test(document.querySelector('#digit-label')?.innerText || '')")
    page.get_by_role("button", name="Read number").click()
    page.locator("#number-overlay img").wait_for()
    shown_number(page)

    page.get_by_role("button", name="Clear", exact=True).click()
    page.wait_for_function("() => !/\\d+%/.test(document.querySelector('#digit-label')?.innerText || '')")
    page.wait_for_timeout(500)
    assert page.locator("#number-overlay img").count() == 0
    assert '"number"' not in page.locator("#number-json").inner_text()
    area = drawing_area(page)
    assert ink_pixels(page, area) <= empty + 50, "Clear left the drawing on the canvas"
    draw(page, area, SEVEN)  # the brush is active again without a click
    page.get_by_role("button", name="Recognise digit").click()
    page.wait_for_function("() => /\\d+%/.test(document.querySelector('#digit-label')?.innerText || '')")
    assert top_digit(page) == "7"
