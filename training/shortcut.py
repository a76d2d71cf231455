"""Does the model key on the source instead of the lesion? Measured on an exported ONNX model.

- ``source_probe``: AUC of a logistic regression predicting the source from the model's pooled
  features (grouped by lesion, 5-fold cross-validation, one-vs-rest macro over sources).
- ``source_leakage``: HAM10000 test images other than benign keratoses whose top class is
  seborrheic keratosis (a class HAM10000 does not have); isic2017 test images whose top class is
  none of melanoma, nevus and the keratoses.
- ``invariance``: how far balanced accuracy and melanoma AUC move when the test images are
  re-encoded (JPEG 50/75/95), rescaled (x0.5, x2) or shifted in illuminant.
- ``leave_one_source_out``: melanoma-vs-nevus AUC of a logistic-regression probe on pooled
  features, fitted on the other sources' training images, scored on the held-out source's test
  images: the best proxy here for another dermatoscope.
- ``per_skin_tone``: balanced accuracy and melanoma AUC per recorded skin-tone class (MILK10k).
Models exported before the ``features`` output existed are read through the input of their
linear head (the feature map, averaged here).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from skindesk.core.modelcard import read_model
from skindesk.core.preprocess import preprocess

from . import metrics as M
from .augment import jpeg

__all__ = ["shortcut_report", "melanoma_probe", "OnnxFeatures", "VIEWS"]


def _illuminant(image: Image.Image, gains: tuple[float, float, float]) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float32) * np.array(gains, np.float32)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


VIEWS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "original": lambda im: im,
    "jpeg 50": lambda im: jpeg(im, 50),
    "jpeg 75": lambda im: jpeg(im, 75),
    "jpeg 95": lambda im: jpeg(im, 95),
    "x0.5": lambda im: im.resize((max(8, im.width // 2), max(8, im.height // 2)), Image.Resampling.BILINEAR),
    "x2": lambda im: jpeg(im.resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC), 92),
    "warm illuminant": lambda im: _illuminant(im, (1.12, 1.0, 0.85)),
    "cool illuminant": lambda im: _illuminant(im, (0.88, 1.0, 1.12)),
}


class OnnxFeatures:
    """Probabilities and pooled features of an exported model, through onnxruntime."""

    def __init__(self, path: str | Path) -> None:
        import onnx
        import onnxruntime as ort

        self.card, _, _ = read_model(path)
        proto = onnx.load(str(path))
        outputs = [o.name for o in proto.graph.output]
        self.pool_here = "features" not in outputs
        feature = "features" if not self.pool_here else _head_input(proto, self.card.cam_output)
        if self.pool_here:
            proto.graph.output.append(onnx.helper.make_tensor_value_info(feature, onnx.TensorProto.FLOAT, None))
        buffer = io.BytesIO()
        onnx.save_model(proto, buffer)
        options = ort.SessionOptions()
        self.session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
        self.names = [self.card.probabilities_output, feature]
        self.spec = self.card.preprocessing

    def run(self, images: list[Image.Image], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        probs, feats = [], []
        for start in range(0, len(images), batch):
            x = np.stack([preprocess(im, self.spec) for im in images[start:start + batch]])
            p, f = self.session.run(self.names, {self.card.input_name: x})
            probs.append(p)
            if self.pool_here:  # a feature map, possibly flattened to (n * positions, channels)
                f = f.reshape(len(x), -1, f.shape[-1]).mean(axis=1)
            feats.append(f)
        return np.concatenate(probs), np.concatenate(feats)


def _head_input(proto: Any, cam_output: str | None) -> str:
    """The feature map that the linear head reads (walk back from the CAM output to a MatMul)."""
    producers = {out: node for node in proto.graph.node for out in node.output}
    name = cam_output
    for _ in range(20):
        node = producers.get(name)
        if node is None:
            break
        if node.op_type in ("MatMul", "Conv", "Gemm"):
            return node.input[0]
        name = node.input[0]
    raise ValueError("cannot find the model's pooled features (no 'features' output and no "
                     "linear head behind the class activation maps)")


def _skin_tones(pool: Any) -> dict[str, str]:
    labels = Path(pool.records[0].path).parent.parent / "labels.csv" if pool.records else None
    if labels is None or not labels.exists():
        return {}
    with open(labels, newline="", encoding="utf-8") as handle:
        return {row["image"]: row.get("skin_tone_class") or "" for row in csv.DictReader(handle)}


def _bma_auc(labels: np.ndarray, probs: np.ndarray, names: list[str]) -> tuple[float, float | None]:
    present = np.unique(labels)
    bma = float(np.mean([np.mean(probs[labels == c].argmax(1) == c) for c in present]))
    mel = names.index("melanoma") if "melanoma" in names else None
    auc = None if mel is None else M.binary_auc(probs[:, mel], labels == mel)
    return bma, auc


def melanoma_probe(train_x: np.ndarray, train_melanoma: np.ndarray, test_x: np.ndarray) -> np.ndarray:
    """The leave-one-source-out probe: melanoma scores for ``test_x`` from a logistic regression
    (standardised features, C=0.01, balanced) fitted on ``train_x``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(train_x)
    probe = LogisticRegression(C=0.01, max_iter=3000, class_weight="balanced")
    probe.fit(scaler.transform(train_x), train_melanoma)
    return probe.predict_proba(scaler.transform(test_x))[:, 1]


