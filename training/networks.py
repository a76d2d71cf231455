"""The networks a run trains: a backbone that gives a feature map, and a linear head.

The head is a Dense layer on globally averaged features, so class activation maps are exact
(CAM = features @ W + b per position; logits are their mean). ``tiny`` is a few-thousand-weight
stand-in with the same shape of graph, for tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["keras_module", "build_networks", "Networks"]


def keras_module(backend: str = "tensorflow") -> Any:
    """Import Keras on ``backend`` (set before the first import; later calls must agree)."""
    if "keras" not in sys.modules:  # the run's own choice wins over an inherited KERAS_BACKEND
        os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    if keras.backend.backend() != backend:
        raise ValueError(f"Keras already runs on {keras.backend.backend()}, not {backend}; "
                         "start a new process (KERAS_BACKEND)")
    return keras


class Networks:
    """``base`` (image → feature map), ``head`` (Dense) and ``model`` (image → logits)."""

    def __init__(self, base: Any, head: Any, model: Any) -> None:
        self.base, self.head, self.model = base, head, model


def build_networks(arch: str, height: int, width: int, num_classes: int, dropout: float,
                   weights: str | None, backend: str = "tensorflow") -> Networks:
    keras = keras_module(backend)
    if arch == "mobilenetv2":
        if weights is not None and not Path(weights).is_file():
            raise ValueError(f"backbone weights {weights}: file not found")
        base = keras.applications.MobileNetV2(input_shape=(height, width, 3), include_top=False,
                                              weights=weights)
    elif arch == "tiny":
        inputs = keras.Input((height, width, 3), name="input")
        x = inputs
        for filters in (8, 16):
            x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        base = keras.Model(inputs, x, name="tiny_backbone")
    else:
        raise ValueError(f"unknown architecture {arch!r}")
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9  # FACTS.md: 0.999 leaves stale statistics
    head = keras.layers.Dense(num_classes, name="classifier")
    inputs = keras.Input((height, width, 3), name="image")
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base(inputs))
    logits = head(keras.layers.Dropout(dropout, name="dropout")(pooled))
    return Networks(base, head, keras.Model(inputs, logits, name=f"skindesk_{arch}"))
