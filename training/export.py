"""ONNX export with tf2onnx: functional Keras model in, verified self-describing ONNX file out.

The export fails unless onnxruntime reproduces Keras on a batch of real images (max absolute
difference ≤ 1e-4 on every output, identical top-1). The model card is embedded with its digest
(``skindesk.core.modelcard.embed_card``); the file is written atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ExportError", "export_onnx", "check_parity", "add_parser", "run"]

OUTPUT_ORDER = ("probabilities", "class_activation_maps", "ood_score")


class ExportError(RuntimeError):
    """The exported graph does not reproduce the Keras model, or conversion failed."""


def export_onnx(
    model: Any,
    card: Mapping[str, Any],
    out_path: str | Path,
    parity_batch: np.ndarray,
    opset: int = 17,
    tolerance: float = 1e-4,
) -> Path:
    """Convert ``model`` (functional; outputs named as the card says) and embed ``card``.

    Returns the written path. Raises ``ExportError`` when parity fails.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import onnx
    import tensorflow as tf
    import tf2onnx

    from skindesk.core.modelcard import embed_card

    height, width = card["input"]["height"], card["input"]["width"]
    signature = (tf.TensorSpec((None, height, width, 3), tf.float32, name=card["input"]["name"]),)
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=opset)
    except Exception as error:  # tf2onnx raises many kinds
        raise ExportError(f"tf2onnx could not convert the model: {error}") from error
    _rename_outputs(proto, [str(n) for n in _output_names(model)], card.get("outputs", {}))
    embed_card(proto, dict(card))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(suffix=".onnx", dir=out_path.parent)
    os.close(handle)
    try:
        onnx.save_model(proto, tmp)
        check_parity(model, tmp, parity_batch, tolerance)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out_path


def _output_names(model: Any) -> list[str]:
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return [t.name.split("/")[0] for t in model.outputs]


def _rename_outputs(proto: Any, keras_names: list[str], wanted: Mapping[str, str]) -> None:
    """Give graph outputs the card's names (tf2onnx may suffix or reorder them)."""
    targets = {name: wanted.get(name, name) for name in OUTPUT_ORDER}
    renames: dict[str, str] = {}
    for output, keras_name in zip(proto.graph.output, keras_names):
        target = targets.get(keras_name, keras_name)
        if output.name != target:
            renames[output.name] = target
    for node in proto.graph.node:
        for i, name in enumerate(node.output):
            if name in renames:
                node.output[i] = renames[name]
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
    for output in proto.graph.output:
        output.name = renames.get(output.name, output.name)


def check_parity(model: Any, onnx_path: str | Path, batch: np.ndarray, tolerance: float = 1e-4) -> float:
    """Max |Keras − onnxruntime| over all outputs; raises ``ExportError`` beyond ``tolerance``.

    Probabilities must agree to ``tolerance`` absolutely; other outputs relative to their
    largest magnitude (at least 1).
    """
    import onnxruntime as ort

    batch = np.asarray(batch, dtype=np.float32)
    expected = model.predict(batch, verbose=0)
    if not isinstance(expected, (list, tuple)):
        expected = [expected]
    expected = dict(zip(_output_names(model), [np.asarray(e) for e in expected]))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {session.get_inputs()[0].name: batch})))
    worst = 0.0
    for name, value in expected.items():
        if name not in got:
            raise ExportError(f"exported graph has no output {name!r} (it has {names})")
        # Probabilities are checked absolutely; larger-valued outputs (activation maps,
        # energy) relative to their magnitude, as float32 round-off grows with it.
        scale = max(1.0, float(np.max(np.abs(value)))) if name != "probabilities" else 1.0
        diff = float(np.max(np.abs(got[name].reshape(value.shape) - value))) / scale
        worst = max(worst, diff)
        if diff > tolerance:
            raise ExportError(f"parity check failed: output {name} differs by {diff:.2e} "
                              f"(> {tolerance:.0e}) between Keras and onnxruntime")
    first = next(iter(expected))
    if not np.array_equal(expected[first].argmax(-1), got[first].reshape(expected[first].shape).argmax(-1)):
        raise ExportError("parity check failed: top-1 classes differ between Keras and onnxruntime")
    return worst


def add_parser(subparsers: Any) -> Any:
    """``skindesk-train export RUN_DIR``: calibrate, gate, export and evaluate a run's best weights again."""
    parser = subparsers.add_parser(
        "export", help="re-export a training run folder to ONNX (calibrate, gate, thresholds, card)",
        description="Load RUN_DIR's best weights, fit the temperature, image gate and alert "
                    "operating points on its validation split, export RUN_DIR/model.onnx with "
                    "parity check, and evaluate it on the test split.")
    parser.add_argument("run_dir", help="folder of a `skindesk-train train` run")
    parser.set_defaults(func=run)
    return parser


def run(args: Any) -> int:
    from .config import TrainConfig

    run_dir = Path(args.run_dir).expanduser()
    config_file = run_dir / "config.json"
    if not config_file.is_file():
        raise ValueError(f"{run_dir}: not a training run folder (no config.json)")
    if not (run_dir / "best.npz").is_file():
        raise ValueError(f"{run_dir}: no best weights yet (best.npz); train or --resume first")
    config = TrainConfig.from_json(config_file.read_text(encoding="utf-8"))
    config.out = str(run_dir)
    config.backend = "tensorflow"  # tf2onnx converts TensorFlow graphs; a JAX run's weights load here
    from .finetune import FineTuneRun
    from .finish import finish

    job = FineTuneRun(config)
    job.prepare()
    job.restore()
    finish(job)
    return 0
