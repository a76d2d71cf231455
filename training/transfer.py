"""The model SkinDesk ships: ImageNet MobileNetV2, a linear head on pooled features, fine-tuned top.

Practical on two CPU cores because the backbone is cut in two at ``CUT_LAYER`` (7x7x160): the lower
part is frozen and runs once per image view (``features.cache_views``); the upper part (blocks
14-16 and the last 1x1 convolution, 1.5 M parameters) and the head train on the cached tensors.
Steps: cache views → warm up the head on pooled features (a frozen-feature baseline) → fine-tune
the top blocks with the head (best epoch by validation balanced accuracy, clean and rescaled) →
temperature calibration, out-of-distribution threshold and alert operating points on validation →
ONNX export with parity check and model card → evaluation on the untouched test split.

The head is linear on globally averaged features, so class activation maps are exact:
CAM = features @ W + b per position, and logits are their mean.
"""

from __future__ import annotations

import json
import os
import time
from argparse import Namespace
from pathlib import Path
from typing import Any

import numpy as np

from skindesk.core.preprocess import Preprocessing

from .data import Record, load_dataset
from .progress import format_seconds

__all__ = ["CUT_LAYER", "PREPROCESSING", "build_backbone", "build_model", "train"]

CUT_LAYER = "block_13_project_BN"
PREPROCESSING = Preprocessing(
    height=224, width=224, resize="bilinear", fit="squash", value_range=(-1.0, 1.0),
    channel_order="RGB", canonical_area=200 * 150,
)


def _keras():  # noqa: ANN202 - TensorFlow is imported only when training
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def build_backbone(image_size: int = 224, weights: str | None = None):  # noqa: ANN201
    """MobileNetV2 (alpha 1.0) without top; BatchNorm momentum 0.9 (FACTS.md)."""
    keras = _keras()
    if weights is not None and not Path(weights).is_file():
        raise ValueError(f"backbone weights {weights}: file not found")
    base = keras.applications.MobileNetV2(
        input_shape=(image_size, image_size, 3), include_top=False, weights=weights
    )
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    return base


def build_head(num_classes: int, l2: float = 1e-4):  # noqa: ANN201
    keras = _keras()
    return keras.layers.Dense(num_classes, name="classifier",
                              kernel_regularizer=keras.regularizers.L2(l2))


def build_model(num_classes: int, image_size: int = 224, weights: str | None = None,
                dropout: float = 0.3):  # noqa: ANN201
    """The trainable image → logits model (for ``skindesk-train summary``)."""
    keras = _keras()
    base = build_backbone(image_size, weights)
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(base.output)
    pooled = keras.layers.Dropout(dropout, name="dropout")(pooled)
    logits = build_head(num_classes)(pooled)
    return keras.Model(base.input, logits, name="skindesk_mobilenetv2")


def inference_model(base, head, temperature: float):  # noqa: ANN001, ANN201
    """Image → (probabilities, class_activation_maps, ood_score): the exported graph."""
    keras = _keras()
    from keras import ops

    features = base.output
    cams = head(features)  # Dense on (N, h, w, 1280) → (N, h, w, C)
    logits = keras.layers.Lambda(lambda t: ops.mean(t, axis=(1, 2)), name="logits")(cams)
    probabilities = keras.layers.Lambda(
        lambda t: ops.softmax(t / temperature, axis=-1), name="probabilities")(logits)
    ood = keras.layers.Lambda(lambda t: -ops.logsumexp(t, axis=-1), name="ood_score")(logits)
    cams = keras.layers.Identity(name="class_activation_maps")(cams)
    return keras.Model(base.input, [probabilities, cams, ood], name="skindesk_inference")


# -- training -----------------------------------------------------------------------------
def _class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1))
    return weights / weights[labels].mean()


def _balanced_accuracy(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    recalls = [np.mean(predicted[labels == c] == c) for c in range(num_classes) if np.any(labels == c)]
    return float(np.mean(recalls))


def train(args: Namespace) -> int:
    """``skindesk-train train --arch mobilenetv2``: the whole pipeline (see module docstring)."""
    from .pipeline import TransferRun

    return TransferRun(args).run()
