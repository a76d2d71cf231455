"""Quality checks: degraded images get their reason, real dermoscopy at any scale or JPEG does not."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from skindesk.core.quality import REASONS, QualityLimits, check, measure, quality_limits

DATA = Path(__file__).parents[1] / "data"
REAL = sorted((DATA / "dermoscopy").glob("*.jpg"))


@pytest.fixture(scope="module")
def limits() -> QualityLimits:
    return QualityLimits.from_dict(json.loads((DATA / "pool_quality_limits.json").read_text()))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def _large(path: Path, factor: float = 4.0) -> Image.Image:
    image = Image.open(path).convert("RGB")
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0, 6.0])
@pytest.mark.parametrize("quality", [30, 60, 95])
def test_real_dermoscopy_passes_at_any_scale_and_jpeg_quality(path: Path, factor: float, quality: int,
                                                               limits: QualityLimits) -> None:
    image = Image.open(path).convert("RGB")
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    image = _jpeg(image.resize(size, Image.Resampling.BICUBIC), quality)
    assert check(measure(image), limits) == []


DEGRADATIONS = {
    "too_dark": lambda im: ImageEnhance.Brightness(im).enhance(0.2),
    "overexposed": lambda im: ImageEnhance.Brightness(im).enhance(3.0),
    "blurred": lambda im: im.filter(ImageFilter.GaussianBlur(14)),
    "no_colour": lambda im: im.convert("L").convert("RGB"),
}


@pytest.mark.parametrize("reason", list(DEGRADATIONS))
@pytest.mark.parametrize("path", REAL, ids=[p.name for p in REAL])
def test_degraded_lesion_photo_gets_its_reason(reason: str, path: Path, limits: QualityLimits) -> None:
    issues = check(measure(DEGRADATIONS[reason](_large(path))), limits)
    assert [i.code for i in issues][:1] == [reason]
    assert issues[0].message == REASONS[reason]


def test_small_and_flat_images_are_named(limits: QualityLimits) -> None:
    tiny = Image.open(REAL[0]).convert("RGB").resize((40, 30))
    assert "too_small" in [i.code for i in check(measure(tiny), limits)]
    flat = Image.new("RGB", (600, 450), (180, 120, 100))
    assert [i.code for i in check(measure(flat), limits)] == ["low_contrast"]


def test_exposure_problems_hide_their_consequences(limits: QualityLimits) -> None:
    """A dark photo is 'too dark', not also 'blurred' and 'no colour'."""
    dark = ImageEnhance.Brightness(_large(REAL[1])).enhance(0.1)
    assert [i.code for i in check(measure(dark), limits)] == ["too_dark"]


def test_limits_come_from_the_pool_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    pool = [measure(Image.fromarray(rng.integers(60, 200, (150, 200, 3), dtype=np.uint8)))
            for _ in range(20)]
    limits = quality_limits(pool)
    assert QualityLimits.from_dict(limits.to_dict()) == limits
    assert limits.min_brightness < min(m.brightness for m in pool)
    assert all(check(m, limits) == [] for m in pool)
    with pytest.raises(ValueError, match="at least one"):
        quality_limits([])
    with pytest.raises(ValueError, match="lack"):
        QualityLimits.from_dict({"min_side": 1})
