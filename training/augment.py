"""Image-level augmentation for dermoscopy, applied before the shared preprocessing.

Dermoscopic lesions have no up or down, so all eight flips/quarter turns are fair. The rest
simulates what differs between clinics (FACTS.md): image scale and sharpness (a view may be
upscaled and sharpened like a large clinic photo, or softened), JPEG quality, exposure and
colour. ``rescaled_like_external`` is the fixed, deterministic version used for validation.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageEnhance, ImageFilter

__all__ = ["augment", "rescaled_like_external", "jpeg"]


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    """Re-encode as JPEG at ``quality`` (what a camera or an export does to an image)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")


def rescaled_like_external(image: Image.Image, factor: float = 3.0, quality: int = 90) -> Image.Image:
    """An image as a sharper, larger original would arrive: upscaled, sharpened, JPEG."""
    width, height = image.size
    large = image.resize((round(width * factor), round(height * factor)), Image.Resampling.BICUBIC)
    large = large.filter(ImageFilter.UnsharpMask(radius=2 * factor, percent=120, threshold=2))
    return jpeg(large, quality)


def augment(image: Image.Image, rng: random.Random) -> Image.Image:
    """One random training view of ``image`` (RGB in, RGB out, any size)."""
    # Orientation: any of the 8 dihedral transforms.
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    turns = rng.randrange(4)
    if turns:
        image = image.transpose(
            (Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_180, Image.Transpose.ROTATE_270)[turns - 1]
        )
    # Small zoom: crop 80-100 % of each side around a jittered centre.
    width, height = image.size
    scale = rng.uniform(0.8, 1.0)
    crop_w, crop_h = round(width * scale), round(height * scale)
    left = rng.randint(0, width - crop_w)
    top = rng.randint(0, height - crop_h)
    image = image.crop((left, top, left + crop_w, top + crop_h))
    # Scale and sharpness: as from a larger sharper original, or softer than the pool.
    roll = rng.random()
    if roll < 0.35:
        image = rescaled_like_external(image, factor=rng.uniform(1.5, 4.0), quality=rng.randint(75, 95))
    elif roll < 0.55:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.2)))
    elif roll < 0.7:
        small = image.resize((max(8, round(image.width * 0.6)), max(8, round(image.height * 0.6))),
                             Image.Resampling.BILINEAR)
        image = small.resize(image.size, Image.Resampling.BILINEAR)
    # Exposure and colour.
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    image = ImageEnhance.Color(image).enhance(rng.uniform(0.8, 1.2))
    if rng.random() < 0.5:
        image = _hue_shift(image, rng.uniform(-0.03, 0.03))
    if rng.random() < 0.5:
        image = jpeg(image, rng.randint(60, 95))
    return image


def _hue_shift(image: Image.Image, amount: float) -> Image.Image:
    hsv = image.convert("HSV")
    h, s, v = hsv.split()
    shift = round(amount * 255)
    h = h.point(lambda value: (value + shift) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")