def shortcut_report(model_path: str | Path, pool: Any, log: Callable[[str], None] = print,
                    views: tuple[str, ...] = tuple(VIEWS)) -> dict[str, Any]:
    """All the checks above, for the run's ``pool`` (records, split, class names)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.preprocessing import StandardScaler

    model = OnnxFeatures(model_path)
    names = list(model.card.class_names)
    index = {n: i for i, n in enumerate(names)}
    test = [r for r in pool.split["test"] if r.label in index]
    train = [r for r in pool.split["train"] if r.label in index]
    y_test = np.array([index[r.label] for r in test])
    test_images = [pool.image(r) for r in test]
    report: dict[str, Any] = {"images": len(test)}

    per_view = {}
    for view in views:
        probs, feats = model.run([VIEWS[view](im) for im in test_images])
        if view == "original":
            original_probs, test_feats = probs, feats
        per_view[view] = _bma_auc(y_test, probs, names)
    base_bma, base_auc = per_view["original"]
    report["invariance"] = {
        view: {"balanced_accuracy": bma, "melanoma_auc": auc,
               "balanced_accuracy_change": bma - base_bma,
               "melanoma_auc_change": None if auc is None or base_auc is None else auc - base_auc}
        for view, (bma, auc) in per_view.items()}
    report["invariance_worst_balanced_accuracy_change"] = max(
        abs(v["balanced_accuracy_change"]) for v in report["invariance"].values())

    sources = np.array([r.source or "unknown" for r in test])
    groups = np.array([r.group for r in test])
    kinds = sorted(str(s) for s in set(sources))
    folds = min(5, len(set(groups)))
    if len(kinds) > 1 and folds >= 2:
        aucs = []
        for kind in kinds:
            target = sources == kind
            scores = np.zeros(len(test))
            for fit_idx, score_idx in GroupKFold(folds).split(test_feats, target, groups):
                scaler = StandardScaler().fit(test_feats[fit_idx])
                probe = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced")
                probe.fit(scaler.transform(test_feats[fit_idx]), target[fit_idx])
                scores[score_idx] = probe.predict_proba(scaler.transform(test_feats[score_idx]))[:, 1]
            aucs.append(M.binary_auc(scores, target) or 0.5)
        report["source_probe_auc"] = {"macro": float(np.mean(aucs)),
                                      **{k: a for k, a in zip(kinds, aucs)},
                                      "method": "logistic regression on pooled features, "
                                                "5-fold grouped by lesion, test split"}

    top = np.array([names[i] for i in original_probs.argmax(1)])
    labels = np.array([r.label for r in test])
    leak: dict[str, Any] = {}
    ham = (sources == "ham10000") & ~np.isin(labels, ["pigmented benign keratosis", "seborrheic keratosis"])
    if ham.any():
        leak["ham10000_top_seborrheic_keratosis"] = float((top[ham] == "seborrheic keratosis").mean())
    isic = sources == "isic2017"
    if isic.any():
        allowed = ["melanoma", "nevus", "seborrheic keratosis", "pigmented benign keratosis"]
        leak["isic2017_top_outside_its_classes"] = float((~np.isin(top[isic], allowed)).mean())
    report["source_leakage"] = leak

    if "melanoma" in index and "nevus" in index:
        mn_train = [r for r in train if r.label in ("melanoma", "nevus")]
        _, train_feats = model.run([pool.image(r) for r in mn_train])
        train_sources = np.array([r.source or "unknown" for r in mn_train])
        train_mel = np.array([r.label == "melanoma" for r in mn_train])
        mn_test = np.isin(labels, ["melanoma", "nevus"])
        loso = {}
        for kind in kinds:
            fit = train_sources != kind
            score = mn_test & (sources == kind)
            if len(set(train_mel[fit])) < 2 or len(set(labels[score])) < 2:
                continue
            s = melanoma_probe(train_feats[fit], train_mel[fit], test_feats[score])
            loso[kind] = {"melanoma_vs_nevus_auc": M.binary_auc(s, labels[score] == "melanoma"),
                          "test_images": int(score.sum())}
        report["leave_one_source_out"] = loso

    tones = _skin_tones(pool)
    tone_of = np.array([tones.get(r.name, "") for r in test])
    per_tone = {}
    for tone in sorted(set(tone_of) - {""}):
        mask = tone_of == tone
        if mask.sum() >= 20:
            bma, auc = _bma_auc(y_test[mask], original_probs[mask], names)
            per_tone[tone] = {"images": int(mask.sum()), "balanced_accuracy": bma, "melanoma_auc": auc}
    report["per_skin_tone"] = per_tone
    if "seborrheic keratosis" in index and "pigmented benign keratosis" in index:
        ker = (sources == "milk10k") & np.isin(labels, ["seborrheic keratosis", "pigmented benign keratosis"])
        if ker.any():
            pair = original_probs[ker][:, [index["seborrheic keratosis"], index["pigmented benign keratosis"]]]
            truth = labels[ker] == "seborrheic keratosis"
            report["keratoses_milk10k"] = {
                "images": int(ker.sum()),
                "seborrheic_vs_pigmented_auc": M.binary_auc(pair[:, 0] - pair[:, 1], truth),
                "pair_accuracy": float(np.mean((pair[:, 0] > pair[:, 1]) == truth))}
    log(f"shortcut checks: probe {report.get('source_probe_auc', {}).get('macro')}, leakage "
        f"{leak}, LOSO {report.get('leave_one_source_out')}, worst invariance change "
        f"{report['invariance_worst_balanced_accuracy_change']:.3f}")
    return report
