"""The drawing in a sketch-pad value: {"background", "layers", "composite"}, each an image or None.

Browsers send all three; API clients often send only one (a bare file arrives as `composite`, or as
`background` with no layers). Every part is decoded by load_image (allowed raster formats, pixel limit).
"""
from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

from digits.errors import InputError
from digits.preprocess import ImageSource, load_image

MAX_LAYERS = 16  # more layers than a person draws on one canvas: refused, not composited


def flatten(background: ImageSource, layers: Sequence[ImageSource] = (), composite: ImageSource = None
            ) -> Image.Image | None:
    """The composite when there is one, else the layers over the background (resized to it); None when the
    value holds no image at all."""
    if composite is not None:
        return load_image(composite)
    if len(layers) > MAX_LAYERS:
        raise InputError(f"The drawing has {len(layers)} layers; at most {MAX_LAYERS} are read. "
                         "Send the flattened image as `composite` instead.")
    canvas: Image.Image | None = None
    for part in (background, *layers):
        if part is None:
            continue
        image = load_image(part).convert("RGBA")
        if canvas is None:
            canvas = Image.new("RGBA", image.size, (0, 0, 0, 0))
        canvas.alpha_composite(image if image.size == canvas.size else image.resize(canvas.size))
    return canvas
