"""``skindesk-train add-gate MODEL --data DATA --out FILE``: give an exported model the image gate.

For a model exported before the gate existed (model 1.0): its pooled features are read through
onnxruntime (the feature map behind its linear head, ``shortcut.OnnxFeatures``), the gate is
fitted and scored exactly as a training run does (``finish.build_gate``), and the graph gets new
nodes that compute it: ``ood_score`` becomes the gate's score (the old energy score stays as
``energy_score``) and ``features`` is added. The card's ``ood`` section is replaced with the
gate's thresholds, levels and figures. Weights and every other output are unchanged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from .gate import Gate

__all__ = ["add_gate_nodes", "add_gate", "add_parser", "run"]


def _feature_map(proto: Any, cam_output: str) -> str:
    """The (N, h, w, C) feature map that the model's linear head reads."""
    from .shortcut import _head_input

    name = _head_input(proto, cam_output)
    producers = {out: node for node in proto.graph.node for out in node.output}
    node = producers.get(name)
    if node is not None and node.op_type == "Reshape":  # tf2onnx flattens before the MatMul
        return node.input[0]
    return name


def add_gate_nodes(proto: Any, feature_map: str, gate: Gate) -> None:
    """Append the gate to ``proto``: outputs ``ood_score`` (gate) and ``features`` (pooled)."""
    from onnx import TensorProto, helper, numpy_helper

    graph = proto.graph
    old = next((o for o in graph.output if o.name == "ood_score"), None)
    if old is not None:  # keep the energy score under another name
        for node in graph.node:
            node.output[:] = ["energy_score" if o == "ood_score" else o for o in node.output]
        old.name = "energy_score"

    def const(name: str, value: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 17)

    def reduce(op: str, source: str, out: str, axes: list[int]) -> Any:
        if opset >= 18:  # axes became an input in opset 18
            return helper.make_node(op, [source, const(f"gate/axes_{out}", np.array(axes, np.int64))],
                                    [out], keepdims=0)
        return helper.make_node(op, [source], [out], axes=axes, keepdims=0)

    nodes = [
        reduce("ReduceMean", feature_map, "features", [1, 2]),
        helper.make_node("MatMul", ["features", const("gate/w", gate.linear_w.astype(np.float32))],
                         ["gate/l0"]),
        helper.make_node("Add", ["gate/l0", const("gate/bias", gate.bias.astype(np.float32))],
                         ["gate/l1"]),
        reduce("ReduceMax", "gate/l1", "gate/learnt" if gate.has_distance else "ood_score", [1]),
    ]
    if gate.has_distance:
        means = gate.class_means.astype(np.float32)
        nodes += [
            helper.make_node("MatMul", ["features", const("gate/whiten", gate.whiten.astype(np.float32))],
                             ["gate/t"]),
            helper.make_node("MatMul", ["gate/t", const("gate/cross", (-2.0 * means.T).astype(np.float32))],
                             ["gate/ct0"]),
            helper.make_node("Add", ["gate/ct0", const("gate/norms", (means**2).sum(1).astype(np.float32))],
                             ["gate/ct"]),
            reduce("ReduceMin", "gate/ct", "gate/ctmin", [1]),
            helper.make_node("Mul", ["gate/t", "gate/t"], ["gate/tt0"]),
            helper.make_node("ReduceSum", ["gate/tt0", const("gate/axis1", np.array([1], np.int64))],
                             ["gate/tt"], keepdims=0),
            helper.make_node("Add", ["gate/ctmin", "gate/tt"], ["gate/d0"]),
            helper.make_node("Max", ["gate/d0", const("gate/zero", np.array(0.0, np.float32))], ["gate/d1"]),
            helper.make_node("Div", ["gate/d1", const("gate/dims", np.array(gate.dims, np.float32))],
                             ["gate/d2"]),
            helper.make_node("Add", ["gate/d2", const("gate/one", np.array(1.0, np.float32))], ["gate/d3"]),
            helper.make_node("Log", ["gate/d3"], ["gate/d4"]),
            helper.make_node("Mul", ["gate/d4", const("gate/scale", np.array(gate.distance_scale, np.float32))],
                             ["gate/d5"]),
            helper.make_node("Add", ["gate/d5", const("gate/shift", np.array(gate.distance_shift, np.float32))],
                             ["gate/distance"]),
            helper.make_node("Max", ["gate/learnt", "gate/distance"], ["ood_score"]),
        ]
    graph.node.extend(nodes)
    graph.output.append(helper.make_tensor_value_info("ood_score", TensorProto.FLOAT, [None]))
    graph.output.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, gate.dims]))


def add_gate(model_path: Path, out_path: Path, data: str, split_file: Path | None = None,
             negatives: int = 150, seed: int = 42) -> dict[str, Any]:
    """Fit the gate for ``model_path`` on ``data`` (its own split) and write ``out_path``."""
    import onnx

    from skindesk.core.modelcard import ModelCard, embed_card

    from .data import load_dataset
    from .evaluate import select_split
    from .finish import build_gate
    from .pool import Pool
    from .shortcut import OnnxFeatures

    features = OnnxFeatures(model_path)
    card = features.card
    records = load_dataset(data)
    parts = {name: select_split(records, name, split_file=split_file, card_raw=card.raw,
                                model_path=model_path)[0] for name in ("train", "validation", "test")}
    pool = Pool.decoded(parts, card.class_names, card.preprocessing)
    job = SimpleNamespace(pool=pool, log=print,
                          config=SimpleNamespace(seed=seed, gate_negatives=negatives, data=data))
    gate, section = build_gate(job, lambda images: features.run(images)[1].astype(np.float64))
    proto = onnx.load(str(model_path))
    add_gate_nodes(proto, _feature_map(proto, card.cam_output), gate)
    raw = dict(card.raw)
    raw["ood"] = section
    raw["outputs"] = {**raw.get("outputs", {}), "ood_score": "ood_score", "features": "features"}
    ModelCard.from_dict(raw)
    embed_card(proto, raw)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(proto, str(out_path))
    gate.save(out_path.with_suffix(".gate.npz"))
    return section


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "add-gate", help="give an exported model the image gate (fitted on its own split)",
        description="Fit the 'not a dermoscopic image' gate on MODEL's pooled features (its "
                    "training images against clinical close-ups and generated non-dermoscopy), "
                    "choose its thresholds on validation and write a copy of MODEL that computes it.")
    parser.add_argument("model", type=Path, help="the SkinDesk .onnx model (required)")
    parser.add_argument("--data", required=True, help="the labelled pool the model was trained on (required)")
    parser.add_argument("--out", type=Path, required=True, help="the .onnx file to write (required)")
    parser.add_argument("--split-file", type=Path, default=None,
                        help="the model's split JSON (default: the one saved beside the model)")
    parser.add_argument("--negatives", type=int, default=150,
                        help="generated non-dermoscopy images per kind for fitting (default: 150)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.model.is_file():
        raise ValueError(f"{args.model}: file not found")
    if args.out.resolve() == args.model.resolve():
        raise ValueError("--out must differ from MODEL (check the new file before replacing the old)")
    section = add_gate(args.model, args.out, args.data, args.split_file, args.negatives)
    print(json.dumps({"written": str(args.out), "threshold": section["threshold"],
                      "figures": section["figures"]}, indent=1))
    return 0
