"""Heat-map overlay for reports made without the app (the CLI): the model's class activation map
for one class, min-max scaled, coloured like the app's (dark blue → yellow → red) and blended over the image (no Qt).

The map is laid over the region the model saw: the whole image for ``fit: squash``, the central
square for ``fit: center_crop`` (the picture is cropped to that square).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from skindesk.core.prediction import Prediction, default_heatmap_class

__all__ = ["heatmap_caption", "heatmap_overlay"]


def heatmap_caption(prediction: Prediction, class_name: str | None = None) -> str:
    """'Heat map: where the model found melanoma' for ``class_name`` (default: the class
    ``default_heatmap_class`` picks); plain 'Heat map' for a name the model does not know."""
    name = class_name or default_heatmap_class(prediction)
    try:
        info = prediction.classes[prediction.class_index(name)]
    except ValueError:
        return "Heat map"
    return f"Heat map: where the model found {info.display_name.lower()}"


# The app's ramp (skindesk.gui.heatmap): dark blue (little) through yellow to red (most).
_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_COLOURS = np.array(
    [[20, 30, 140], [0, 150, 220], [90, 200, 90], [250, 210, 0], [220, 20, 20]], dtype=np.float64
)


def _colour_map(values: np.ndarray, opacity: float) -> np.ndarray:
    """values 0-1 (h, w) → RGBA uint8 (h, w, 4); low values more transparent, as in the app."""
    v = np.clip(values, 0.0, 1.0)
    rgb = np.stack([np.interp(v, _STOPS, _COLOURS[:, c]) for c in range(3)], axis=-1)
    alpha = 255.0 * (0.25 + 0.75 * v) * opacity
    return np.dstack([rgb, alpha]).round().astype(np.uint8)


def heatmap_overlay(
    image: Image.Image,
    prediction: Prediction,
    class_index: int | None = None,
    *,
    fit: str = "squash",
    opacity: float = 0.6,
) -> Image.Image | None:
    """The image with the class activation map of ``class_index`` blended over it (default: the
    class ``default_heatmap_class`` picks, as in the app).

    Returns None when the model gives no class activation maps.
    """
    cam = prediction.cam
    if cam is None:
        return None
    cam = np.asarray(cam, dtype=np.float64)
    if cam.ndim != 3:
        return None
    if class_index is None:
        class_index = prediction.class_index(default_heatmap_class(prediction))
    layer = cam[:, :, class_index]
    low, high = float(layer.min()), float(layer.max())
    scaled = (layer - low) / (high - low) if high > low else np.zeros_like(layer)
    picture = image.convert("RGB")
    if fit == "center_crop":
        side = min(picture.size)
        left = (picture.width - side) // 2
        top = (picture.height - side) // 2
        picture = picture.crop((left, top, left + side, top + side))
    heat = Image.fromarray((scaled * 255).astype(np.uint8), "L").resize(
        picture.size, Image.Resampling.BILINEAR
    )
    coloured = Image.fromarray(_colour_map(np.asarray(heat, dtype=np.float64) / 255.0, opacity),
                               "RGBA")
    return Image.alpha_composite(picture.convert("RGBA"), coloured).convert("RGB")
