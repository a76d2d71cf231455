"""The image gate added to an already exported model computes what the fitted gate computes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from skindesk.core import testmodels
from skindesk.core.classifier import Classifier
from skindesk.core.modelcard import embed_card, read_model
from training.gate import fit_gate
from training.gate_onnx import _feature_map, add_gate_nodes


@pytest.mark.parametrize("distance", [False, True])
def test_gate_nodes_match_the_fitted_gate_and_keep_the_rest(tmp_path: Path, distance: bool) -> None:
    path = testmodels.build_test_model(tmp_path / "m.onnx")
    card, _, _ = read_model(path)
    rng = np.random.default_rng(0)
    inside = rng.normal(0, 0.3, (200, 3))
    gate = fit_gate(inside, rng.integers(0, 3, 200), [rng.normal(0.8, 0.2, (100, 3)),
                                                      rng.normal(-0.8, 0.2, (100, 3))], distance=distance)
    proto = onnx.load(str(path))
    assert _feature_map(proto, card.cam_output) == "input"  # the tiny model's head reads pixels
    add_gate_nodes(proto, "input", gate)
    raw = dict(card.raw)
    raw["ood"] = {"threshold": 0.5, "levels": {"lenient": 1.0, "standard": 0.5, "strict": 0.0}}
    embed_card(proto, raw)
    out = tmp_path / "gated.onnx"
    onnx.save_model(proto, str(out))

    x = rng.uniform(-1, 1, (5, *Classifier(path, provider="cpu").input_shape)).astype(np.float32)
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    after = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    p0, e0 = before.run(["probabilities", "ood_score"], {"input": x})
    p1, e1, score, features = after.run(["probabilities", "energy_score", "ood_score", "features"],
                                        {"input": x})
    np.testing.assert_allclose(p1, p0, rtol=1e-6)  # the classifier is untouched
    np.testing.assert_allclose(e1, e0, rtol=1e-6)  # the old score survives under another name
    np.testing.assert_allclose(features, x.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(score, gate.score(features.astype(np.float64)), rtol=1e-4, atol=1e-4)
    gated = Classifier(out, provider="cpu")  # the app trusts the new file and uses the gate
    assert gated.card.ood_levels["strict"] == 0.0
    assert [p.ood_score for p in gated.predict_arrays(x)] == pytest.approx(list(score), abs=1e-5)
