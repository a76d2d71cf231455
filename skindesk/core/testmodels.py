"""Small real ONNX models with real model cards, for tests, benchmarks and demos.

``build_test_model`` writes a model whose probabilities follow the image's mean colour (or
are fixed by ``bias`` when ``weights`` is zero), with class activation maps and an energy
out-of-distribution score, so every code path of the app runs on the real onnxruntime. These
models are untrained: never ship one as the app's default.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from .classes import class_entries
from .modelcard import DEFAULT_DISCLAIMER, FORMAT_VERSION, embed_card

__all__ = ["test_card", "build_test_model", "example_operating_points"]


def example_operating_points(class_names: list[str], flagged: list[str]) -> dict[str, Any]:
    """An operating-point table with made-up but well-formed figures."""
    rows = {}
    for name in flagged:
        if name not in class_names:
            continue
        rows[name] = [
            {
                "target_sensitivity": target,
                "threshold": threshold,
                "validation": {"sensitivity": target + 0.01, "specificity": spec,
                               "sensitivity_ci": [target - 0.05, min(1.0, target + 0.05)],
                               "specificity_ci": [spec - 0.05, spec + 0.05],
                               "positives": 100, "negatives": 900},
                "test": {"sensitivity": target, "specificity": spec - 0.02},
            }
            for target, threshold, spec in ((0.8, 0.3, 0.85), (0.85, 0.2, 0.8),
                                            (0.9, 0.12, 0.7), (0.95, 0.05, 0.5))
        ]
    defaults = {name: (0.9 if name == "melanoma" else 0.85) for name in rows}
    return {"default_sensitivity": defaults, "classes": rows}


def test_card(
    class_names: list[str] | None = None,
    size: int = 32,
    *,
    operating_points: dict[str, Any] | None | bool = True,
    ood_threshold: float | None = 0.0,
    uncertainty_threshold: float = 0.5,
    name: str = "SkinDesk test model",
    version: str = "0.0-test",
) -> dict[str, Any]:
    """A complete model card for a test model (``operating_points=True``: example table)."""
    classes = class_entries(class_names)
    names = [c["name"] for c in classes]
    if operating_points is True:
        flagged = [c["name"] for c in classes if c["malignant"] or c["premalignant"]]
        operating_points = example_operating_points(names, flagged)
    card: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version,
        "architecture": "test-linear",
        "classes": classes,
        "input": {"name": "input", "layout": "NHWC", "height": size, "width": size, "channels": 3},
        "outputs": {"probabilities": "probabilities", "class_activation_maps": "class_activation_maps",
                    "ood_score": "ood_score"},
        "preprocessing": {"height": size, "width": size, "resize": "bilinear", "fit": "squash",
                          "value_range": [0.0, 1.0], "channel_order": "RGB",
                          "canonical_area": 200 * 150},
        "training_data": {"description": "none: untrained test model", "fingerprint": "0" * 64},
        "metrics": {},
        "calibration": {"method": "none", "temperature": 1.0},
        "uncertainty": {"top_probability_threshold": uncertainty_threshold},
        "ood": None if ood_threshold is None else {"score": "energy", "threshold": ood_threshold},
        "intended_use": "Automated tests only. Not for clinical use.",
        "disclaimer": DEFAULT_DISCLAIMER,
        "licence": "CC0 (test artefact)",
        "created": date.today().isoformat(),
    }
    if operating_points:
        card["operating_points"] = operating_points
    return card


# The name starts with "test": keep pytest from collecting it when a test module imports it.
test_card.__test__ = False  # type: ignore[attr-defined]


def build_test_model(
    path: str | Path,
    card: dict[str, Any] | None = None,
    *,
    weights: np.ndarray | None = None,
    bias: np.ndarray | None = None,
) -> Path:
    """Write a tiny real ONNX model with ``card`` embedded; returns ``path``.

    logits = mean over pixels of (input @ weights) + bias; probabilities = softmax(logits);
    class_activation_maps = input @ weights + bias per pixel; ood_score = -logsumexp(logits).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    card = card or test_card()
    size = card["input"]["height"], card["input"]["width"]
    n = len(card["classes"])
    rng = np.random.default_rng(0)
    if weights is None:
        weights = rng.normal(0, 3, size=(3, n)).astype(np.float32)
    if bias is None:
        bias = np.zeros(n, dtype=np.float32)
    nodes = [
        helper.make_node("MatMul", ["input", "W"], ["xw"]),
        helper.make_node("Add", ["xw", "b"], ["class_activation_maps"]),
        helper.make_node("ReduceMean", ["class_activation_maps", "axes"], ["logits"], keepdims=0),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        helper.make_node("ReduceLogSumExp", ["logits", "last"], ["lse"], keepdims=0),
        helper.make_node("Neg", ["lse"], ["ood_score"]),
    ]
    graph = helper.make_graph(
        nodes,
        "skindesk_test",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", size[0], size[1], 3])],
        [
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n]),
            helper.make_tensor_value_info(
                "class_activation_maps", TensorProto.FLOAT, ["N", size[0], size[1], n]
            ),
            helper.make_tensor_value_info("ood_score", TensorProto.FLOAT, ["N"]),
        ],
        initializer=[
            numpy_helper.from_array(np.asarray(weights, np.float32), "W"),
            numpy_helper.from_array(np.asarray(bias, np.float32), "b"),
            numpy_helper.from_array(np.array([1, 2], np.int64), "axes"),
            numpy_helper.from_array(np.array([-1], np.int64), "last"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    embed_card(model, card)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path))
    return path
