"""The end of a run on tiny data: calibration, image gate, quality limits, export, evaluation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from skindesk.core.classifier import Classifier
from skindesk.core.imaging import load_image
from skindesk.core.preprocess import preprocess
from skindesk.core.quality import QualityLimits
from training.config import TrainConfig
from training.finetune import FineTuneRun
from training.gate import STRICTNESS, Gate, fit_gate, thresholds
from training.negatives import GENERATED_KINDS, generate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, make_pool) -> tuple[FineTuneRun, Path]:  # noqa: ANN001
    root = tmp_path_factory.mktemp("finish")
    data = make_pool(root / "pool", n=60)
    config = TrainConfig(data=str(data), out=str(root / "run"), arch="tiny", image_width=32,
                         image_height=24, head_epochs=1, epochs=1, batch_size=8,
                         exclude_flagged=False, warmup_steps=2, gate_negatives=8)
    job = FineTuneRun(config)
    assert job.run() == 0
    return job, root / "run" / "model.onnx"


def test_the_app_trusts_the_exported_model(finished: tuple[FineTuneRun, Path]) -> None:
    job, path = finished
    classifier = Classifier(path, provider="cpu")
    card = classifier.card
    assert list(card.class_names) == job.pool.class_names
    assert (card.preprocessing.width, card.preprocessing.height) == (32, 24)
    raw = card.raw
    assert set(raw["ood"]["levels"]) == set(STRICTNESS)
    assert raw["ood"]["levels"]["lenient"] >= raw["ood"]["levels"]["strict"]
    assert card.ood_threshold == raw["ood"]["levels"]["standard"]
    assert set(raw["ood"]["figures"]["test_detection"]) >= set(GENERATED_KINDS)
    QualityLimits.from_dict({k: v for k, v in raw["quality"].items() if k != "chosen_on"})
    assert "limitations" in raw and "MILK10k" in raw["licence"]
    shortcut = raw["metrics"]["shortcut"]
    assert {"invariance", "source_leakage", "leave_one_source_out", "source_probe_auc"} <= set(shortcut)
    assert raw["training"]["epochs"] == 1 and raw["training"]["best_epoch"] >= 1
    correction = raw["calibration"]["prior_correction"]
    assert correction["tau"] in [row["tau"] for row in correction["candidates"]]
    summary = (path.parent / "eval_test" / "summary.txt").read_text(encoding="utf-8")
    assert "Data: test split" in summary and "split.json" in summary


def test_training_and_app_see_identical_tensors(finished: tuple[FineTuneRun, Path]) -> None:
    job, path = finished
    record = job.pool.split["validation"][0]
    app = Classifier(path, provider="cpu").preprocess(load_image(record.path))
    np.testing.assert_array_equal(app, preprocess(job.pool.image(record), job.spec))


def test_exported_gate_score_is_the_fitted_gate_on_the_exported_features(
        finished: tuple[FineTuneRun, Path]) -> None:
    job, path = finished
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    images = [generate(kind, 0, 5) for kind in GENERATED_KINDS]
    x = np.stack([preprocess(im, job.spec) for im in images])
    ood, features = session.run(["ood_score", "features"], {"input": x})
    assert ood.shape == (len(images),) and features.shape[0] == len(images)
    gate = Gate.load(path.parent / "gate.npz")
    np.testing.assert_allclose(ood, gate.score(features.astype(np.float64)), rtol=1e-3, atol=1e-3)


def test_gate_separates_and_its_thresholds_hold_their_false_flag_rate() -> None:
    rng = np.random.default_rng(0)
    inside = np.concatenate([rng.normal(m, 1.0, (300, 16)) for m in (0.0, 2.0)])
    labels = np.repeat([0, 1], 300)
    near = rng.normal(np.r_[np.full(8, 3.0), np.zeros(8)], 1.0, (200, 16))  # like clinical close-ups
    junk = rng.normal(np.r_[np.zeros(8), np.full(8, -5.0)], 1.0, (200, 16))  # like generated images
    gate = fit_gate(inside, labels, [near, junk])
    assert gate.linear_w.shape == (16, 2) and not gate.has_distance
    held_in = np.concatenate([rng.normal(m, 1.0, (500, 16)) for m in (0.0, 2.0)])
    levels = thresholds(gate.score(held_in))
    for negatives in (rng.normal(np.r_[np.full(8, 3.0), np.zeros(8)], 1.0, (100, 16)),
                      rng.normal(np.r_[np.zeros(8), np.full(8, -5.0)], 1.0, (100, 16))):
        assert (gate.score(negatives) >= levels["standard"]).mean() > 0.95
    for name, rate in STRICTNESS.items():
        assert (gate.score(held_in) >= levels[name]).mean() == pytest.approx(rate, abs=0.003)


def test_one_direction_against_both_kinds_misses_what_two_catch() -> None:
    """Why one direction per kind: the negatives lie on opposite sides of the dermoscopy."""
    rng = np.random.default_rng(1)
    inside = rng.normal(0.0, 1.0, (600, 16))
    labels = np.zeros(600, int)
    left, right = rng.normal(-4.0, 1.0, (200, 16)), rng.normal(4.0, 1.0, (200, 16))
    one = fit_gate(inside, labels, np.concatenate([left, right]))
    two = fit_gate(inside, labels, [left, right])
    test_in = rng.normal(0.0, 1.0, (1000, 16))
    test_out = np.concatenate([rng.normal(-4.0, 1.0, (100, 16)), rng.normal(4.0, 1.0, (100, 16))])
    caught = {k: (g.score(test_out) >= thresholds(g.score(test_in))["standard"]).mean()
              for k, g in (("one", one), ("two", two))}
    assert caught["two"] > 0.95 and caught["one"] < 0.8, caught


def test_the_optional_distance_catches_far_inputs_no_negative_resembles() -> None:
    rng = np.random.default_rng(0)
    inside = np.concatenate([rng.normal(m, 1.0, (300, 16)) for m in (0.0, 2.0)])
    labels = np.repeat([0, 1], 300)
    gate = fit_gate(inside, labels, rng.normal(6.0, 1.0, (200, 16)), distance=True)
    held_in = np.concatenate([rng.normal(m, 1.0, (500, 16)) for m in (0.0, 2.0)])
    far = rng.normal(-8.0, 1.0, (100, 16))
    assert gate.has_distance
    assert (gate.score(far) >= thresholds(gate.score(held_in))["standard"]).mean() > 0.95


def test_a_gate_saved_with_one_direction_loads(tmp_path: Path) -> None:
    np.savez(tmp_path / "old.npz", whiten=np.eye(3), class_means=np.zeros((2, 3)),
             linear_w=np.array([1.0, 0.0, 0.0]), scalars=np.array([0.5, 2.0, -1.0, 3]))
    gate = Gate.load(tmp_path / "old.npz")
    x = np.array([[1.0, 0.0, 0.0]])
    assert gate.score(x)[0] == pytest.approx(max(1.5, 2.0 * np.log1p(1.0 / 3) - 1.0))
    gate.save(tmp_path / "new.npz")
    np.testing.assert_allclose(Gate.load(tmp_path / "new.npz").score(x), gate.score(x))


@pytest.mark.parametrize("kind", list(GENERATED_KINDS))
def test_generated_negatives_are_deterministic_images(kind: str) -> None:
    first, again, other = generate(kind, 3, 1), generate(kind, 3, 1), generate(kind, 4, 1)
    assert first.mode == "RGB" and min(first.size) >= 64
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other)) or kind == "solid colour"
    assert isinstance(first, Image.Image)


def test_a_jax_run_exports_here_under_tensorflow(tmp_path: Path, make_pool) -> None:  # noqa: ANN001
    """The GPU-machine route (FACTS.md): train on Keras/JAX, export with tf2onnx on TensorFlow."""
    pytest.importorskip("jax")
    data = make_pool(tmp_path / "pool", n=36)
    out = tmp_path / "jax-run"
    base = [sys.executable, "-m", "training.cli"]
    train = subprocess.run([*base, "train", "--data", str(data), "--out", str(out), "--arch", "tiny",
                            "--backend", "jax", "--image-width", "32", "--image-height", "24",
                            "--head-epochs", "1", "--epochs", "1", "--batch-size", "8",
                            "--no-exclude-flagged", "--no-finish", "--gate-negatives", "4"],
                           capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stdout + train.stderr
    assert '"backend": "jax"' in (out / "config.json").read_text()
    export = subprocess.run([*base, "export", str(out)], capture_output=True, text=True, timeout=600)
    assert export.returncode == 0, export.stdout + export.stderr
    classifier = Classifier(out / "model.onnx", provider="cpu")
    assert list(classifier.card.class_names) == ["basal cell carcinoma", "melanoma", "nevus"]


def test_prior_correction_is_chosen_on_validation_and_written_into_the_head() -> None:
    from types import SimpleNamespace

    from training.finish import prior_correction

    rng = np.random.default_rng(1)
    train = np.array([0] * 900 + [1] * 100)
    labels = np.array([0] * 540 + [1] * 60)
    # A model biased toward the majority class beyond its prior: the minority is under-called
    # until adjusted (tau 0.5 here: balanced accuracy 0.71 -> 0.81 with ECE still <= 0.03).
    logits = np.stack([rng.normal(0, 1, 600) + 3.0, rng.normal(0, 1, 600) + 2.5 * labels], axis=1)

    class Head:
        weights = [np.zeros((4, 2), np.float32), np.zeros(2, np.float32)]

        def get_weights(self):  # noqa: ANN201
            return list(self.weights)

        def set_weights(self, weights) -> None:  # noqa: ANN001
            self.weights = weights

    head = Head()
    run = SimpleNamespace(pool=SimpleNamespace(labels=lambda part: train, class_names=["a", "b"]),
                          nets=SimpleNamespace(head=head), log=lambda line: None)
    result = prior_correction(run, logits, labels)
    taus = {row["tau"]: row for row in result["candidates"]}
    assert result["tau"] > 0
    assert taus[result["tau"]]["validation_balanced_accuracy"] > taus[0.0]["validation_balanced_accuracy"]
    assert taus[result["tau"]]["validation_ece"] <= 0.03 or result["tau"] == 0.0
    prior = np.array([0.9, 0.1])
    np.testing.assert_allclose(head.weights[1], -result["tau"] * np.log(prior), rtol=1e-5)
