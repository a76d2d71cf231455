"""Image files entering the store: their bytes, sha256, EXIF date, size and thumbnail.

The stored bytes are the original file's, unchanged; ``thumbnail`` is a small JPEG for lists
and reports. ``verify`` recomputes the sha256 of bytes read back, so a damaged image is
reported instead of being shown as if fine.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from PIL import Image, ImageOps

from ..core.errors import ImageLoadError, SkinDeskError
from ..core.imaging import load_image, to_rgb

__all__ = ["THUMBNAIL_SIZE", "IncomingImage", "ImageIntegrityError", "read_incoming", "exif_date",
           "make_thumbnail", "sha256_of", "verify", "read_incoming_bytes"]

THUMBNAIL_SIZE = 160
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_DATETIME = 0x0132


class ImageIntegrityError(SkinDeskError):
    """Stored image bytes no longer match their sha256."""


@dataclass(frozen=True)
class IncomingImage:
    """An image file read for the store."""

    path: Path
    data: bytes
    sha256: str
    width: int
    height: int
    format: str
    taken_on: date | None
    thumbnail: bytes


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, expected: str, where: str) -> bytes:
    """``data`` when its sha256 is ``expected``; else ``ImageIntegrityError`` naming ``where``."""
    actual = sha256_of(data)
    if actual != expected:
        raise ImageIntegrityError(
            f"{where}: image damaged in the store (sha256 {actual[:12]}… instead of "
            f"{expected[:12]}…); do not rely on it, restore it from a backup"
        )
    return data


def exif_date(image: Image.Image) -> date | None:
    """The date the picture was taken, from EXIF (DateTimeOriginal, Digitized, then DateTime)."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # noqa: BLE001 - damaged EXIF is no reason to refuse an image
        return None
    for value in (sub.get(_DATETIME_ORIGINAL), sub.get(_DATETIME_DIGITIZED), exif.get(_DATETIME)):
        if not isinstance(value, str):
            continue
        try:
            return datetime.strptime(value.strip()[:19], "%Y:%m:%d %H:%M:%S").date()
        except ValueError:
            continue
    return None


def make_thumbnail(image: Image.Image, size: int = THUMBNAIL_SIZE) -> bytes:
    """A JPEG no larger than ``size`` pixels on its long side."""
    small = image.copy() if max(image.size) > size else image
    small.thumbnail((size, size), reducing_gap=1.0)  # box-reduce first: fast, still smooth
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _incoming(path: Path, data: bytes, image: Image.Image) -> IncomingImage:
    with Image.open(io.BytesIO(data)) as raw:
        taken = exif_date(raw)
        kind = raw.format or "unknown"
    width, height = image.size
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), reducing_gap=1.0)  # ours: no copy needed
    return IncomingImage(path=path, data=data, sha256=sha256_of(data), width=width,
                         height=height, format=kind, taken_on=taken,
                         thumbnail=make_thumbnail(image))


def read_incoming(path: str | Path) -> IncomingImage:
    """Read an image file for the store (``ImageLoadError`` when it is not a readable image)."""
    path = Path(path)
    image = load_image(path)  # specific errors: missing, not an image, truncated, too large
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageLoadError(path, f"cannot be read ({error.strerror})") from error
    return _incoming(path, data, image)


def read_incoming_bytes(data: bytes, where: str) -> IncomingImage:
    """The same from bytes (an image inside an export file); errors name ``where``."""
    try:
        with Image.open(io.BytesIO(data)) as raw:
            raw.load()
            image = to_rgb(ImageOps.exif_transpose(raw))
    except Exception as error:  # noqa: BLE001 - Pillow raises many types for bad data
        raise ImageLoadError(where, f"not a readable image ({type(error).__name__})") from error
    return _incoming(Path(where.rsplit("/", 1)[-1]), data, image)
