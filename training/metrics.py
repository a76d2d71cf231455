"""Evaluation figures and validated operating points, from labels and probability arrays.

Pure NumPy / scikit-learn, no TensorFlow and no images: ``classification_report`` (accuracy,
balanced accuracy, per-class precision/recall/F1, confusion matrix, one-vs-rest ROC AUC, the
melanoma-vs-rest operating point at >= 74 % sensitivity, top-label expected calibration error),
``fit_temperature`` (the calibration temperature that minimises validation NLL), ``wilson_interval``,
and the alert operating points of the model card: ``choose_threshold`` picks, for one flagged class,
the highest probability threshold whose sensitivity on the given data reaches a target (an alert
fires when probability >= threshold, as in ``skindesk.core.prediction``);
``operating_point_table`` does that for every flagged class and target on validation data,
``score_operating_points`` adds the figures those unchanged thresholds reach on other data (test
split, other clinics), and ``card_operating_points`` turns the table into the card's
``operating_points`` section. Every result is plain JSON-ready Python (floats, ints, lists, None).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MELANOMA",
    "READER_STUDY_SENSITIVITY",
    "DEFAULT_TARGETS",
    "classification_report",
    "expected_calibration_error",
    "reliability_bins",
    "binary_auc",
    "operating_point_at_sensitivity",
    "fit_temperature",
    "apply_temperature",
    "choose_threshold",
    "wilson_interval",
    "binary_figures",
    "operating_point_table",
    "score_operating_points",
    "card_operating_points",
    "default_sensitivities",
]

MELANOMA = "melanoma"
READER_STUDY_SENSITIVITY = 0.74  # 157 dermatologists: 74 % sensitivity at 60 % specificity
DEFAULT_TARGETS = (0.8, 0.85, 0.9, 0.95)
_Z95 = 1.959963984540054


# -- helpers -------------------------------------------------------------------------------
def _check_inputs(labels: Any, probabilities: Any, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities must be (n, classes); got shape {probabilities.shape}")
    if probabilities.shape[1] != len(class_names):
        raise ValueError(
            f"probabilities have {probabilities.shape[1]} columns for {len(class_names)} classes"
        )
    if labels.shape != (probabilities.shape[0],):
        raise ValueError(f"{labels.shape[0] if labels.ndim else 0} labels for {probabilities.shape[0]} rows")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in 0..{len(class_names) - 1}")
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities contain NaN or infinite values")
    return labels.astype(np.int64), probabilities


def _f(value: float | None) -> float | None:
    """A JSON-safe float (None for NaN / undefined)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def binary_auc(scores: Any, is_positive: Any) -> float | None:
    """ROC AUC of ``scores`` for the positive set (None when either side is empty)."""
    from sklearn.metrics import roc_auc_score

    is_positive = np.asarray(is_positive, dtype=bool)
    if is_positive.all() or not is_positive.any():
        return None
    return float(roc_auc_score(is_positive, np.asarray(scores, dtype=np.float64)))


# -- calibration ---------------------------------------------------------------------------
def reliability_bins(labels: Any, probabilities: Any, bins: int = 15) -> list[dict[str, Any]]:
    """Top-label reliability: per equal-width confidence bin, count, mean confidence, accuracy."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    # Bin i holds (i/bins, (i+1)/bins]; confidence 0 (impossible for a softmax) goes to bin 0.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    result = []
    for i in range(bins):
        mask = index == i
        count = int(mask.sum())
        result.append(
            {
                "lower": i / bins,
                "upper": (i + 1) / bins,
                "count": count,
                "confidence": float(confidence[mask].mean()) if count else None,
                "accuracy": float(correct[mask].mean()) if count else None,
            }
        )
    return result


def expected_calibration_error(labels: Any, probabilities: Any, bins: int = 15) -> float:
    """Top-label ECE: sum over bins of |accuracy - mean confidence| weighted by the bin's share."""
    table = reliability_bins(labels, probabilities, bins)
    total = sum(b["count"] for b in table)
    if total == 0:
        raise ValueError("no samples to compute a calibration error on")
    return float(
        sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in table if b["count"])
    )


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(labels)), labels]))


