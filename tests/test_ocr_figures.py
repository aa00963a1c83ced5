"""Figures (ocr.figures): photos, drawings and logos of real pages found from their ground-truth line
boxes and through the engine, nothing on tables, receipts or synthetic pages, and their place among
the regions."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ocr.export.markdown import page_markdown
from ocr.figures import find_figures
from ocr.layout import Fragment, analyze
from ocr.regions import find_regions

# Every figure of the dev pages, top to bottom, (x0, y0, x1, y1) in pixels, measured on the page images: the
# handbook's two framed drawings, the paper's two photos, the school district's logo, the two
# author photos, the town's logo (its lettering is no text of the PDF, so its ground truth has no box
# there). Every other dev page has none.
DEV_FIGURES = {
    "amt-handbook-p1": [(720, 895, 1116, 1426), (172, 1124, 616, 1388)],
    "creativity-ml-p2": [(656, 120, 1140, 484), (656, 552, 1140, 916)],
    "cupertino-agenda-p1": [(180, 124, 344, 292)],
    "redp5110-p4": [(300, 784, 528, 1052), (308, 1100, 528, 1328)],
    "sainte-adele-pv-p1": [(540, 92, 740, 230)],
}


def _overlap(a, b) -> float:
    """Intersection over the smaller of two boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return max(0.0, w) * max(0.0, h) / smaller


def _laid_out(entry: dict, folder, fragments):
    rgb = np.asarray(Image.open(folder / entry["image"]).convert("RGB"))
    layout = analyze(fragments, rgb.shape[1], rgb.shape[0])
    return rgb, layout


def test_dev_pages_figures_from_their_boxes(pages_dev_manifest, pages_dev_dir, page_fragments):
    for page_id, entry in pages_dev_manifest.items():
        rgb, layout = _laid_out(entry, pages_dev_dir, page_fragments(entry))
        found = [figure.box for figure in find_figures(rgb, layout.lines)]
        expected = DEV_FIGURES.get(page_id, [])
        assert len(found) == len(expected), (page_id, found)
        assert all(_overlap(f, e) >= 0.8 for f, e in zip(found, expected)), (page_id, found)


def test_no_figure_on_receipts(ocr_dev_manifest, ocr_dev_dir, page_fragments):
    for receipt_id, entry in ocr_dev_manifest.items():
        rgb, layout = _laid_out(entry, ocr_dev_dir, page_fragments(entry))
        assert find_figures(rgb, layout.lines) == [], receipt_id


def test_no_figure_on_synthetic_pages(pages):
    for name, page in pages.items():
        width, height = page.image.size
        layout = analyze([Fragment(box.text, 0.9, box.box) for box in page.segments], width, height)
        assert find_figures(np.asarray(page.image.convert("RGB")), layout.lines) == [], name


def test_drawing_takes_its_labels_out_of_the_text(pages_dev_manifest, pages_dev_dir, page_fragments):
    entry = pages_dev_manifest["amt-handbook-p1"]
    rgb, layout = _laid_out(entry, pages_dev_dir, page_fragments(entry))
    regions = find_regions(layout.lines, layout.blocks, rgb.shape[0], find_figures(rgb, layout.lines))
    kinds = [r.kind for r in regions]
    labels = {layout.lines[i].text for r in regions if r.kind == "figure" for i in r.lines}
    assert {"Nut case", "Keyway", "Tightened nut", "Locking shoulder"} <= labels
    assert not labels & {layout.lines[i].text for r in regions if r.kind != "figure" for i in r.lines}
    assert kinds[-1] == "footer" and kinds.count("figure") == 2
    # Figure 7-27 (right column) comes just before its caption
    assert kinds[kinds.index("caption", kinds.index("caption") + 1) - 1] == "figure"


def test_photos_end_to_end(pages_dev_manifest, pages_dev_dir, recognise):
    """Through the engine: the paper's two photos are figures, each just before its caption, in the
    JSON, and Markdown leaves them out (no text on them)."""
    page = recognise("creativity-ml-p2", pages_dev_dir / pages_dev_manifest["creativity-ml-p2"]["image"]).pages[0]
    kinds = [r.kind for r in page.regions]
    photos = [k for k, kind in enumerate(kinds) if kind == "figure"]
    assert len(photos) == 2
    assert [kinds[k + 1] for k in photos] == ["caption", "caption"]
    captions = [" ".join(page.lines[i].text for i in page.regions[k + 1].lines) for k in photos]
    assert captions[0].startswith("Fig. 2") and captions[1].startswith("Fig. 3")
    assert [r["kind"] for r in page.to_json()["regions"]].count("figure") == 2
    assert len(page_markdown(page).split("\n\n")) == len(page.regions) - 2


def test_dark_scan_edge_is_no_figure(pages_dev_manifest, pages_dev_dir, page_fragments):
    entry = pages_dev_manifest["redp5110-p4"]
    rgb, layout = _laid_out(entry, pages_dev_dir, page_fragments(entry))
    scanned = rgb.copy()
    scanned[:, :150] = np.linspace(20, 120, 150, dtype=np.uint8)[None, :, None]  # the shadow of a scanner's lid
    found = [figure.box for figure in find_figures(scanned, layout.lines)]
    assert len(found) == 2 and all(_overlap(f, e) >= 0.8 for f, e in zip(found, DEV_FIGURES["redp5110-p4"])), found
