"""Image loading: every supported format, the documented conversions, and specific errors."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from skindesk.core import imaging
from skindesk.core.errors import ImageLoadError, SkinDeskError
from skindesk.core.imaging import load_image, looks_like_image

RED, BLUE = (220, 20, 30), (20, 40, 210)


def two_colour(size=(40, 20)) -> Image.Image:
    """Left half red, right half blue."""
    array = np.zeros((size[1], size[0], 3), np.uint8)
    array[:, : size[0] // 2] = RED
    array[:, size[0] // 2 :] = BLUE
    return Image.fromarray(array)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def raw_png(width: int, height: int, depth: int, colour_type: int, rows: bytes | None) -> bytes:
    """A PNG written byte by byte (``rows``: filtered scanlines; None writes a tiny IDAT)."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    idat = zlib.compress(rows if rows is not None else b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def assert_close(pixel, expected, tolerance=0):
    assert np.all(np.abs(np.asarray(pixel, int) - np.asarray(expected, int)) <= tolerance), (
        pixel, expected)


# -- formats ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "ext, options, tolerance",
    [(".jpg", {"quality": 95}, 12), (".png", {}, 0), (".tif", {}, 0), (".bmp", {}, 0),
     (".webp", {"lossless": True}, 0), (".jpeg", {"quality": 95}, 12),
     (".tiff", {"compression": "tiff_lzw"}, 0)],
)
def test_each_format_loads_as_rgb_with_its_pixels(tmp_path, ext, options, tolerance):
    path = tmp_path / f"lesion{ext}"
    two_colour().save(path, **options)
    image = load_image(path)
    assert image.mode == "RGB"
    assert image.size == (40, 20)
    assert_close(image.getpixel((5, 10)), RED, tolerance)
    assert_close(image.getpixel((35, 10)), BLUE, tolerance)


def test_png_16_bit_rgb_keeps_the_high_byte(tmp_path):
    # 2x1 image: (65535, 0, 32896) and (257*10, 257*200, 257*100): 8-bit values 255,0,128 / 10,200,100
    samples = [(65535, 0, 32896), (2570, 51400, 25700)]
    row = b"\x00" + b"".join(struct.pack(">HHH", *s) for s in samples)
    path = tmp_path / "deep.png"
    path.write_bytes(raw_png(2, 1, 16, 2, row))
    image = load_image(path)
    assert image.mode == "RGB"
    assert_close(image.getpixel((0, 0)), (255, 0, 128), 1)
    assert_close(image.getpixel((1, 0)), (10, 200, 100), 1)


def test_png_16_bit_grayscale_is_scaled_from_the_full_range(tmp_path):
    values = [0, 257 * 100, 65535]
    row = b"\x00" + b"".join(struct.pack(">H", v) for v in values)
    path = tmp_path / "gray16.png"
    path.write_bytes(raw_png(3, 1, 16, 0, row))
    image = load_image(path)
    assert image.mode == "RGB"
    assert [image.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (100, 100, 100), (255,) * 3]


def test_palette_png_with_transparency_is_composited_on_white(tmp_path):
    image = Image.new("P", (4, 1))
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.putdata([0, 1, 0, 1])
    path = tmp_path / "palette.png"
    image.save(path, transparency=1)
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert loaded.getpixel((0, 0)) == (255, 0, 0)
    assert loaded.getpixel((1, 0)) == (255, 255, 255)


