"""Image loading: any common format a dermatoscope or camera writes, as an RGB ``PIL.Image``.

Conversions (documented because they change pixels):
- EXIF orientation is applied first, so the image is upright as the camera showed it.
- Alpha (RGBA, LA, PA, transparent palette) is composited onto white.
- Grayscale (L, I;16, I, F) becomes RGB by repeating the channel; 16-bit and float data are
  scaled to 0-255 from their full range of the type (16-bit: divided by 257).
- CMYK (and YCbCr, LAB, HSV) go through Pillow's conversion to RGB.
Images over ``MAX_PIXELS`` are refused from their header, before any pixel is decoded.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageLoadError

__all__ = ["MAX_PIXELS", "IMAGE_EXTENSIONS", "DISPLAY_SIDE", "load_image", "load_display_image",
           "display_size_copy",
           "looks_like_image"]

MAX_PIXELS = 100_000_000
DISPLAY_SIDE = 2400  # the longest side of the picture shown on screen and in reports
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib", ".webp"}
)
# Pillow opens multi-picture JPEG (MPO) through its JPEG plugin; naming "MPO" here would make
# Image.open raise KeyError on every file that is not a JPEG (it registers no opener of its own).
_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "DIB", "WEBP")
# Magic numbers of the formats above, for finding images by content.
_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
    b"BM",  # BMP
)

Image.MAX_IMAGE_PIXELS = None  # the check below replaces Pillow's warning-based one


def looks_like_image(path: str | Path) -> bool:
    """True when the file's first bytes are those of a supported image format."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return False
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(sig) for sig in _SIGNATURES)


def load_image(path: str | Path, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Read ``path`` as an upright RGB image.

    Args:
        path: the image file.
        draft_size: for JPEG, let the decoder scale down by a power of two while the result
            stays at least this (width, height); decoding a 6000-pixel photo for a 224-pixel
            model then costs a fraction. ``None`` decodes at full size.

    Raises:
        ImageLoadError: naming the file and the problem (missing, folder, unreadable, empty,
            not an image, truncated or corrupt, too many pixels).
    """
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(path, "file not found")
    if path.is_dir():
        raise ImageLoadError(path, "is a folder, not an image file")
    if not os.access(path, os.R_OK):
        raise ImageLoadError(path, "permission denied: the file cannot be read")
    try:
        size = path.stat().st_size
    except OSError as error:
        raise ImageLoadError(path, f"cannot be read ({error.strerror})") from error
    if size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path, formats=_FORMATS) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageLoadError(
                        path,
                        f"image too large: {width}x{height} = {width * height / 1e6:.0f} "
                        f"megapixels (limit {MAX_PIXELS / 1e6:.0f}); refused before decoding",
                    )
                if draft_size is not None and image.format == "JPEG":
                    image.draft("RGB", draft_size)
                image.load()
                result = to_rgb(ImageOps.exif_transpose(image))
                result.info["original_size"] = (width, height)  # before any draft scaling
                return result
    except ImageLoadError:
        raise
    except UnidentifiedImageError as error:
        raise ImageLoadError(
            path, "not an image SkinDesk can read (supported: JPEG, PNG, TIFF, BMP, WebP)"
        ) from error
    except PermissionError as error:
        raise ImageLoadError(path, "permission denied: the file cannot be read") from error
    except Image.DecompressionBombError as error:  # pragma: no cover - guarded above
        raise ImageLoadError(path, f"image too large ({error})") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageLoadError(path, f"truncated or corrupt image data ({error})") from error
    except MemoryError as error:
        raise ImageLoadError(path, "not enough memory to decode this image") from error
    except Exception as error:  # noqa: BLE001 - Pillow plugins raise KeyError, struct.error, ...
        raise ImageLoadError(
            path, f"corrupt image data ({type(error).__name__}: {error})"
        ) from error


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB as the module docstring describes."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        array = np.asarray(image, dtype=np.uint16)
        return Image.fromarray((array // 257).astype(np.uint8), "L").convert("RGB")
    if mode in ("I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if mode == "I" and array.max(initial=0) > 255 else 255.0
        if mode == "F":
            top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        scaled = np.clip(array / top * 255.0, 0, 255).round().astype(np.uint8)
        return Image.fromarray(scaled, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def display_size_copy(image: Image.Image, side: int = DISPLAY_SIDE) -> Image.Image:
    """``image`` itself, or a copy shrunk (bilinear) so that its longest side is ``side``."""
    if max(image.size) <= side:
        return image
    shown = image.copy()
    shown.thumbnail((side, side), Image.Resampling.BILINEAR)
    return shown


def load_display_image(path: str | Path, side: int = DISPLAY_SIDE) -> Image.Image:
    """The picture of ``path`` that the app shows and the report prints (longest side at most
    ``side``); the heat map is drawn over these pixels in both (raises like ``load_image``)."""
    return display_size_copy(load_image(path, draft_size=(side, side)), side)
