"""A MobileNetV2-size stand-in for timing, until the trained model ships: NOT for clinical use.

Builds MobileNetV2 (ImageNet backbone from ``../shared/weights``, 224 px) with an untrained
9-class softmax head, saves it as ``.keras`` and exports it with tf2onnx (opset 17) into an ONNX
file carrying a SkinDesk test card, so ``bench_inference.py --model X.onnx --keras X.keras``
measures the architecture the goals name. Needs the ``train`` extra (TensorFlow, tf2onnx).

    python benchmarks/make_bench_model.py [--out cache/bench/mobilenetv2]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WEIGHTS = REPO.parent / "shared" / "weights" / "mobilenet_v2_1.0_224_imagenet_notop.weights.h5"

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "cache" / "bench" / "mobilenetv2",
                        help="output stem; writes STEM.keras and STEM.onnx (default: %(default)s)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    from skindesk.core.modelcard import embed_card
    from skindesk.core.testmodels import test_card

    inputs = keras.Input((224, 224, 3), name="input")
    backbone = keras.applications.MobileNetV2(
        include_top=False, input_shape=(224, 224, 3),
        weights=str(WEIGHTS) if WEIGHTS.exists() else None,
    )
    features = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    outputs = keras.layers.Dense(9, activation="softmax", name="probabilities")(features)
    model = keras.Model(inputs, outputs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out.with_suffix(".keras"))

    signature = (tf.TensorSpec((None, 224, 224, 3), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=17)
    card = test_card(size=224, operating_points=True, ood_threshold=None,
                     name="Benchmark MobileNetV2 (untrained head, not for clinical use)",
                     version="bench")
    card["architecture"] = "MobileNetV2 1.0 224 + dense softmax"
    card["preprocessing"]["value_range"] = [-1.0, 1.0]
    card["outputs"] = {"probabilities": proto.graph.output[0].name}
    embed_card(proto, card)
    onnx.save_model(proto, str(args.out.with_suffix(".onnx")))
    print(f"wrote {args.out.with_suffix('.keras')} and {args.out.with_suffix('.onnx')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
