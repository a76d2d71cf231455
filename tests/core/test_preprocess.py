"""The one preprocessing function: canonical scale, resize, fit, value range, channel order."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from skindesk.core.preprocess import Preprocessing, preprocess, preprocess_batch, to_canonical_scale


def solid(size, colour=(255, 0, 0)) -> Image.Image:
    return Image.new("RGB", size, colour)


def test_shape_dtype_and_default_range():
    spec = Preprocessing(height=32, width=48, canonical_area=None)
    out = preprocess(solid((100, 80), (255, 0, 0)), spec)
    assert out.shape == (32, 48, 3)
    assert out.dtype == np.float32
    assert out.flags["C_CONTIGUOUS"]
    assert np.allclose(out[..., 0], 1.0) and np.allclose(out[..., 1:], -1.0)


@pytest.mark.parametrize("value_range, expected_low, expected_high", [
    ((0.0, 1.0), 0.0, 1.0), ((-1.0, 1.0), -1.0, 1.0), ((0.0, 255.0), 0.0, 255.0)])
def test_value_range(value_range, expected_low, expected_high):
    spec = Preprocessing(height=8, width=8, value_range=value_range, canonical_area=None)
    image = Image.new("RGB", (8, 8))
    image.putpixel((0, 0), (0, 255, 51))
    out = preprocess(image, spec)
    assert out[0, 0, 0] == pytest.approx(expected_low)
    assert out[0, 0, 1] == pytest.approx(expected_high)
    assert out[0, 0, 2] == pytest.approx(expected_low + 0.2 * (expected_high - expected_low), abs=1e-5)


def test_bgr_reverses_channels():
    rgb = Preprocessing(height=8, width=8, canonical_area=None, value_range=(0.0, 1.0))
    bgr = Preprocessing(height=8, width=8, canonical_area=None, value_range=(0.0, 1.0),
                        channel_order="BGR")
    image = solid((8, 8), (255, 128, 0))
    assert np.allclose(preprocess(image, bgr), preprocess(image, rgb)[..., ::-1])
    assert preprocess(image, bgr)[0, 0, 0] == pytest.approx(0.0)


def test_non_rgb_input_is_converted():
    spec = Preprocessing(height=8, width=8, canonical_area=None, value_range=(0.0, 1.0))
    out = preprocess(Image.new("L", (8, 8), 255), spec)
    assert out.shape == (8, 8, 3) and np.allclose(out, 1.0)


def test_canonical_scale_shrinks_large_images_keeping_aspect_and_never_enlarges():
    big = solid((4000, 3000))
    small = to_canonical_scale(big, 200 * 150)
    assert small.size == (200, 150)
    tall = to_canonical_scale(solid((1000, 2000)), 200 * 150)
    assert abs(tall.size[1] / tall.size[0] - 2.0) < 0.02
    assert abs(tall.size[0] * tall.size[1] - 30000) < 400
    tiny = solid((100, 50))
    assert to_canonical_scale(tiny, 200 * 150) is tiny
    assert to_canonical_scale(big, None) is big


def test_canonical_scale_makes_a_sharp_photo_look_like_its_downscaled_copy():
    # A fine checkerboard at 4000x3000 and the same scene at 200x150 must give close tensors.
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 256, (15, 20, 3), dtype=np.uint8)
    scene = Image.fromarray(coarse).resize((4000, 3000), Image.Resampling.NEAREST)
    pool_copy = scene.resize((200, 150), Image.Resampling.LANCZOS)
    spec = Preprocessing(height=64, width=64, value_range=(0.0, 1.0))
    difference = np.abs(preprocess(scene, spec) - preprocess(pool_copy, spec)).mean()
    assert difference < 0.02
    no_canonical = Preprocessing(height=64, width=64, value_range=(0.0, 1.0), canonical_area=None)
    assert np.allclose(preprocess(pool_copy, spec), preprocess(pool_copy, no_canonical))


def test_center_crop_keeps_the_middle():
    array = np.zeros((10, 30, 3), np.uint8)
    array[:, :10] = (255, 0, 0)
    array[:, 10:20] = (0, 255, 0)
    array[:, 20:] = (0, 0, 255)
    image = Image.fromarray(array)
    spec = Preprocessing(height=10, width=10, fit="center_crop", resize="nearest",
                         canonical_area=None, value_range=(0.0, 1.0))
    out = preprocess(image, spec)
    assert np.allclose(out[..., 1], 1.0) and np.allclose(out[..., 0], 0.0)
    squash = Preprocessing(height=10, width=10, fit="squash", resize="nearest",
                           canonical_area=None, value_range=(0.0, 1.0))
    assert out.tolist() != preprocess(image, squash).tolist()


@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic", "lanczos", "area"])
def test_resize_methods_differ_and_are_used(method):
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8))
    spec = Preprocessing(height=16, width=16, resize=method, canonical_area=None,
                         value_range=(0.0, 255.0))
    expected = np.asarray(image.resize((16, 16), {
        "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS,
        "area": Image.Resampling.BOX}[method]), np.float32)
    assert np.allclose(preprocess(image, spec), expected, atol=1e-3)


def test_batch_stacks_and_handles_empty():
    spec = Preprocessing(height=8, width=8)
    batch = preprocess_batch([solid((9, 9)), solid((20, 10), (0, 0, 255))], spec)
    assert batch.shape == (2, 8, 8, 3)
    assert np.allclose(batch[1], preprocess(solid((20, 10), (0, 0, 255)), spec))
    assert preprocess_batch([], spec).shape == (0, 8, 8, 3)


@pytest.mark.parametrize("kwargs, message", [
    ({"height": 4}, "too small"),
    ({"resize": "cubic-spline"}, "unknown resize method"),
    ({"fit": "pad"}, "unknown fit"),
    ({"channel_order": "RGBA"}, "unknown channel order"),
    ({"value_range": (1.0, 0.0)}, "low < high"),
    ({"canonical_area": 10}, "canonical_area"),
])
def test_invalid_specs_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Preprocessing(**kwargs)


def test_dict_round_trip_and_unknown_keys():
    spec = Preprocessing(height=96, width=128, resize="area", value_range=(0.0, 1.0))
    data = spec.to_dict()
    assert data["value_range"] == [0.0, 1.0]
    assert Preprocessing.from_dict(data) == spec
    with pytest.raises(ValueError, match="unknown preprocessing keys"):
        Preprocessing.from_dict({**data, "mean": [0.5, 0.5, 0.5]})


def test_out_receives_exactly_the_same_tensor():
    spec = Preprocessing(height=16, width=24, canonical_area=None)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8))
    batch = np.full((2, 16, 24, 3), 7.0, dtype=np.float32)
    returned = preprocess(image, spec, out=batch[1])
    assert np.shares_memory(returned, batch)
    expected = np.asarray(image.resize((24, 16), Image.Resampling.BILINEAR), np.float32)
    expected = expected * np.float32(2 / 255) + np.float32(-1)
    assert np.array_equal(batch[1], expected)  # bit for bit: training and app tensors agree
    assert np.all(batch[0] == 7.0)
    with pytest.raises(ValueError, match="out must be float32"):
        preprocess(image, spec, out=np.zeros((16, 24, 3), np.float64))
    with pytest.raises(ValueError, match="out must be float32"):
        preprocess(image, spec, out=np.zeros((24, 16, 3), np.float32))
