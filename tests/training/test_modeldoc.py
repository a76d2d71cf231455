"""``skindesk-train model-doc`` writes the model document from a run's files only."""

from __future__ import annotations

import json
from pathlib import Path

from skindesk.core.modelcard import read_model
from skindesk.paths import default_model_path
from training.modeldoc import write_model_doc

from test_model_comparison import evaluated  # noqa: F401 - the fixture: a real evaluate folder
from training import compare


def _run_dir(tmp_path: Path) -> Path:
    card = dict(read_model(default_model_path())[0].raw)
    card["training"] = {"epochs": 15, "training_seconds": 5 * 3600 + 1800}
    card["metrics"] = {**card["metrics"], "shortcut": {
        "source_probe_auc": {"macro": 0.612},
        "source_leakage": {"ham10000_top_seborrheic_keratosis": 0.004},
        "leave_one_source_out": {"isic2017": {"melanoma_vs_nevus_auc": 0.871, "test_images": 300}},
        "invariance": {"original": {"balanced_accuracy": 0.7, "balanced_accuracy_change": 0.0,
                                    "melanoma_auc": 0.9, "melanoma_auc_change": 0.0}},
        "per_skin_tone": {}}}
    run = tmp_path / "run"
    run.mkdir()
    (run / "model_card.json").write_text(json.dumps(card))
    (run / "train.log").write_text(
        "[2026-12-05 10:00:00] epoch 1/15 (full): ...; 780 s/epoch, ETA 3:00:00\n"
        "[2026-12-05 14:53:45] resumed at epoch 11, step 0\n"
        "[2026-12-05 15:01:52] epoch 11/15 (full): ...; 536 s/epoch, ETA 35:43\n"
        "[2026-12-05 15:34:26] training done: best validation balanced accuracy 0.631\n"
        "[2026-12-05 15:57:17] resumed at epoch 16, step 0\n")
    (run / "config.json").write_text(json.dumps({"data": "DATA", "out": "RUN"}))
    return run


def test_document_carries_time_shortcut_and_comparison(tmp_path: Path, evaluated: Path) -> None:  # noqa: F811
    run = _run_dir(tmp_path)
    comparison = tmp_path / "comparison.json"
    comparison.write_text(json.dumps({"1.0": compare.model_figures(evaluated),
                                      "2.0": compare.model_figures(evaluated)}))
    out = write_model_doc(run, tmp_path / "doc" / "README.md", "Hand-written notes.", comparison)
    text = out.read_text(encoding="utf-8")
    assert "Hand-written notes." in text
    assert "5.5 h of training in 2 sittings" in text and "2 epochs at 536–780 s each" in text
    assert "source probe AUC (pooled features, grouped CV): 0.612" in text
    assert "leave isic2017 out: melanoma-vs-nevus AUC 0.871" in text
    assert "| | 1.0 | 2.0 |" in text and "| default melanoma alert: nevi spared | 88.9 % | 88.9 % |" in text
    assert "skindesk-train train --data DATA --out RUN" in text