def fit_temperature(
    logits: Any, labels: Any, bounds: tuple[float, float] = (0.05, 20.0)
) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) on (validation) ``labels``.

    ``logits`` may also be log-probabilities (``np.log(p)``): a constant per row does not change
    the softmax. The search runs over log T inside ``bounds`` (a coarse grid, then Brent's method
    in the best cell), so it cannot diverge; the result is clipped to ``bounds``.
    """
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    if logits.ndim != 2 or len(logits) == 0:
        raise ValueError(f"logits must be a non-empty (n, classes) array; got shape {logits.shape}")
    if labels.shape != (len(logits),) or labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError("labels must be one class index per row of logits")
    # log(0) = -inf probabilities: keep them very unlikely but finite.
    logits = np.where(np.isneginf(logits), -1e4, logits)
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or +inf")
    low, high = math.log(bounds[0]), math.log(bounds[1])
    grid = np.linspace(low, high, 61)
    losses = [_nll(logits, labels, math.exp(g)) for g in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    result = minimize_scalar(
        lambda g: _nll(logits, labels, math.exp(g)), bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-5},
    )
    log_t = float(result.x) if result.success and result.fun <= losses[best] else float(grid[best])
    return float(min(max(math.exp(log_t), bounds[0]), bounds[1]))


def apply_temperature(logits: Any, temperature: float) -> np.ndarray:
    """softmax(logits / temperature), row-wise."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


# -- thresholds and intervals --------------------------------------------------------------
def choose_threshold(scores_pos_vs_rest: Any, is_positive: Any, target_sensitivity: float) -> float:
    """The highest threshold t with sensitivity (share of positives with score >= t) >= target.

    That is the k-th highest positive score with k = ceil(target x positives); positives tied with
    it are all included (score >= t), so ties never push sensitivity below the target.

    Raises:
        ValueError: no positives, a target outside (0, 1], or scores of a different length.
    """
    scores = np.asarray(scores_pos_vs_rest, dtype=np.float64)
    is_positive = np.asarray(is_positive, dtype=bool)
    if scores.shape != is_positive.shape or scores.ndim != 1:
        raise ValueError("scores and is_positive must be 1-D arrays of the same length")
    if not 0.0 < target_sensitivity <= 1.0:
        raise ValueError(f"target sensitivity {target_sensitivity} is outside (0, 1]")
    positives = np.sort(scores[is_positive])[::-1]
    if len(positives) == 0:
        raise ValueError("no positive samples: a threshold cannot be validated")
    if not np.all(np.isfinite(positives)):
        raise ValueError("scores contain NaN or infinite values")
    k = max(1, math.ceil(target_sensitivity * len(positives) - 1e-9))
    return float(positives[k - 1])


