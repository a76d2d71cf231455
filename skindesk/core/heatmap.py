"""The one heat-map renderer (no Qt): where the model looked for a class, laid over the image.

The model's ``class_activation_maps`` output is (h, w, classes) over the model's input, which
covers the whole image (``fit: squash``) or its centred crop of the model's aspect
(``fit: center_crop``); ``overlay_box`` says which part of the image that is. One class's map is
scaled to 0-1 on its own range and resized in floating point to the box: that is *where* the
model looked, and sets the opacity (low values more transparent). The colour says *how much*: the
scaled map times the class's probability, on ``RAMP`` (dark blue for little through yellow to
red for most), so a class at 8 % never looks as hot as one at 90 %. The layer is blended over
the image at ``opacity``. The app shows these pixels and the PDF
report embeds them; ``legend_ramp`` and ``LEGEND_TEXT`` draw the colour scale beside it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .preprocess import Preprocessing
from .prediction import Prediction, default_heatmap_class

__all__ = [
    "DEFAULT_OPACITY",
    "LEGEND_TEXT",
    "RAMP",
    "overlay_box",
    "class_map",
    "colourise",
    "render_heatmap",
    "render_prediction_heatmap",
    "legend_ramp",
    "heatmap_caption",
]

DEFAULT_OPACITY = 0.5
# (position 0-1, RGB): dark blue (little) → light blue → green → yellow → red (most).
RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (20, 30, 140)),
    (0.25, (0, 150, 220)),
    (0.5, (90, 200, 90)),
    (0.75, (250, 210, 0)),
    (1.0, (220, 20, 20)),
)
LEGEND_TEXT = ("Colour: the class's probability where the model looked (brightest where it "
               "looked most)")
_STOPS = np.array([stop for stop, _ in RAMP])
_COLOURS = np.array([colour for _, colour in RAMP], dtype=np.float64)


def overlay_box(image_size: tuple[int, int], spec: Preprocessing) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the part of an image of ``image_size`` (w, h) the model saw."""
    width, height = image_size
    if spec.fit != "center_crop":
        return 0, 0, width, height
    aspect = spec.width / spec.height
    if width / height > aspect:
        inner = height * aspect
        left = round((width - inner) / 2)
        return left, 0, left + max(1, round(inner)), height
    inner = width / aspect
    top = round((height - inner) / 2)
    return 0, top, width, top + max(1, round(inner))


def class_map(cam: np.ndarray, class_index: int, size: tuple[int, int]) -> np.ndarray:
    """Class ``class_index``'s map scaled to 0-1 and resized (bilinear, in floating point) to
    ``size`` (w, h): a float32 (h, w) array in 0-1."""
    layer = np.asarray(cam, dtype=np.float32)[..., class_index]
    low, high = float(layer.min()), float(layer.max())
    if not np.isfinite(low) or not np.isfinite(high) or high - low < 1e-9:
        layer = np.zeros_like(layer)
    else:
        layer = (layer - low) / (high - low)
    resized = Image.fromarray(layer.astype(np.float32), "F").resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _ramp_table() -> np.ndarray:
    """The ramp at 256 steps (uint8 RGB), so colouring a large picture is one table lookup."""
    steps = np.linspace(0.0, 1.0, 256)
    return np.stack([np.interp(steps, _STOPS, _COLOURS[:, c]) for c in range(3)],
                    axis=-1).round().astype(np.uint8)


_RAMP_TABLE = _ramp_table()


def colourise(values: np.ndarray, opacity: float = 1.0, probability: float = 1.0) -> np.ndarray:
    """values 0-1 (h, w) → RGBA uint8 (h, w, 4): colour on ``RAMP`` at ``values * probability``,
    alpha rising with ``values`` (times ``opacity``); both in 256 steps."""
    v = np.clip(np.asarray(values, dtype=np.float32), 0.0, 1.0)
    weight = np.float32(np.clip(probability, 0.0, 1.0) * 255)
    level = np.arange(256, dtype=np.float64) / 255
    alphas = (255.0 * (0.25 + 0.75 * level) * float(np.clip(opacity, 0.0, 1.0))).round()
    out = np.empty((*v.shape, 4), dtype=np.uint8)
    out[..., :3] = np.take(_RAMP_TABLE, (v * weight + 0.5).astype(np.uint8), axis=0)
    out[..., 3] = np.take(alphas.astype(np.uint8), (v * np.float32(255) + 0.5).astype(np.uint8))
    return out


def render_heatmap(image: Image.Image, cam: np.ndarray, class_index: int, spec: Preprocessing,
                   *, probability: float = 1.0, opacity: float = DEFAULT_OPACITY) -> Image.Image:
    """``image`` (RGB) with class ``class_index``'s map blended over the part the model saw."""
    base = image.convert("RGBA")
    box = overlay_box(base.size, spec)
    size = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    coloured = colourise(class_map(cam, class_index, size), opacity, probability)
    layer.paste(Image.fromarray(coloured, "RGBA"), box[:2])
    return Image.alpha_composite(base, layer).convert("RGB")


def render_prediction_heatmap(image: Image.Image, prediction: Prediction, spec: Preprocessing,
                              class_name: str | None = None,
                              opacity: float = DEFAULT_OPACITY) -> Image.Image | None:
    """The heat map of ``class_name`` (default: ``default_heatmap_class``) for ``prediction``,
    or None when the model gives no class activation maps."""
    cam = prediction.cam
    if cam is None or np.ndim(cam) != 3:
        return None
    index = prediction.class_index(class_name or default_heatmap_class(prediction))
    return render_heatmap(image, cam, index, spec,
                          probability=float(prediction.probabilities[index]), opacity=opacity)


def legend_ramp(width: int, height: int) -> np.ndarray:
    """The colour scale as an RGB uint8 (height, width, 3) strip, 0 % at the left, 100 % right."""
    values = np.tile(np.linspace(0.0, 1.0, max(2, width)), (max(1, height), 1))
    return colourise(values)[..., :3].copy()


def heatmap_caption(prediction: Prediction, class_name: str | None = None) -> str:
    """'Heat map: where the model looked for melanoma' for ``class_name`` (default: the class
    ``default_heatmap_class`` picks); plain 'Heat map' for a name the model does not know."""
    name = class_name or default_heatmap_class(prediction)
    try:
        info = prediction.classes[prediction.class_index(name)]
    except ValueError:
        return "Heat map"
    return f"Heat map: where the model looked for {info.display_name.lower()}"
