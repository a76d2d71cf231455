"""``skindesk-train compare`` reads real ``evaluate`` folders and puts models side by side."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from training import compare

from test_evaluate import cli as evaluate_cli
from test_evaluate import make_dataset, make_model


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare")
    data = make_dataset(root / "data")
    model = make_model(root / "model.onnx")
    out = root / "eval"
    assert evaluate_cli(str(model), "--data", str(data), "--split", "all", "--out", str(out)) == 0
    return out


def test_alert_figures_come_from_the_predictions(evaluated: Path) -> None:
    figures = compare.model_figures(evaluated)
    assert figures["images"] == 24
    # Red images are melanoma to the model: all 7 melanomas fire, and so does the one red image
    # labelled nevus, so 8 of 9 nevi are spared.
    assert figures["alert"]["melanoma_sensitivity"] == 1.0
    assert figures["alert"]["nevi_spared"] == pytest.approx(8 / 9)
    assert set(figures["per_source_balanced_accuracy"]) == {"clinic_a", "clinic_b"}
    assert figures["source_probe_auc"] is None  # evaluated without --shortcut


def test_table_has_a_column_per_model_and_the_json_round_trips(evaluated: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    other = tmp_path / "other"
    shutil.copytree(evaluated, other)
    metrics = json.loads((other / "metrics.json").read_text())
    metrics["overall"]["balanced_accuracy"] = 0.5
    metrics["shortcut"] = {"source_probe_auc": {"macro": 0.61}, "leave_one_source_out":
                           {"clinic_a": {"melanoma_vs_nevus_auc": 0.83, "test_images": 10}}}
    (other / "metrics.json").write_text(json.dumps(metrics))
    out = tmp_path / "comparison.json"
    args = argparse.Namespace(models=[f"old={other}", f"new={evaluated}"], out=out)
    assert compare.run(args) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| | old | new |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert "50.0 %" in rows["balanced accuracy"]
    assert "| 0.830 | – |" in rows["leave clinic_a out: melanoma-vs-nevus AUC"]
    assert "88.9 %" in rows["default melanoma alert: nevi spared"]
    assert list(json.loads(out.read_text())) == ["old", "new"]


def test_a_folder_without_metrics_is_a_clear_error(tmp_path: Path) -> None:
    args = argparse.Namespace(models=[f"old={tmp_path}"], out=None)
    with pytest.raises(ValueError, match="no metrics.json"):
        compare.run(args)
    with pytest.raises(ValueError, match="NAME=EVAL_DIR"):
        compare.run(argparse.Namespace(models=[str(tmp_path)], out=None))


def test_the_comparison_can_be_recorded_in_a_models_card(evaluated: Path, tmp_path: Path) -> None:
    from skindesk.core.classifier import Classifier
    from skindesk.core.testmodels import build_test_model

    model = build_test_model(tmp_path / "m.onnx")
    before = Classifier(model, provider="cpu").predict_arrays(np.zeros((1, 32, 32, 3)))[0].as_dict()
    args = argparse.Namespace(models=[f"old={evaluated}", f"new={evaluated}"], out=None, card=model,
                              images="the same 24 images")
    assert compare.run(args) == 0
    classifier = Classifier(model, provider="cpu")  # the digest still verifies
    recorded = classifier.card.raw["metrics"]["comparison"]
    assert recorded["images"] == "the same 24 images"
    assert [m["name"] for m in recorded["models"]] == ["old", "new"]
    assert recorded["models"][1]["alert"]["nevi_spared"] == pytest.approx(8 / 9)
    assert classifier.predict_arrays(np.zeros((1, 32, 32, 3)))[0].as_dict() == before
