"""Image-quality checks: is this image fit to assess? (No Qt, no TensorFlow.)

Each check measures one property of the image at the model's canonical scale (the scale the
classifier sees; ``preprocess.to_canonical_scale``) and compares it with a limit taken from the
training pool's own distribution, stored in the model card's ``quality`` section by the training
pipeline (``quality_limits``). A model without that section gets no quality checks.

Measures: mean brightness and the share of near-black / near-white pixels (too dark,
overexposed), sharpness (mean absolute Laplacian of the luminance: out of focus), contrast
(standard deviation of luminance: too little contrast or detail), colourfulness (mean chroma:
no colour), and the original size (too small).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from .preprocess import to_canonical_scale

__all__ = ["QualityMeasures", "QualityLimits", "QualityIssue", "measure", "check",
           "quality_limits", "REASONS"]

# One plain sentence per reason, as every output shows it.
REASONS: dict[str, str] = {
    "too_small": "The image is too small to assess",
    "too_dark": "The image is too dark to assess",
    "overexposed": "The image is overexposed",
    "blurred": "The image is out of focus or blurred",
    "low_contrast": "The image has too little contrast or detail",
    "no_colour": "The image has no colour (greyscale)",
}


@dataclass(frozen=True)
class QualityMeasures:
    """What ``measure`` finds in one image."""

    width: int
    height: int
    brightness: float  # mean luminance 0-255
    dark_fraction: float  # share of pixels with luminance < 20
    bright_fraction: float  # share of pixels with luminance > 245
    sharpness: float  # mean |Laplacian| of luminance at canonical scale
    contrast: float  # std of luminance
    colourfulness: float  # mean chroma (max - min channel) 0-255


@dataclass(frozen=True)
class QualityLimits:
    """Limits for ``check``; from the model card's ``quality`` section."""

    min_side: int
    min_brightness: float
    max_brightness: float
    max_dark_fraction: float
    max_bright_fraction: float
    min_sharpness: float
    min_contrast: float
    min_colourfulness: float
    canonical_area: int | None = 200 * 150

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityLimits:
        known = set(cls.__dataclass_fields__)
        missing = known - set(data) - {"canonical_area"}
        if missing:
            raise ValueError(f"quality limits lack {sorted(missing)}")
        return cls(**{k: data[k] for k in known if k in data})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class QualityIssue:
    """One reason an image is not fit to assess: a code and its sentence."""

    code: str

    @property
    def message(self) -> str:
        return REASONS[self.code]


def measure(image: Image.Image, canonical_area: int | None = 200 * 150,
            original_size: tuple[int, int] | None = None) -> QualityMeasures:
    """Measure ``image`` (any mode) at the canonical scale.

    ``original_size``: the file's own size when ``image`` is already at the canonical scale
    (so "too small" judges what the user gave, not the shrunk copy).
    """
    width, height = original_size or image.size
    if image.mode != "RGB":
        image = image.convert("RGB")
    small = to_canonical_scale(image, canonical_area)
    pixels = np.asarray(small)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    luma = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    # Per-channel max/min on uint8 planes: a reduction over the last axis of 3 is 30x slower.
    chroma = np.maximum(np.maximum(red, green), blue) - np.minimum(np.minimum(red, green), blue)
    if min(luma.shape) >= 3:
        lap = (luma[1:-1, :-2] + luma[1:-1, 2:] + luma[:-2, 1:-1] + luma[2:, 1:-1]
               - 4 * luma[1:-1, 1:-1])
        sharpness = float(np.abs(lap).mean())
    else:
        sharpness = 0.0
    return QualityMeasures(
        width=width, height=height,
        brightness=float(luma.mean()),
        dark_fraction=float((luma < 20).mean()),
        bright_fraction=float((luma > 245).mean()),
        sharpness=sharpness,
        contrast=float(luma.std()),
        colourfulness=float(chroma.mean()),
    )


def check(measures: QualityMeasures, limits: QualityLimits) -> list[QualityIssue]:
    """The reasons, in order of importance, why the image is not fit to assess (empty: fine)."""
    issues: list[str] = []
    if min(measures.width, measures.height) < limits.min_side:
        issues.append("too_small")
    if measures.brightness < limits.min_brightness or measures.dark_fraction > limits.max_dark_fraction:
        issues.append("too_dark")
    elif (measures.brightness > limits.max_brightness
          or measures.bright_fraction > limits.max_bright_fraction):
        issues.append("overexposed")
    if issues and issues[-1] in ("too_dark", "overexposed"):
        return [QualityIssue(code) for code in issues]  # the rest follows from the exposure
    if measures.colourfulness < limits.min_colourfulness:
        issues.append("no_colour")
    if measures.contrast < limits.min_contrast:
        issues.append("low_contrast")
    elif measures.sharpness < limits.min_sharpness:
        issues.append("blurred")
    return [QualityIssue(code) for code in issues]


def quality_limits(pool: Sequence[QualityMeasures], canonical_area: int | None = 200 * 150,
                   tail: float = 0.3) -> QualityLimits:
    """Limits from a training pool's measures: each just outside its ``tail`` percent tail.

    A limit sits at the pool's ``tail``-th percentile (or 100 - ``tail``) widened by a margin, so
    about ``tail`` percent of real training images or fewer fail any one check.
    """
    if not pool:
        raise ValueError("quality limits need at least one measured image")

    def low(name: str, margin: float) -> float:
        return float(np.percentile([getattr(m, name) for m in pool], tail)) * margin

    def high(name: str, margin: float, cap: float) -> float:
        return min(cap, float(np.percentile([getattr(m, name) for m in pool], 100 - tail)) * margin)

    return QualityLimits(
        min_side=min(64, int(np.percentile([min(m.width, m.height) for m in pool], tail) * 0.5)),
        min_brightness=low("brightness", 0.8),
        max_brightness=high("brightness", 1.05, 250.0),
        max_dark_fraction=min(0.95, max(0.05, high("dark_fraction", 1.2, 1.0))),
        max_bright_fraction=min(0.95, max(0.05, high("bright_fraction", 1.2, 1.0))),
        min_sharpness=low("sharpness", 0.8),
        min_contrast=low("contrast", 0.8),
        min_colourfulness=low("colourfulness", 0.8),
        canonical_area=canonical_area,
    )
