"""The MobileNetV2 pipeline end to end on tiny data: cache, head, fine-tune, export, evaluate.

Also pins that training and the app see identical tensors for the same file, and that the
exported model's card is complete enough for the app (classes, thresholds, OOD, calibration).
"""

from __future__ import annotations

import csv
import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from skindesk.core.classifier import Classifier  # noqa: E402
from skindesk.core.imaging import load_image  # noqa: E402
from skindesk.core.preprocess import preprocess  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.features import view_tensor  # noqa: E402
from training.pipeline import TransferRun  # noqa: E402
from training.transfer import PREPROCESSING, build_model  # noqa: E402

from PIL import Image  # noqa: E402

CLASSES = ("basal cell carcinoma", "melanoma", "nevus")


def lesion_image(seed: int, size: tuple[int, int]) -> Image.Image:
    """A smooth random colour field with a dark blob whose colour depends on the class."""
    rng = np.random.default_rng(seed)
    field = rng.random((4, 4, 3)) * 120 + 80
    field[..., seed // 100] += 50
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    return image


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("transfer-data")
    rows = []
    for c, label in enumerate(CLASSES):
        for i in range(14):
            name = f"img/{c}_{i}.jpg"
            (root / "img").mkdir(exist_ok=True)
            lesion_image(100 * c + i, (80, 60)).save(root / name, quality=92)
            rows.append({"image": name, "diagnosis": label, "lesion_id": f"L{c}_{i // 2}",
                         "source": "a" if i % 2 else "b"})
    with open(root / "labels.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


@pytest.fixture(scope="module")
def finished_run(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("transfer-run")
    args = Namespace(data=str(dataset), arch="mobilenetv2", out=str(out), seed=1, weights=None,
                     views=1, head_epochs=2, fine_tune_epochs=1, image_size=32, batch_size=16,
                     learning_rate=1e-4, resume=False, limit=None, cache_dir=None,
                     no_exclude_flagged=False)
    assert TransferRun(args).run() == 0
    return out


def test_training_and_app_see_identical_tensors(dataset: Path) -> None:
    record = load_dataset(dataset)[0]
    app_tensor = preprocess(load_image(record.path), PREPROCESSING)
    assert np.array_equal(view_tensor(record, "clean", PREPROCESSING), app_tensor)


def test_model_summary_builds_without_weights() -> None:
    model = build_model(9, image_size=32)
    assert model.output_shape == (None, 9)


def test_run_exports_a_model_the_app_trusts(finished_run: Path, dataset: Path) -> None:
    classifier = Classifier(finished_run / "model.onnx", provider="cpu")
    card = classifier.card
    assert card.class_names == CLASSES
    assert card.cam_output and card.ood_output and card.ood_threshold is not None
    assert card.raw["calibration"]["temperature"] > 0
    assert card.raw["training_data"]["fingerprint"] and len(card.raw["training_data"]["fingerprint"]) == 64
    assert set(card.operating_points) <= {"basal cell carcinoma", "melanoma"}
    for points in card.operating_points.values():
        assert [p.target_sensitivity for p in points] == [0.8, 0.85, 0.9, 0.95]
    prediction = classifier.predict_file(load_dataset(dataset)[0].path)
    assert abs(float(prediction.probabilities.sum()) - 1.0) < 1e-5
    assert prediction.cam.shape[-1] == 3


def test_run_leaves_evaluation_history_and_split(finished_run: Path) -> None:
    metrics = json.loads((finished_run / "eval_test" / "metrics.json").read_text())
    assert 0.0 <= metrics["overall"]["balanced_accuracy"] <= 1.0
    assert (finished_run / "eval_test" / "confusion_matrix.png").stat().st_size > 1000
    history = json.loads((finished_run / "history.json").read_text())
    assert len(history["loss"]) == 1
    split = json.loads((finished_run / "split.json").read_text())
    lesions = {side: {name.split("_")[0] + "_" + str(int(name.split("_")[1][:-4]) // 2)
                      for name in names} for side, names in split.items()}
    assert not lesions["train"] & lesions["test"]


def test_a_started_run_needs_resume(finished_run: Path, dataset: Path) -> None:
    args = Namespace(data=str(dataset), out=str(finished_run), resume=False)
    with pytest.raises(ValueError, match="--resume"):
        TransferRun(args)


def test_export_verb_re_exports_the_best_weights(finished_run: Path) -> None:
    from training.export import run

    before = (finished_run / "model.onnx").stat().st_mtime_ns
    assert run(Namespace(run_dir=str(finished_run))) == 0
    assert (finished_run / "model.onnx").stat().st_mtime_ns >= before
    Classifier(finished_run / "model.onnx", provider="cpu")
