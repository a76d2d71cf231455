"""Image-level augmentation for dermoscopy, applied before the shared preprocessing.

Dermoscopic lesions have no up or down, so all eight flips/quarter turns are fair. The rest
simulates what differs between clinics (FACTS.md): image scale and sharpness (a view may be
upscaled and sharpened like a large clinic photo, or softened), JPEG quality, exposure and
colour. ``rescaled_like_external`` is the fixed, deterministic version used for validation.
"""

from __future__ import annotations

import io
import math
import random

from PIL import Image, ImageEnhance, ImageFilter

__all__ = ["augment", "acquisition_view", "rescaled_like_external", "jpeg"]


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


# -- acquisition augmentation for whole-network training (fresh every epoch) ----------------------
def acquisition_view(image: Image.Image, rng: random.Random) -> Image.Image:
    """One random view of a canonical-scale image as another clinic's device might deliver it.

    Geometry (any rotation, flips, shear, crop), illuminant and colour, vignette and dark corners,
    cutout; then the file as it would arrive: rescaled 0.5-2x with a random filter, blurred or
    sharpened, JPEG quality 30-95. The result goes through the app's own ``preprocess``.
    """
    import numpy as np

    if image.mode != "RGB":
        image = image.convert("RGB")
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    width, height = image.size
    if rng.random() < 0.7:  # any angle; the crop below trims most of the filled corners
        image = image.rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR,
                             fillcolor=_edge_colour(image))
    if rng.random() < 0.25:
        shear = rng.uniform(-0.15, 0.15)
        image = image.transform(image.size, Image.Transform.AFFINE,
                                (1, shear, -shear * height / 2, 0, 1, 0),
                                resample=Image.Resampling.BILINEAR, fillcolor=_edge_colour(image))
    area = rng.uniform(0.55, 1.0)
    aspect = math.exp(rng.uniform(-0.15, 0.15))
    crop_w = min(width, max(8, round(width * math.sqrt(area * aspect))))
    crop_h = min(height, max(8, round(height * math.sqrt(area / aspect))))
    left, top = rng.randint(0, width - crop_w), rng.randint(0, height - crop_h)
    image = image.crop((left, top, left + crop_w, top + crop_h))

    pixels = np.asarray(image, dtype=np.float32)
    gains = np.exp(np.array([rng.gauss(0, 0.06), rng.gauss(0, 0.04), rng.gauss(0, 0.06)],
                            dtype=np.float32))  # illuminant / colour temperature
    pixels *= gains * rng.uniform(0.75, 1.25)  # exposure
    mean = pixels.mean(axis=(0, 1), keepdims=True)
    pixels = (pixels - mean) * rng.uniform(0.75, 1.3) + mean  # contrast
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = (pixels - grey) * rng.uniform(0.7, 1.3) + grey  # saturation
    if rng.random() < 0.35:
        pixels *= _vignette(pixels.shape[1], pixels.shape[0], rng)
    if rng.random() < 0.2:
        h, w = pixels.shape[:2]
        cw, ch = round(w * rng.uniform(0.08, 0.25)), round(h * rng.uniform(0.08, 0.25))
        cx, cy = rng.randint(0, w - cw), rng.randint(0, h - ch)
        pixels[cy:cy + ch, cx:cx + cw] = pixels.mean(axis=(0, 1))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    if rng.random() < 0.15:
        image = _hue_shift(image, rng.uniform(-0.04, 0.04))

    # The file as it arrives: another size, optics and encoder.
    factor = math.exp(rng.uniform(math.log(0.5), math.log(2.0)))
    size = (max(16, round(image.width * factor)), max(12, round(image.height * factor)))
    image = image.resize(size, rng.choice((Image.Resampling.BILINEAR, Image.Resampling.BICUBIC,
                                           Image.Resampling.LANCZOS, Image.Resampling.NEAREST)))
    roll = rng.random()
    if roll < 0.2:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.5) * max(1.0, factor)))
    elif roll < 0.4:
        image = image.filter(ImageFilter.UnsharpMask(radius=rng.uniform(1, 3) * max(1.0, factor),
                                                     percent=rng.randint(50, 150), threshold=2))
    if rng.random() < 0.8:
        image = jpeg(image, rng.randint(30, 95))
    return image


def _edge_colour(image: Image.Image) -> tuple[int, ...]:
    """The mean colour of the image's border, to fill what a rotation uncovers."""
    import numpy as np

    pixels = np.asarray(image)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    return tuple(int(v) for v in border.mean(axis=0))


def _vignette(width: int, height: int, rng: random.Random):  # noqa: ANN202 - numpy array
    """A radial fall-off (lens vignette) or a dark circular field (dermatoscope corners)."""
    import numpy as np

    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2 + rng.uniform(-0.1, 0.1) * width, height / 2 + rng.uniform(-0.1, 0.1) * height
    r = np.sqrt(((x - cx) / (width / 2)) ** 2 + ((y - cy) / (height / 2)) ** 2) / math.sqrt(2)
    if rng.random() < 0.5:
        strength = rng.uniform(0.3, 0.8)
        mask = 1 - strength * np.clip(r, 0, 1) ** 2
    else:
        radius = rng.uniform(0.7, 1.0)
        mask = np.clip((radius - r) / 0.05, 0.03, 1.0)
    return mask[..., None].astype(np.float32)
