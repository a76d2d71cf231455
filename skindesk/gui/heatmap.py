"""Class activation maps as coloured, semi-transparent images laid over the lesion.

The model's ``class_activation_maps`` output is (h, w, classes) over the model's input, which
covers the whole image (``fit: squash``) or its centred crop (``fit: center_crop``);
``overlay_rect`` says which part of the displayed image it belongs on. Each map is scaled to
0-1 on its own range (the map shows where, not how much), smoothed up to a displayable size and
coloured from dark blue (little) through yellow to red (most), with low values more transparent.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from skindesk.core.preprocess import Preprocessing

from .workers import pil_to_qimage

__all__ = ["normalised_map", "heatmap_rgba", "heatmap_qimage", "overlay_rect", "blend_heatmap"]

_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
_COLOURS = np.array(
    [[20, 30, 140], [0, 150, 220], [90, 200, 90], [250, 210, 0], [220, 20, 20]], dtype=np.float64
)


def normalised_map(cam: np.ndarray, class_index: int, size: tuple[int, int]) -> np.ndarray:
    """Class ``class_index``'s map scaled to 0-1 and resized (bilinear) to ``size`` (w, h)."""
    layer = np.asarray(cam, dtype=np.float32)[..., class_index]
    low, high = float(layer.min()), float(layer.max())
    if not np.isfinite(low) or not np.isfinite(high) or high - low < 1e-9:
        layer = np.zeros_like(layer)
    else:
        layer = (layer - low) / (high - low)
    resized = Image.fromarray(layer.astype(np.float32), "F").resize(size, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def heatmap_rgba(cam: np.ndarray, class_index: int, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 4) uint8 coloured map; alpha rises with the activation."""
    values = normalised_map(cam, class_index, size).astype(np.float64)
    rgb = np.stack([np.interp(values, _STOPS, _COLOURS[:, c]) for c in range(3)], axis=-1)
    alpha = 255.0 * (0.25 + 0.75 * values)
    return np.dstack([rgb, alpha]).round().astype(np.uint8)


def heatmap_qimage(cam: np.ndarray, class_index: int, size: tuple[int, int]) -> QImage:
    return pil_to_qimage(Image.fromarray(heatmap_rgba(cam, class_index, size), "RGBA"))


def overlay_rect(image_size: tuple[int, int], spec: Preprocessing) -> QRectF:
    """Where the model's input lies on an image of ``image_size`` (w, h)."""
    width, height = image_size
    if spec.fit != "center_crop":
        return QRectF(0, 0, width, height)
    aspect = spec.width / spec.height
    if width / height > aspect:
        new_width = height * aspect
        return QRectF((width - new_width) / 2, 0, new_width, height)
    new_height = width / aspect
    return QRectF(0, (height - new_height) / 2, width, new_height)


def blend_heatmap(
    image: Image.Image, cam: np.ndarray, class_index: int, spec: Preprocessing, opacity: float
) -> Image.Image:
    """``image`` with the class's heat map laid over it at ``opacity`` (0-1), as RGB."""
    rect = overlay_rect(image.size, spec)
    box = (round(rect.x()), round(rect.y()), round(rect.x() + rect.width()), round(rect.y() + rect.height()))
    size = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
    rgba = heatmap_rgba(cam, class_index, size)
    rgba[..., 3] = (rgba[..., 3].astype(np.float64) * max(0.0, min(1.0, opacity))).round().astype(np.uint8)
    base = image.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    layer.paste(Image.fromarray(rgba, "RGBA"), box[:2])
    return Image.alpha_composite(base, layer).convert("RGB")
