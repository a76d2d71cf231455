"""The image gate: "is this a dermoscopic image of a skin lesion?", built for every exported model.

On the model's pooled features the gate takes the largest of a few standardised signals (each
scaled so training dermoscopy has mean 0 and standard deviation 1), so any one can flag an image:
- one linear direction per kind of negative, each learnt against training dermoscopy: clinical
  close-ups of the same lesions (split by lesion with the dermoscopic rows) and generated images
  of every other kind (``negatives.py``). One direction per kind, because a single direction
  against all negatives learns mostly the easy, generated ones;
- optionally the class-conditional Mahalanobis distance (shared, shrunk covariance; Lee et al.
  2018). Off by default: on model 2.0's fine-tuned features it caught no junk the directions
  missed and flagged 22-33 % of a training source held out of the fit (resources/models/notes.md,
  ``skindesk-train gate-study``); model 1.0's gate still uses it.
The result is the exported ``ood_score`` output (higher: less like dermoscopy). Thresholds are
chosen on validation dermoscopy (original and re-encoded/rescaled views) for a few false-flag
rates; the middle one is the default and the others are the limits a clinic may choose from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Gate", "fit_gate", "gate_layers", "STRICTNESS"]

# Share of validation dermoscopy each strictness level may flag (false flags).
STRICTNESS = {"lenient": 0.002, "standard": 0.005, "strict": 0.02}


@dataclass
class Gate:
    """The fitted gate, as plain arrays (exported as graph layers by ``gate_layers``)."""

    whiten: np.ndarray  # (D, K): x @ whiten whitens the shared covariance's top K directions (K=0: no distance)
    class_means: np.ndarray  # (C, K) in the whitened space
    linear_w: np.ndarray  # (D, L) on raw pooled features: the standardised learnt directions
    bias: np.ndarray  # (L,)
    distance_scale: float  # standardised distance = scale * log(1 + d_min / D) + shift
    distance_shift: float
    dims: int

    def __post_init__(self) -> None:  # gates saved with one direction stored it as (D,) and a float
        self.linear_w = np.asarray(self.linear_w, np.float64).reshape(self.dims, -1)
        self.bias = np.asarray(self.bias, np.float64).reshape(-1)

    @property
    def has_distance(self) -> bool:
        return self.whiten.shape[1] > 0

    def save(self, path: Path) -> None:
        np.savez(path, whiten=self.whiten, class_means=self.class_means, linear_w=self.linear_w,
                 bias=self.bias, scalars=np.array([0.0, self.distance_scale, self.distance_shift, self.dims]))

    @classmethod
    def load(cls, path: Path) -> Gate:
        with np.load(path) as data:
            old_bias, scale, shift, dims = data["scalars"]
            bias = data["bias"] if "bias" in data.files else np.array([old_bias])
            return cls(data["whiten"], data["class_means"], data["linear_w"], bias,
                       float(scale), float(shift), int(dims))

    def distances(self, features: np.ndarray) -> np.ndarray:
        t = features @ self.whiten
        d = ((t[:, None, :] - self.class_means[None]) ** 2).sum(-1)
        return np.log1p(d.min(1) / self.dims)

    def score(self, features: np.ndarray) -> np.ndarray:
        learnt = (features @ self.linear_w + self.bias).max(axis=1)
        if not self.has_distance:
            return learnt
        return np.maximum(learnt, self.distance_scale * self.distances(features) + self.distance_shift)


def _direction(in_features: np.ndarray, negatives: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    """A logistic-regression direction (weights on raw features, bias), standardised on ``in``."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([in_features, negatives])
    y = np.concatenate([np.zeros(len(in_features)), np.ones(len(negatives))])
    mean, std = x.mean(0), x.std(0) + 1e-6
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit((x - mean) / std, y)
    w = model.coef_[0] / std
    b = float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())
    learnt = in_features @ w + b
    l_mean, l_std = float(learnt.mean()), float(learnt.std() + 1e-6)
    return w / l_std, (b - l_mean) / l_std


