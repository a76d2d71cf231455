"""End-to-end tests of ``skindesk-train evaluate`` on a tiny real ONNX model and generated images."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.core.classifier import Classifier
from skindesk.core.testmodels import build_test_model, test_card
from training import evaluate
from training.data import load_dataset
from training.splits import grouped_split, save_split

NAMES = ["melanoma", "nevus", "basal cell carcinoma"]
# The model's logits are 8 x the mean of each channel (value range 0-1): red → melanoma,
# green → nevus, blue → basal cell carcinoma.
WEIGHTS = np.eye(3, dtype=np.float32) * 8
CHANNEL = {"melanoma": 0, "nevus": 1, "basal cell carcinoma": 2}


def make_dataset(root: Path, per_class: int = 8, mislabelled: int = 1) -> Path:
    """Flat-colour PNGs whose dominant channel is the class; ``mislabelled`` red images say nevus."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for name in NAMES:
        for i in range(per_class):
            colour = [int(v) for v in rng.integers(40, 120, 3)]
            colour[CHANNEL[name]] = int(rng.integers(150, 255))
            file = f"{name.replace(' ', '_')}_{i}.png"
            Image.new("RGB", (40, 30), tuple(colour)).save(root / file)
            label = "nevus" if name == "melanoma" and i < mislabelled else name
            rows.append({"image": file, "diagnosis": label, "lesion_id": f"L{name[:3]}{i // 2}",
                         "source": "clinic_a" if i % 2 else "clinic_b"})
    with open(root / "labels.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def make_model(path: Path, split: dict | None = None) -> Path:
    card = test_card(NAMES, size=16)
    if split is not None:
        card["training_data"]["split"] = split
    return build_test_model(path, card, weights=WEIGHTS)


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="skindesk-train")
    evaluate.add_parser(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["evaluate", *argv, "--threads", "1", "--provider", "cpu"])
    return args.func(args)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    data = make_dataset(root / "data")
    model = make_model(root / "model" / "model.onnx")
    history = {"phases": [{"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.5],
                           "loss": [1.2, 1.0], "val_loss": [1.3, 1.1]},
                          {"accuracy": [0.7], "val_accuracy": [0.6], "loss": [0.8],
                           "val_loss": [0.9]}]}
    (root / "model" / "history.json").write_text(json.dumps(history))
    return root, data, model


def test_evaluate_all_writes_json_and_plots(workspace, capsys):
    root, data, model = workspace
    out = root / "out_all"
    assert cli(str(model), "--data", str(data), "--split", "all", "--out", str(out)) == 0
    for name in ("metrics.json", "summary.txt", "predictions.csv", "confusion_matrix.png",
                 "roc.png", "reliability.png", "training_curves.png"):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "metrics.json").read_text())
    overall = report["overall"]
    # 24 images, one red image labelled nevus: the model calls it melanoma.
    assert overall["samples"] == 24
    assert overall["accuracy"] == pytest.approx(23 / 24)
    assert overall["confusion_matrix"] == [[7, 0, 0], [1, 8, 0], [0, 0, 8]]
    assert overall["per_class"]["basal cell carcinoma"]["recall"] == 1.0
    assert set(report["per_source"]) == {"clinic_a", "clinic_b"}
    assert sum(r["samples"] for r in report["per_source"].values()) == 24
    assert report["history"]["epochs"] == 3
    # The card's thresholds are scored unchanged; a fresh table is chosen on this data.
    card_rows = report["card_operating_points"]["classes"]["melanoma"]
    assert [r["threshold"] for r in card_rows] == [0.3, 0.2, 0.12, 0.05]
    assert card_rows[0]["evaluation"]["positives"] == 7
    chosen = report["chosen_operating_point"]["classes"]["melanoma"]
    assert chosen["target_sensitivity"] == 0.9
    assert report["operating_points"]["classes"]["melanoma"][0]["evaluation"]["sensitivity"] >= 0.8
    assert {g["goal"] for g in report["goals"]} >= {"balanced accuracy >= 0.80"}
    text = capsys.readouterr().out
    assert "balanced accuracy" in text and "clinic_a" in text


def test_probabilities_are_those_of_the_app(workspace):
    root, data, model = workspace
    records = load_dataset(data)
    classifier = Classifier(model, provider="cpu", threads=1)
    result = evaluate.evaluate_model(classifier, records, batch_size=5)
    by_name = dict(zip(result.names, result.probabilities))
    for record in records[:3]:
        app = classifier.predict_file(record.path).probabilities
        np.testing.assert_allclose(by_name[record.name], app, rtol=1e-6, atol=1e-7)