def test_palette_png_without_transparency_keeps_its_colours(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([10, 200, 30, 0, 0, 255] + [0] * 762)
    image.putdata([0, 1])
    path = tmp_path / "palette.png"
    image.save(path)
    loaded = load_image(path)
    assert [loaded.getpixel((x, 0)) for x in range(2)] == [(10, 200, 30), (0, 0, 255)]


def test_alpha_is_composited_onto_white(tmp_path):
    rgba = Image.new("RGBA", (3, 1))
    rgba.putdata([(200, 0, 0, 255), (0, 0, 0, 0), (0, 0, 0, 128)])
    path = tmp_path / "alpha.png"
    rgba.save(path)
    loaded = load_image(path)
    assert loaded.getpixel((0, 0)) == (200, 0, 0)
    assert loaded.getpixel((1, 0)) == (255, 255, 255)
    assert_close(loaded.getpixel((2, 0)), (127, 127, 127), 1)


def test_grayscale_with_alpha(tmp_path):
    la = Image.new("LA", (2, 1))
    la.putdata([(50, 255), (0, 0)])
    path = tmp_path / "la.png"
    la.save(path)
    loaded = load_image(path)
    assert [loaded.getpixel((x, 0)) for x in range(2)] == [(50, 50, 50), (255, 255, 255)]


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".bmp"])
def test_grayscale_becomes_three_equal_channels(tmp_path, ext):
    gray = Image.fromarray(np.tile(np.arange(0, 256, 16, dtype=np.uint8), (8, 1)), "L")
    path = tmp_path / f"gray{ext}"
    gray.save(path)
    loaded = np.asarray(load_image(path))
    assert loaded.shape == (8, 16, 3)
    assert np.array_equal(loaded[..., 0], loaded[..., 1])
    assert np.array_equal(loaded[..., 1], loaded[..., 2])
    assert abs(int(loaded[0, -1, 0]) - 240) <= 8


def test_one_bit_bmp(tmp_path):
    bilevel = Image.new("1", (8, 2), 0)
    bilevel.putpixel((0, 0), 1)
    path = tmp_path / "bilevel.bmp"
    bilevel.save(path)
    loaded = load_image(path)
    assert loaded.getpixel((0, 0)) == (255, 255, 255)
    assert loaded.getpixel((1, 0)) == (0, 0, 0)


@pytest.mark.parametrize("ext, tolerance", [(".tif", 0), (".jpg", 16)])
def test_cmyk_is_converted_to_rgb(tmp_path, ext, tolerance):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red ink
    path = tmp_path / f"cmyk{ext}"
    cmyk.save(path)
    assert Image.open(path).mode == "CMYK"
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert_close(loaded.getpixel((8, 8)), (255, 0, 0), tolerance)


def test_float_tiff_in_0_1_is_scaled_to_0_255(tmp_path):
    array = np.array([[0.0, 0.5, 1.0]], np.float32)
    path = tmp_path / "float.tif"
    Image.fromarray(array, "F").save(path)
    loaded = load_image(path)
    assert [loaded.getpixel((x, 0))[0] for x in range(3)] == [0, 128, 255]


@pytest.mark.parametrize("orientation, expected_size, top, bottom", [
    (6, (20, 40), RED, BLUE),  # rotate 90 degrees clockwise: the left half goes to the top
    (8, (20, 40), BLUE, RED),  # rotate 90 degrees counter-clockwise
    (1, (40, 20), None, None),
])
def test_exif_orientation_is_applied(tmp_path, orientation, expected_size, top, bottom):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "rotated.jpg"
    two_colour().save(path, exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == expected_size
    if top is not None:
        assert_close(loaded.getpixel((10, 5)), top, 16)
        assert_close(loaded.getpixel((10, 35)), bottom, 16)


def test_draft_decodes_a_large_jpeg_smaller_but_not_below_the_request(tmp_path):
    path = tmp_path / "large.jpg"
    two_colour((1600, 1200)).save(path, quality=90)
    full = load_image(path)
    drafted = load_image(path, draft_size=(400, 300))
    assert full.size == (1600, 1200)
    assert drafted.size[0] < 1600 and drafted.size[0] >= 400 and drafted.size[1] >= 300


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "patiënt Ünïcode 日本"
    folder.mkdir()
    path = folder / "läsion ß.jpg"
    two_colour().save(path)
    assert load_image(path).size == (40, 20)
    with pytest.raises(ImageLoadError, match="läsion ß2.jpg: file not found"):
        load_image(folder / "läsion ß2.jpg")


# -- refusals -----------------------------------------------------------------------------
def test_decompression_bomb_is_refused_from_the_header_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    path.write_bytes(raw_png(20_000, 20_000, 8, 2, rows=None))  # claims 400 megapixels
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self))
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert "too large" in caught.value.problem
    assert "20000x20000" in caught.value.problem
    assert "before decoding" in caught.value.problem
    assert caught.value.path == str(path)
    assert decoded == []


