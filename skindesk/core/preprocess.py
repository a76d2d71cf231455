"""The one place where an image becomes a model input tensor (training and app alike).

Two steps, both driven by the model card's ``preprocessing`` section:
1. Canonical scale: an image larger than ``canonical_area`` pixels is shrunk (aspect kept, with an
   anti-aliasing filter) to about that area, so a sharp 4000x3000 clinic photo looks like the
   200x150 training pool (see FACTS.md: without this, accuracy on outside images collapses).
   Smaller images are left alone.
2. Model input: resize to the card's ``width`` x ``height`` (``resize``: bilinear, bicubic,
   nearest, lanczos or area; ``fit``: squash or center_crop), scale 0-255 to ``value_range``,
   order channels as ``channel_order`` (RGB or BGR). Output: float32 array (height, width, 3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

__all__ = ["Preprocessing", "preprocess", "preprocess_batch", "to_canonical_scale"]

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
    "area": Image.Resampling.BOX,
}


@dataclass(frozen=True)
class Preprocessing:
    """How images become tensors for one model (stored in its model card)."""

    height: int = 224
    width: int = 224
    resize: str = "bilinear"
    fit: str = "squash"
    value_range: tuple[float, float] = (-1.0, 1.0)
    channel_order: str = "RGB"
    canonical_area: int | None = 200 * 150

    def __post_init__(self) -> None:
        if self.height < 8 or self.width < 8:
            raise ValueError(f"input size {self.width}x{self.height} is too small (minimum 8x8)")
        if self.resize not in _RESAMPLE:
            raise ValueError(f"unknown resize method {self.resize!r}; use one of {sorted(_RESAMPLE)}")
        if self.fit not in ("squash", "center_crop"):
            raise ValueError(f"unknown fit {self.fit!r}; use 'squash' or 'center_crop'")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"unknown channel order {self.channel_order!r}; use 'RGB' or 'BGR'")
        low, high = self.value_range
        if not low < high:
            raise ValueError(f"value_range {self.value_range} must be (low, high) with low < high")
        if self.canonical_area is not None and self.canonical_area < 64:
            raise ValueError(f"canonical_area {self.canonical_area} is too small")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Build from a model card's ``preprocessing`` mapping (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown preprocessing keys: {sorted(unknown)}")
        values = dict(data)
        if "value_range" in values:
            values["value_range"] = tuple(float(v) for v in values["value_range"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value_range"] = list(self.value_range)
        return data


def to_canonical_scale(image: Image.Image, canonical_area: int | None) -> Image.Image:
    """Shrink ``image`` to about ``canonical_area`` pixels, aspect kept; never enlarge.

    Idempotent: an image this function made (up to 1 % over the area through rounding) is left
    alone, so a canonical image goes through ``preprocess`` unchanged.
    """
    width, height = image.size
    if canonical_area is None or width * height <= canonical_area * 1.01:
        return image
    factor = math.sqrt(canonical_area / (width * height))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def preprocess(image: Image.Image, spec: Preprocessing, out: np.ndarray | None = None) -> np.ndarray:
    """Turn an RGB image into the model's input, shape (height, width, 3), float32.

    ``out``, a float32 array of that shape (e.g. one slot of a batch), receives the result
    instead of a new array, which saves the batch a copy.
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    image = to_canonical_scale(image, spec.canonical_area)
    if spec.fit == "center_crop":
        image = _center_crop_to_aspect(image, spec.width / spec.height)
    if image.size != (spec.width, spec.height):
        image = image.resize((spec.width, spec.height), _RESAMPLE[spec.resize])
    pixels = np.asarray(image)
    if spec.channel_order == "BGR":
        pixels = pixels[..., ::-1]
    if out is None:
        out = np.empty(pixels.shape, dtype=np.float32)
    elif out.shape != pixels.shape or out.dtype != np.float32:
        raise ValueError(f"out must be float32 of shape {pixels.shape}, not {out.dtype} {out.shape}")
    low, high = spec.value_range
    out[...] = pixels  # in place from here on: no temporaries the size of the image
    out *= np.float32((high - low) / 255.0)
    out += np.float32(low)
    return out


def preprocess_batch(images: Iterable[Image.Image], spec: Preprocessing) -> np.ndarray:
    """Stack ``preprocess`` of several images: shape (n, height, width, 3)."""
    arrays = [preprocess(image, spec) for image in images]
    if not arrays:
        return np.zeros((0, spec.height, spec.width, 3), dtype=np.float32)
    return np.stack(arrays)


def _center_crop_to_aspect(image: Image.Image, aspect: float) -> Image.Image:
    width, height = image.size
    if width / height > aspect:
        new_width = max(1, round(height * aspect))
        left = (width - new_width) // 2
        return image.crop((left, 0, left + new_width, height))
    new_height = max(1, round(width / aspect))
    top = (height - new_height) // 2
    return image.crop((0, top, width, top + new_height))