def test_split_recomputed_from_card(workspace, tmp_path):
    _, data, _ = workspace
    spec = {"seed": 3, "fractions": [0.5, 0.25, 0.25]}
    model = make_model(tmp_path / "m.onnx", split=spec)
    out = tmp_path / "out"
    assert cli(str(model), "--data", str(data), "--out", str(out)) == 0
    report = json.loads((out / "metrics.json").read_text())
    expected = grouped_split(load_dataset(data), (0.5, 0.25, 0.25), 3)["test"]
    assert report["data"]["images"] == len(expected)
    assert "model card" in report["split_source"]
    names = (out / "predictions.csv").read_text().splitlines()[1:]
    assert sorted(json.loads(line.split(",")[0]) for line in names) == sorted(r.name for r in expected)


def test_split_file_and_rescale(workspace, tmp_path):
    _, data, model = workspace
    records = load_dataset(data)
    split = grouped_split(records, (0.4, 0.2, 0.4), 5)
    save_split(split, tmp_path / "split.json")
    out = tmp_path / "out"
    rc = cli(str(model), "--data", str(data), "--split", "validation", "--split-file",
             str(tmp_path / "split.json"), "--rescale", "64x48", "--out", str(out))
    assert rc == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["data"]["images"] == len(split["validation"])
    assert report["data"]["rescale"] == "64x48"
    assert report["overall"]["samples"] == len(split["validation"])
    assert (out / "training_curves.png").is_file()  # history.json found beside the model
    assert "split file" in report["split_source"]


def test_rescaled_copy_has_the_asked_size_and_is_jpeg(workspace, tmp_path):
    _, data, _ = workspace
    copy = evaluate._rescaled_file(data / "nevus_1.png", (64, 48), 80, tmp_path)
    with Image.open(copy) as image:
        assert image.format == "JPEG" and image.size == (64, 48)


def test_unreadable_and_unknown_label_images_are_skipped(tmp_path):
    data = make_dataset(tmp_path / "data", per_class=3, mislabelled=0)
    (data / "nevus_0.png").write_bytes(b"not an image at all")
    with open(data / "labels.csv", "a", encoding="utf-8") as handle:
        handle.write("extra.png,dermatofibroma,X1,clinic_a\n")
    Image.new("RGB", (40, 30), (10, 10, 10)).save(data / "extra.png")
    model = make_model(tmp_path / "m.onnx")
    out = tmp_path / "out"
    assert cli(str(model), "--data", str(data), "--split", "all", "--out", str(out)) == 0
    report = json.loads((out / "metrics.json").read_text())
    skipped = {s["image"]: s["problem"] for s in report["skipped"]}
    assert set(skipped) == {"nevus_0.png", "extra.png"}
    assert "dermatofibroma" in skipped["extra.png"]
    assert report["overall"]["samples"] == 8
    assert report["overall"]["accuracy"] == 1.0


def test_clear_errors(workspace, tmp_path, capsys):
    root, data, model = workspace
    assert cli(str(tmp_path / "missing.onnx"), "--data", str(data)) == 2
    assert "missing.onnx: file not found" in capsys.readouterr().err
    assert cli(str(model), "--data", str(tmp_path / "nodata")) == 2
    assert "nodata: no such file or folder" in capsys.readouterr().err
    assert cli(str(model), "--data", str(data), "--rescale", "big") == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    (tmp_path / "split.json").write_text(json.dumps({"train": [], "validation": []}))
    assert cli(str(model), "--data", str(data), "--split-file", str(tmp_path / "split.json")) == 2
    assert "has no 'test' split" in capsys.readouterr().err
    assert cli(str(model), "--data", str(data), "--sensitivity", "0.77") == 2
    assert "not a validated operating point" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(str(model), "--data", str(data), "--split", "holdout")
    with pytest.raises(ValueError, match="unknown split"):
        evaluate.select_split(load_dataset(data), "holdout")


def test_evaluate_arrays_for_training_code():
    labels = np.array([0, 0, 1, 1, 2, 2])
    probs = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.1, 0.8, 0.1],
                      [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.3, 0.1, 0.6]])
    report = evaluate.evaluate_arrays(labels, probs, NAMES, sources=["a", "b"] * 3)
    assert report["overall"]["accuracy"] == pytest.approx(5 / 6)
    assert set(report["operating_points"]["classes"]) == {"melanoma", "basal cell carcinoma"}
    assert report["per_source"]["a"]["samples"] == 3
    goals = {g["goal"]: g for g in report["goals"]}
    assert goals["accuracy >= 0.88"]["met"] is False
    assert goals["every class recall >= 0.60"]["value"] == pytest.approx(0.5)
    assert "Goals" in evaluate.format_summary(report)


def test_load_history_formats(tmp_path):
    keras_style = tmp_path / "a.json"
    keras_style.write_text(json.dumps({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}))
    series, boundaries = evaluate.load_history(keras_style)
    assert series["val_loss"] == [1.1, 0.7] and boundaries == []
    rows = tmp_path / "b.json"
    rows.write_text(json.dumps([{"epoch": 0, "accuracy": 0.5}, {"epoch": 1, "accuracy": 0.6}]))
    assert evaluate.load_history(rows)[0] == {"accuracy": [0.5, 0.6]}
    assert evaluate.parse_size("800x600") == (800, 600)