def test_pixel_limit_is_inclusive(tmp_path, monkeypatch):
    path = tmp_path / "image.png"
    two_colour((40, 20)).save(path)
    monkeypatch.setattr(imaging, "MAX_PIXELS", 800)
    assert load_image(path).size == (40, 20)
    monkeypatch.setattr(imaging, "MAX_PIXELS", 799)
    with pytest.raises(ImageLoadError, match="too large"):
        load_image(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageLoadError, match=r"empty\.jpg: empty file \(0 bytes\)"):
        load_image(path)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_truncated_file(tmp_path, ext):
    path = tmp_path / f"cut{ext}"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert "truncated or corrupt" in caught.value.problem or "corrupt" in caught.value.problem
    assert caught.value.path == str(path)


def test_text_file_named_jpg(tmp_path):
    # Regression: Pillow raised KeyError('MPO') for every unidentifiable file.
    path = tmp_path / "notes.jpg"
    path.write_text("patient notes, not a picture\n")
    with pytest.raises(ImageLoadError, match="not an image SkinDesk can read"):
        load_image(path)


@pytest.mark.parametrize("header", [b"\xff\xd8\xff\xe0" + b"\x00" * 40, b"\x89PNG\r\n\x1a\n" + b"\x01" * 40,
                                    b"II*\x00" + b"\xff" * 40, b"BM" + b"\x00" * 60])
def test_garbage_after_a_valid_signature_is_a_specific_error(tmp_path, header):
    path = tmp_path / "garbage.img"
    path.write_bytes(header)
    with pytest.raises(ImageLoadError) as caught:
        load_image(path)
    assert caught.value.path == str(path)
    assert caught.value.problem


def test_unsupported_format_is_named(tmp_path):
    path = tmp_path / "anim.gif"
    two_colour().save(path)
    with pytest.raises(ImageLoadError, match="supported: JPEG, PNG, TIFF, BMP, WebP"):
        load_image(path)


def test_directory(tmp_path):
    folder = tmp_path / "photos.jpg"
    folder.mkdir()
    with pytest.raises(ImageLoadError, match="is a folder, not an image file"):
        load_image(folder)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="missing.png: file not found"):
        load_image(tmp_path / "missing.png")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file_chmod(tmp_path):
    path = tmp_path / "secret.jpg"
    two_colour().save(path)
    path.chmod(0)
    try:
        with pytest.raises(ImageLoadError, match="permission denied"):
            load_image(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_reported_by_access_check(tmp_path, monkeypatch):
    path = tmp_path / "secret.jpg"
    two_colour().save(path)
    monkeypatch.setattr(imaging.os, "access", lambda *_args, **_kw: False)
    with pytest.raises(ImageLoadError, match="secret.jpg: permission denied"):
        load_image(path)


def test_unreadable_file_reported_when_open_is_denied(tmp_path, monkeypatch):
    path = tmp_path / "locked.jpg"
    two_colour().save(path)

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(imaging.Image, "open", deny)
    with pytest.raises(ImageLoadError, match="locked.jpg: permission denied"):
        load_image(path)


def test_errors_are_skindesk_errors_with_path_and_problem(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"")
    with pytest.raises(SkinDeskError) as caught:
        load_image(path)
    assert str(caught.value) == f"{path}: empty file (0 bytes)"


def test_looks_like_image(tmp_path):
    for ext in (".jpg", ".png", ".tif", ".bmp", ".webp"):
        two_colour().save(tmp_path / f"a{ext}")
        assert looks_like_image(tmp_path / f"a{ext}"), ext
    (tmp_path / "b.jpg").write_text("text")
    assert not looks_like_image(tmp_path / "b.jpg")
    assert not looks_like_image(tmp_path / "missing.jpg")
    assert ".jpg" in imaging.IMAGE_EXTENSIONS and ".webp" in imaging.IMAGE_EXTENSIONS


def test_returned_image_is_independent_of_the_file(tmp_path):
    path = tmp_path / "a.png"
    two_colour().save(path)
    image = load_image(path)
    Path(path).unlink()
    assert image.getpixel((0, 0)) == RED  # fully decoded, file closed
