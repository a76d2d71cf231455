"""The seed paper's model: exact architecture, faithful augmentation, a short real training run."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from skindesk.core.imaging import load_image
from skindesk.core.preprocess import Preprocessing, preprocess
from training.data import load_dataset
from training.seed import PREPROCESSING, affine_transforms, augment_batch, build_seed_model, load_arrays, train

NO_AUGMENT = {"rotation_degrees": 0.0, "width_shift": 0.0, "height_shift": 0.0, "shear_degrees": 0.0,
              "zoom": 0.0, "horizontal_flip": False}


def test_seed_model_has_the_papers_layers_and_parameter_counts() -> None:
    model = build_seed_model(9)
    counts = [layer.count_params() for layer in model.layers if layer.count_params()]
    assert counts == [896, 18_496, 73_856, 3_211_392, 1_161]
    assert model.count_params() == 3_305_801
    assert tuple(model.input_shape) == (None, 128, 128, 3)
    assert model.get_layer("dropout").rate == 0.5
    assert model.get_layer("probabilities").activation.__name__ == "softmax"
    assert build_seed_model(3).count_params() == 3_305_801 - 6 * 129


def test_augmentation_identity_and_shift_match_image_data_generator() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16, 3)).astype(np.float32)
    same = augment_batch(images, rng, NO_AUGMENT)
    np.testing.assert_allclose(same, images, atol=1e-6)
    # A pure width shift of +3 px: output column c samples input column c + 3 (nearest fill).
    params = dict(NO_AUGMENT, width_shift=3 / 16)

    class Fixed:  # an rng whose uniform() always returns the upper bound
        def uniform(self, low, high, n):  # noqa: ANN001, ANN201
            return np.full(n, high, dtype=float)

    transform = affine_transforms(1, 16, 16, Fixed(), params)
    assert transform[0, 2] == pytest.approx(3.0) and transform[0, 5] == pytest.approx(0.0)
    import tensorflow as tf

    shifted = tf.raw_ops.ImageProjectiveTransformV3(
        images=images[:1], transforms=transform, output_shape=[16, 16], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="NEAREST").numpy()[0]
    expected = np.concatenate([images[0][:, 3:], np.repeat(images[0][:, -1:], 3, axis=1)], axis=1)
    np.testing.assert_allclose(shifted, expected, atol=1e-6)
    flipped = augment_batch(images, np.random.default_rng(1), dict(NO_AUGMENT, horizontal_flip=True))
    for original, out in zip(images, flipped):
        assert np.allclose(out, original, atol=1e-6) or np.allclose(out, original[:, ::-1], atol=1e-6)
    varied = augment_batch(np.repeat(images[:1], 8, axis=0), np.random.default_rng(2))
    assert len({float(v.sum()) for v in varied}) == 8  # random transforms differ per image


def test_cached_arrays_are_the_apps_tensors(clean_tree: Path, tmp_path: Path) -> None:
    records = load_dataset(clean_tree)[:4]
    arrays = load_arrays(records, tmp_path / "cache", log=lambda _: None)
    app_spec = Preprocessing.from_dict(PREPROCESSING.to_dict())  # as the model card carries it
    for record, array in zip(records, arrays):
        np.testing.assert_array_equal(array, preprocess(load_image(record.path), app_spec))
    again = load_arrays(records, tmp_path / "cache", log=lambda _: None)
    assert again.filename == arrays.filename  # decoded once, then read from the cache


def test_short_training_run_resumes_and_exports(tiny_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = Namespace(data=str(tiny_tree), arch="seed", out=str(out), seed=1, epochs=1, batch_size=4,
                     resume=False, strategy="default", limit=None, cache_dir=str(tmp_path / "cache"),
                     no_exclude_flagged=False, image_size=None, learning_rate=None)
    assert train(args) == 0
    history = json.loads((out / "history.json").read_text())
    assert len(history["accuracy"]) == 1 and len(history["seconds"]) == 1
    assert set(json.loads((out / "split.json").read_text())) == {"train", "validation", "test"}
    excluded = json.loads((out / "excluded.json").read_text())
    assert "Train/nevus/broken.jpg" in excluded and "Train/nevus/zz_copy.jpg" in excluded
    assert (out / "checkpoint.keras").is_file()
    args.epochs, args.resume = 2, True
    assert train(args) == 0
    history = json.loads((out / "history.json").read_text())
    assert len(history["accuracy"]) == 2
    assert "resuming after epoch 1" in (out / "train.log").read_text()
    pytest.importorskip("training.export")
    from skindesk.core.classifier import Classifier

    assert (out / "model.onnx").is_file()
    classifier = Classifier(out / "model.onnx")
    record = load_dataset(tiny_tree)[0]
    import keras

    model = keras.models.load_model(out / "model.keras")
    tensor = preprocess(load_image(record.path), PREPROCESSING)[None]
    keras_probabilities = model.predict(tensor, verbose=0)[0]
    onnx_probabilities = classifier.predict_file(record.path).probabilities
    np.testing.assert_allclose(np.asarray(onnx_probabilities), keras_probabilities, atol=1e-4)


def test_seed_refuses_another_input_size(tiny_tree: Path, tmp_path: Path) -> None:
    args = Namespace(data=str(tiny_tree), arch="seed", out=str(tmp_path / "r"), image_size=224)
    with pytest.raises(ValueError, match="128x128"):
        train(args)