def fit_gate(in_features: np.ndarray, in_labels: np.ndarray,
             negatives: np.ndarray | Sequence[np.ndarray], c: float = 3.0, distance: bool = False,
             components: int | None = None) -> Gate:
    """Fit on pooled features of training dermoscopy (with class labels) and of negatives.

    ``negatives``: one array per learnt direction (one array: one direction). ``distance`` adds the
    Mahalanobis distance, over the shared covariance's top ``components`` directions (None: all).
    Chosen with ``skindesk-train gate-study`` on model 2.0 (resources/models/notes.md): two
    directions (clinical, generated), C = 3, no distance.
    """
    from sklearn.covariance import LedoitWolf

    groups = [negatives] if isinstance(negatives, np.ndarray) else [g for g in negatives if len(g)]
    dims = in_features.shape[1]
    directions = [_direction(in_features, group, c) for group in groups]
    w = np.stack([d[0] for d in directions], axis=1)
    b = np.array([d[1] for d in directions])
    if not distance:
        return Gate(np.zeros((dims, 0)), np.zeros((1, 0)), w, b, 0.0, 0.0, dims)
    classes = np.unique(in_labels)
    means = np.stack([in_features[in_labels == k].mean(0) for k in classes])
    centred = in_features - means[np.searchsorted(classes, in_labels)]
    values, vectors = np.linalg.eigh(LedoitWolf().fit(centred).covariance_)
    top = np.argsort(values)[::-1][:min(components or dims, dims)]
    whiten = vectors[:, top] / np.sqrt(values[top])  # d = |(x - mu) W|^2 in that subspace
    partial = Gate(whiten, means @ whiten, w, b, 1.0, 0.0, dims)
    d = partial.distances(in_features)
    d_mean, d_std = float(d.mean()), float(d.std() + 1e-6)
    return Gate(whiten, means @ whiten, w, b, 1.0 / d_std, -d_mean / d_std, dims)


def thresholds(gate_scores: np.ndarray) -> dict[str, float]:
    """The score above which each strictness level flags an image."""
    return {name: float(np.quantile(gate_scores, 1 - rate)) for name, rate in STRICTNESS.items()}


def gate_layers(keras: Any, pooled: Any, gate: Gate) -> Any:
    """The gate as Keras layers on ``pooled`` (N, D) → (N,) logit, for the exported graph."""
    from keras import ops

    linear = keras.layers.Dense(gate.linear_w.shape[1], name="gate_linear", trainable=False)
    lin = linear(pooled)
    linear.set_weights([gate.linear_w.astype(np.float32), gate.bias.astype(np.float32)])
    if not gate.has_distance:
        return keras.layers.Lambda(lambda x: ops.max(x, axis=-1), name="ood_score")(lin)
    whiten = keras.layers.Dense(gate.whiten.shape[1], use_bias=False, name="gate_whiten",
                                trainable=False)
    t = whiten(pooled)
    whiten.set_weights([gate.whiten.astype(np.float32)])
    means = gate.class_means.astype(np.float32)
    cross = keras.layers.Dense(len(means), name="gate_cross", trainable=False)
    ct = cross(t)
    cross.set_weights([(-2.0 * means.T).astype(np.float32), (means**2).sum(1).astype(np.float32)])
    distance = keras.layers.Lambda(
        lambda pair: ops.log(1.0 + ops.maximum(
            ops.min(pair[1], axis=-1) + ops.sum(pair[0] * pair[0], axis=-1), 0.0) / gate.dims),
        name="gate_distance")([t, ct])
    return keras.layers.Lambda(
        lambda pair: ops.maximum(ops.max(pair[0], axis=-1), gate.distance_scale * pair[1] + gate.distance_shift),
        name="ood_score")([lin, distance])
