"""The one heat-map renderer: geometry, probability weighting, colour scale, wording."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from skindesk.core.classifier import Classifier
from skindesk.core.heatmap import (
    RAMP,
    class_map,
    heatmap_caption,
    legend_ramp,
    overlay_box,
    render_heatmap,
    render_prediction_heatmap,
)
from skindesk.core.imaging import load_image
from skindesk.core.prediction import Alert, default_heatmap_class
from skindesk.core.preprocess import Preprocessing


def _cam(height: int = 4, width: int = 4, classes: int = 9) -> np.ndarray:
    cam = np.zeros((height, width, classes), np.float32)
    cam[..., :] = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]  # hot on the right
    return cam


def _grey(size: tuple[int, int] = (80, 40)) -> Image.Image:
    return Image.new("RGB", size, (128, 128, 128))


def _change(a: Image.Image, b: Image.Image) -> np.ndarray:
    return np.abs(np.asarray(a, int) - np.asarray(b, int)).sum(axis=-1)


def test_a_less_probable_class_looks_less_hot() -> None:
    spec = Preprocessing(height=8, width=8)
    image = _grey()
    strong = render_heatmap(image, _cam(), 0, spec, probability=0.9)
    weak = render_heatmap(image, _cam(), 0, spec, probability=0.08)
    # the same place stands out (same opacity), but the weak class's hottest colour is blue
    assert (_change(strong, image) > 0).sum() == (_change(weak, image) > 0).sum()
    hot_strong = np.asarray(strong, int)[20, -1]
    hot_weak = np.asarray(weak, int)[20, -1]
    assert hot_strong[0] > hot_strong[2] and hot_weak[2] > hot_weak[0]  # red vs blue
    assert class_map(_cam(), 0, (8, 8)).max() == pytest.approx(1.0)


def test_center_crop_lays_the_map_over_the_model_square_only() -> None:
    spec = Preprocessing(height=8, width=8, fit="center_crop")
    image = _grey((120, 40))
    assert overlay_box(image.size, spec) == (40, 0, 80, 40)
    change = _change(render_heatmap(image, _cam(), 0, spec, probability=1.0), image)
    assert change[:, :40].max() == 0 and change[:, 80:].max() == 0
    assert change[:, 40:80].min() > 0
    # squash covers the whole picture, in the model's aspect or not
    assert overlay_box((120, 40), Preprocessing(height=8, width=8)) == (0, 0, 120, 40)


def test_opacity_zero_leaves_the_picture_and_a_flat_map_is_uniform() -> None:
    spec = Preprocessing(height=8, width=8)
    image = _grey()
    assert _change(render_heatmap(image, _cam(), 0, spec, opacity=0.0), image).max() == 0
    flat = np.ones((4, 4, 9), np.float32)
    picture = np.asarray(render_heatmap(image, flat, 0, spec, probability=1.0))
    assert (picture == picture[0, 0]).all()


def test_legend_runs_from_the_ramp_start_to_its_end() -> None:
    strip = legend_ramp(100, 6)
    assert strip.shape == (6, 100, 3)
    assert tuple(strip[0, 0]) == RAMP[0][1] and tuple(strip[0, -1]) == RAMP[-1][1]


def test_default_class_caption_and_a_model_without_maps(test_model_path, tmp_path) -> None:  # noqa: ANN001
    classifier = Classifier(test_model_path, provider="cpu")
    path = tmp_path / "lesion.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (60, 90, 3), np.uint8)).save(path)
    image = load_image(path)
    plain = classifier.predict_image(image)
    alert = Alert("melanoma", "Melanoma", 0.2, 0.12, 0.9, 0.91, 0.7)
    alerted = dataclasses.replace(plain, alerts=(alert,))
    spec = classifier.card.preprocessing
    for prediction in (plain, alerted):
        default = np.asarray(render_prediction_heatmap(image, prediction, spec))
        named = render_prediction_heatmap(image, prediction, spec, default_heatmap_class(prediction))
        assert (default == np.asarray(named)).all()
    assert heatmap_caption(alerted) == "Heat map: where the model looked for melanoma"
    assert heatmap_caption(plain, "nevus") == "Heat map: where the model looked for nevus"
    assert render_prediction_heatmap(image, dataclasses.replace(plain, cam=None), spec) is None