def wilson_interval(successes: int, total: int, z: float = _Z95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (None when ``total`` is 0)."""
    if total == 0:
        return None
    if not 0 <= successes <= total:
        raise ValueError(f"{successes} successes out of {total}")
    p = successes / total
    denom = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binary_figures(scores: Any, is_positive: Any, threshold: float) -> dict[str, Any]:
    """Sensitivity, specificity, their Wilson 95 % intervals and counts at ``threshold``.

    An alert is ``score >= threshold``. Undefined figures (no positives or no negatives) are None.
    """
    scores = np.asarray(scores, dtype=np.float64)
    is_positive = np.asarray(is_positive, dtype=bool)
    alert = scores >= threshold
    positives, negatives = int(is_positive.sum()), int((~is_positive).sum())
    tp, tn = int((alert & is_positive).sum()), int((~alert & ~is_positive).sum())
    sens_ci, spec_ci = wilson_interval(tp, positives), wilson_interval(tn, negatives)
    return {
        "sensitivity": _ratio(tp, positives),
        "specificity": _ratio(tn, negatives),
        "sensitivity_ci": None if sens_ci is None else list(sens_ci),
        "specificity_ci": None if spec_ci is None else list(spec_ci),
        "positives": positives,
        "negatives": negatives,
        "true_positives": tp,
        "true_negatives": tn,
    }


def operating_point_at_sensitivity(
    scores: Any, is_positive: Any, target_sensitivity: float = READER_STUDY_SENSITIVITY
) -> dict[str, Any] | None:
    """Threshold chosen on this data for ``target_sensitivity`` and the figures it reaches here."""
    is_positive = np.asarray(is_positive, dtype=bool)
    if not is_positive.any():
        return None
    threshold = choose_threshold(scores, is_positive, target_sensitivity)
    return {"target_sensitivity": target_sensitivity, "threshold": threshold,
            **binary_figures(scores, is_positive, threshold)}


# -- the report ----------------------------------------------------------------------------
def classification_report(
    labels: Any,
    probabilities: Any,
    class_names: Sequence[str],
    *,
    positive_class: str = MELANOMA,
    reference_class: str = "nevus",
    target_sensitivity: float = READER_STUDY_SENSITIVITY,
    bins: int = 15,
) -> dict[str, Any]:
    """Every headline figure for predictions ``probabilities`` (n, C) against integer ``labels``.

    Balanced accuracy is the mean recall over classes present in ``labels`` (classes with no
    sample have recall None and are listed in ``absent_classes``). ``melanoma`` (for
    ``positive_class``; None when the class is unknown) holds its one-vs-rest AUC, the AUC against
    ``reference_class`` only (melanoma vs nevus), and the threshold chosen on THIS data to reach
    ``target_sensitivity`` with the sensitivity/specificity found there.
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    labels, probabilities = _check_inputs(labels, probabilities, class_names)
    n, n_classes = probabilities.shape
    if n == 0:
        raise ValueError("no samples to evaluate")
    predicted = probabilities.argmax(axis=1)
    index = list(range(n_classes))
    matrix = confusion_matrix(labels, predicted, labels=index)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=index, zero_division=0
    )
    predicted_count = matrix.sum(axis=0)
    per_class: dict[str, dict[str, Any]] = {}
    aucs: list[float] = []
    for i, name in enumerate(class_names):
        positive = labels == i
        auc = None
        if positive.any() and not positive.all():
            auc = float(roc_auc_score(positive, probabilities[:, i]))
            aucs.append(auc)
        per_class[name] = {
            "precision": float(precision[i]) if predicted_count[i] else None,
            "recall": float(recall[i]) if support[i] else None,
            "f1": float(f1[i]) if support[i] else None,
            "support": int(support[i]),
            "predicted": int(predicted_count[i]),
            "auc": auc,
        }
    recalls = [c["recall"] for c in per_class.values() if c["recall"] is not None]
    present_f1 = [c["f1"] for c in per_class.values() if c["f1"] is not None]
    report: dict[str, Any] = {
        "samples": int(n),
        "classes": list(class_names),
        "accuracy": float((predicted == labels).mean()),
        "balanced_accuracy": float(np.mean(recalls)),
        "macro_f1": float(np.mean(present_f1)),
        "min_recall": float(min(recalls)),
        "per_class": per_class,
        "confusion_matrix": matrix.astype(int).tolist(),
        "auc_macro": float(np.mean(aucs)) if aucs else None,
        "absent_classes": [name for name, c in per_class.items() if c["support"] == 0],
        "ece": expected_calibration_error(labels, probabilities, bins),
        "ece_bins": bins,
        "reliability": reliability_bins(labels, probabilities, bins),
        "mean_confidence": float(probabilities.max(axis=1).mean()),
        "melanoma": None,
    }
    if positive_class in class_names:
        i = list(class_names).index(positive_class)
        positive = labels == i
        scores = probabilities[:, i]
        block: dict[str, Any] = {
            "class": positive_class,
            "positives": int(positive.sum()),
            "negatives": int((~positive).sum()),
            "auc": binary_auc(scores, positive),
            "auc_vs_" + reference_class.replace(" ", "_"): None,
            "operating_point": operating_point_at_sensitivity(scores, positive, target_sensitivity),
            "top1_recall": per_class[positive_class]["recall"],
        }
        if reference_class in class_names:
            j = list(class_names).index(reference_class)
            pair = (labels == i) | (labels == j)
            block["auc_vs_" + reference_class.replace(" ", "_")] = binary_auc(
                scores[pair], positive[pair]
            )
        report["melanoma"] = block
    return report


# -- operating points ----------------------------------------------------------------------
def _source_masks(sources: Sequence[str | None] | None, n: int) -> dict[str, np.ndarray]:
    if sources is None:
        return {}
    values = np.array([s if s else "unknown" for s in sources], dtype=object)
    if len(values) != n:
        raise ValueError(f"{len(values)} sources for {n} samples")
    return {str(name): values == name for name in sorted(set(values.tolist()))}


def operating_point_table(
    labels: Any,
    probabilities: Any,
    class_names: Sequence[str],
    flagged: Sequence[str],
    targets: Sequence[float] = DEFAULT_TARGETS,
    sources: Sequence[str | None] | None = None,
    key: str = "validation",
) -> dict[str, Any]:
    """Thresholds chosen on this (validation) data for each flagged class and target sensitivity.

    Returns ``{"targets": [...], "key": key, "classes": {class: [row, ...]}, "skipped": {class:
    reason}}``; each row is ``{"target_sensitivity", "threshold", key: figures, "per_source":
    {source: {key: figures}}}`` with figures from ``binary_figures`` (Wilson 95 % intervals).
    Rows are sorted by target; thresholds never rise as the target rises. A flagged class with no
    positive sample here cannot be validated and is listed in ``skipped``.
    """
    labels, probabilities = _check_inputs(labels, probabilities, class_names)
    targets = sorted({float(t) for t in targets})
    masks = _source_masks(sources, len(labels))
    table: dict[str, Any] = {"targets": targets, "key": key, "classes": {}, "skipped": {}}
    for name in flagged:
        if name not in class_names:
            table["skipped"][name] = "not one of the model's classes"
            continue
        i = list(class_names).index(name)
        positive, scores = labels == i, probabilities[:, i]
        if not positive.any():
            table["skipped"][name] = f"no {name} images in the {key} data"
            continue
        rows = []
        for target in targets:
            threshold = choose_threshold(scores, positive, target)
            rows.append(
                {
                    "target_sensitivity": target,
                    "threshold": threshold,
                    key: binary_figures(scores, positive, threshold),
                    "per_source": {
                        source: {key: binary_figures(scores[mask], positive[mask], threshold)}
                        for source, mask in masks.items()
                    },
                }
            )
        table["classes"][name] = rows
    return table


