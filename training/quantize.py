"""int8 quantisation of a SkinDesk ONNX model (onnxruntime static quantisation, QDQ, per channel).

``skindesk-train quantize MODEL.onnx --data DATA --out FILE`` calibrates activation ranges on
validation images (through skindesk's shared preprocessing), quantises convolutions and the
head, and writes a new model whose card says so (version suffix ``-int8``) with a fresh digest.
Whether to ship it is decided by evaluation (``skindesk-train evaluate``) and
``benchmarks/bench_inference.py``, never assumed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["quantize_model", "add_parser", "run"]


CALIBRATIONS = ("minmax", "percentile", "entropy")


def quantize_model(model_path: str | Path, out_path: str | Path, images: Sequence[Path],
                   calibration: str = "percentile") -> Path:
    """Write an int8 copy of ``model_path`` calibrated on ``images``; returns ``out_path``.

    ``calibration``: how activation ranges are set: ``minmax`` (the observed extremes: one
    outlier widens a range for every image), ``percentile`` (99.999th percentile of |x|) or
    ``entropy`` (KL-divergence optimal).
    """
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from skindesk.core.imaging import load_image
    from skindesk.core.modelcard import ModelCard, embed_card, read_model
    from skindesk.core.preprocess import preprocess

    card, _, _ = read_model(model_path)
    spec = card.preprocessing

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([
                {card.input_name: preprocess(load_image(p), spec)[None]} for p in images
            ])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    out_path = Path(out_path)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
        quantized = Path(tmp) / "quantized.onnx"
        quantize_static(
            str(prepared), str(quantized), Reader(), quant_format=QuantFormat.QDQ,
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method={"minmax": CalibrationMethod.MinMax,
                              "percentile": CalibrationMethod.Percentile,
                              "entropy": CalibrationMethod.Entropy}[calibration],
            nodes_to_exclude=_softmax_and_after(onnx.load(str(prepared))),
            extra_options={"CalibPercentile": 99.999},
        )
        proto = onnx.load(str(quantized))
    raw = dict(card.raw)
    raw["version"] = f"{card.version}-int8"
    raw["quantization"] = {"method": "onnxruntime static, QDQ, per-channel int8 weights, uint8 "
                                     f"activations, {calibration} calibration",
                           "calibration_images": len(images),
                           "source_model_sha256": read_model(model_path)[2]}
    ModelCard.from_dict(raw)
    embed_card(proto, raw)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_file = tempfile.mkstemp(suffix=".onnx", dir=out_path.parent)
    os.close(handle)
    onnx.save_model(proto, tmp_file)
    os.replace(tmp_file, out_path)
    return out_path


def _softmax_and_after(model: Any) -> list[str]:
    """Keep the probability, energy and mean nodes in float: they are cheap and precision-bound."""
    keep = {"Softmax", "ReduceLogSumExp", "Neg", "ReduceMean", "Div", "Exp", "Log", "ReduceMax",
            "ReduceSum", "Sub"}
    return [node.name for node in model.graph.node if node.op_type in keep]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "quantize", help="write an int8 copy of an ONNX model (static quantisation)",
        description="Calibrate on validation images and write an int8 (QDQ) model with its card.")
    parser.add_argument("model", help="the float ONNX model")
    parser.add_argument("--data", required=True,
                        help="labelled data; calibration uses its validation split (required)")
    parser.add_argument("--out", required=True, help="the int8 ONNX file to write (required)")
    parser.add_argument("--images", type=int, default=128,
                        help="calibration images from the validation split; percentile and entropy "
                             "calibration hold every activation in memory, about 55 MB per image "
                             "for MobileNetV2 at 224 px (default: 128)")
    parser.add_argument("--calibration", choices=CALIBRATIONS, default="percentile",
                        help="activation range calibration (default: percentile)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from skindesk.core.classifier import Classifier

    from .data import load_dataset
    from .evaluate import select_split

    model = Path(args.model)
    classifier = Classifier(model, provider="cpu")
    records = load_dataset(args.data)
    chosen, _ = select_split(records, "validation", card_raw=classifier.card.raw, model_path=model)
    rng = np.random.default_rng(0)
    picks = rng.choice(len(chosen), size=min(args.images, len(chosen)), replace=False)
    path = quantize_model(model, args.out, [chosen[i].path for i in sorted(picks)], args.calibration)
    print(json.dumps({"written": str(path), "size_mb": round(path.stat().st_size / 1e6, 2)}))
    return 0