def score_operating_points(
    table: Mapping[str, Any],
    labels: Any,
    probabilities: Any,
    class_names: Sequence[str],
    sources: Sequence[str | None] | None = None,
    key: str = "test",
) -> dict[str, Any]:
    """A copy of ``table`` with the figures its unchanged thresholds reach on other data.

    Each row gains ``key`` (e.g. ``test``) and ``per_source[source][key]``. Thresholds are never
    changed. Also accepts a card's ``operating_points`` section (``{"classes": {...}}``).
    """
    labels, probabilities = _check_inputs(labels, probabilities, class_names)
    masks = _source_masks(sources, len(labels))
    result = {k: v for k, v in table.items() if k != "classes"}
    result["classes"] = {}
    for name, rows in table.get("classes", {}).items():
        if name not in class_names:
            raise ValueError(f"operating points for {name!r}, which is not one of the classes")
        i = list(class_names).index(name)
        positive, scores = labels == i, probabilities[:, i]
        new_rows = []
        for row in rows:
            row = dict(row)
            threshold = float(row["threshold"])
            row[key] = binary_figures(scores, positive, threshold)
            per_source = {s: dict(v) for s, v in dict(row.get("per_source") or {}).items()}
            for source, mask in masks.items():
                per_source.setdefault(source, {})[key] = binary_figures(
                    scores[mask], positive[mask], threshold
                )
            row["per_source"] = per_source
            new_rows.append(row)
        result["classes"][name] = new_rows
    return result


def default_sensitivities(class_names: Sequence[str], melanoma: float = 0.9, others: float = 0.85) -> dict[str, float]:
    """The issue's defaults: 90 % for melanoma, 85 % for every other flagged class."""
    return {name: (melanoma if name == MELANOMA else others) for name in class_names}


def card_operating_points(
    table: Mapping[str, Any], default: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """The model card's ``operating_points`` section from a (scored) table.

    ``default`` maps class to its default target sensitivity (missing classes: melanoma 0.9,
    others 0.85); when a class's table lacks that target, the nearest target it has is used.
    Rows carry ``target_sensitivity``, ``threshold``, ``validation``, ``test`` (when scored) and
    ``per_source`` (``{source: {"validation": ..., "test": ...}}``).

    Raises:
        ValueError: the table is not valid for a card (threshold outside 0-1, thresholds rising or
            validated sensitivity falling as the target rises, no validation figures).
    """
    classes = dict(table.get("classes", {}))
    key = table.get("key", "validation")
    wanted = default_sensitivities(list(classes))
    wanted.update({k: float(v) for k, v in (default or {}).items() if k in classes})
    out_classes: dict[str, list[dict[str, Any]]] = {}
    defaults: dict[str, float] = {}
    for name, rows in classes.items():
        rows = sorted(rows, key=lambda r: float(r["target_sensitivity"]))
        out_rows = []
        for row in rows:
            validation = row.get("validation") if "validation" in row else row.get(key)
            if not validation or validation.get("sensitivity") is None:
                raise ValueError(f"operating point for {name} has no validation figures")
            threshold = float(row["threshold"])
            if not 0.0 <= threshold <= 1.0:
                raise ValueError(f"threshold {threshold} for {name} is outside 0-1")
            per_source = {}
            for source, figures in dict(row.get("per_source") or {}).items():
                figures = dict(figures)
                if key != "validation" and key in figures:
                    figures["validation"] = figures.pop(key)
                per_source[source] = figures
            out_row = {
                "target_sensitivity": float(row["target_sensitivity"]),
                "threshold": threshold,
                "validation": dict(validation),
                "test": dict(row.get("test") or {}),
                "per_source": per_source,
            }
            for extra in ("validation_rescaled",):  # further views scored with the same threshold
                if row.get(extra):
                    out_row[extra] = dict(row[extra])
            out_rows.append(out_row)
        for lower, higher in zip(out_rows, out_rows[1:]):
            if higher["threshold"] > lower["threshold"]:
                raise ValueError(f"{name}: threshold rises as target sensitivity rises")
            if higher["validation"]["sensitivity"] < lower["validation"]["sensitivity"]:
                raise ValueError(f"{name}: validated sensitivity falls as the threshold falls")
        if not out_rows:
            continue
        out_classes[name] = out_rows
        targets = [r["target_sensitivity"] for r in out_rows]
        defaults[name] = min(targets, key=lambda t: (abs(t - wanted[name]), -t))
    return {"default_sensitivity": defaults, "classes": out_classes}
