"""``skindesk-train evaluate``: score an ONNX model on labelled images the way the app runs it.

Images go through skindesk's own ``Classifier`` (``load_image`` → ``preprocess`` → onnxruntime,
in batches), so the figures are those a clinic would see. The split is the one the model was
trained with: ``--split-file``, else a split file saved next to the model, else recomputed with
``grouped_split`` from the card's ``training_data.split`` (``seed``, ``fractions``, optional
``excluded`` image names), else the data's own split column/folders; ``all`` takes every image
(external data). ``--rescale WxH`` first resizes each image to that size and re-encodes it as JPEG
(images from other cameras and larger originals, FACTS.md). Results: ``metrics.json`` (everything
from ``training.metrics.classification_report``, overall and per source, the operating-point table
chosen on this data, the card's own thresholds scored on this data, the issue goals), PNG plots
(confusion matrix, ROC, reliability diagram, training curves from a history JSON) and a readable
summary. ``evaluate_arrays`` and ``evaluate_model`` are the library entry points.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import metrics as M
from .data import Record, load_dataset, normalise_label
from .splits import grouped_split, load_split

__all__ = [
    "SPLITS",
    "EvaluationResult",
    "parse_size",
    "select_split",
    "predict_records",
    "evaluate_arrays",
    "evaluate_model",
    "goals",
    "load_history",
    "find_history",
    "plot_confusion_matrix",
    "plot_roc_curves",
    "plot_reliability",
    "plot_training_curves",
    "write_outputs",
    "format_summary",
    "add_parser",
    "run",
]

SPLITS = ("test", "validation", "train", "all")
_SPLIT_ALIASES = {"val": "validation", "valid": "validation"}
_SPLIT_FILE_NAMES = ("split.json", "{stem}_split.json", "{stem}.split.json")
_HISTORY_FILE_NAMES = ("history.json", "{stem}_history.json", "{stem}.history.json",
                       "training_history.json")


@dataclass
class EvaluationResult:
    """Arrays and the JSON-ready report of one evaluation."""

    report: dict[str, Any]
    labels: np.ndarray
    probabilities: np.ndarray
    class_names: tuple[str, ...]
    names: list[str] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


# -- inputs --------------------------------------------------------------------------------
def parse_size(text: str) -> tuple[int, int]:
    """``'800x600'`` → (800, 600). Raises ValueError for anything else."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 800x600") from None
    if not (8 <= width <= 20000 and 8 <= height <= 20000):
        raise ValueError(f"size {text!r} must be between 8 and 20000 pixels per side")
    return width, height


def _card_split(card_raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    split = (card_raw.get("training_data") or {}).get("split")
    return split if isinstance(split, Mapping) else None


def select_split(
    records: list[Record],
    split: str,
    *,
    split_file: str | Path | None = None,
    card_raw: Mapping[str, Any] | None = None,
    model_path: str | Path | None = None,
) -> tuple[list[Record], str]:
    """The records of ``split`` and a sentence saying where that split came from.

    Raises:
        ValueError: unknown split name, a split file that does not fit the data or lacks the split.
    """
    split = _SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if split == "all":
        return list(records), "all images"
    if split_file is not None:
        split_file = Path(split_file)
        if not split_file.is_file():
            raise ValueError(f"{split_file}: split file not found")
        parts = _named_split(load_split(records, split_file), split, split_file)
        return parts, f"split file {split_file}"
    notes = []
    if model_path is not None:
        model_path = Path(model_path)
        for pattern in _SPLIT_FILE_NAMES:
            candidate = model_path.parent / pattern.format(stem=model_path.stem)
            if candidate.is_file():
                try:
                    return (_named_split(load_split(records, candidate), split, candidate),
                            f"split file {candidate} (saved with the model)")
                except (ValueError, KeyError, json.JSONDecodeError) as error:
                    notes.append(f"ignored {candidate}: {error}")
    spec = _card_split(card_raw or {})
    if spec is not None:
        seed = int(spec.get("seed", 42))
        fractions = spec.get("fractions")
        if fractions is None and all(k in spec for k in ("train", "validation", "test")):
            fractions = [spec["train"], spec["validation"], spec["test"]]
        fractions = tuple(float(f) for f in (fractions or (0.7, 0.15, 0.15)))
        excluded = set(spec.get("excluded") or ())
        kept = [r for r in records if r.name not in excluded]
        parts = grouped_split(kept, fractions, seed)[split]
        note = (f"recomputed from the model card (grouped_split seed {seed}, fractions "
                f"{'/'.join(f'{f:g}' for f in fractions)}, {len(records) - len(kept)} excluded)")
        return parts, "; ".join([note, *notes])
    if any(r.split for r in records):
        parts = [r for r in records if r.split == split]
        if not parts:
            present = sorted({r.split for r in records if r.split})
            raise ValueError(f"the data has no {split!r} images in its own split ({present})")
        return parts, "; ".join(["the data's own split column / folders", *notes])
    parts = grouped_split(records)[split]
    return parts, "; ".join(
        ["recomputed with grouped_split defaults (seed 42, 0.7/0.15/0.15): no split file and no "
         "split in the model card", *notes])


def _named_split(parts: Mapping[str, list[Record]], split: str, path: Path) -> list[Record]:
    for name, members in parts.items():
        if _SPLIT_ALIASES.get(name, name) == split:
            return members
    raise ValueError(f"{path}: has no {split!r} split (it has {', '.join(parts)})")


def _rescaled_file(path: Path, size: tuple[int, int], quality: int, folder: Path) -> Path:
    """Resize to ``size`` (LANCZOS down, BICUBIC up) and write as JPEG ``quality`` in ``folder``."""
    from PIL import Image

    from skindesk.core.imaging import load_image

    image = load_image(path)
    enlarge = size[0] * size[1] > image.size[0] * image.size[1]
    resample = Image.Resampling.BICUBIC if enlarge else Image.Resampling.LANCZOS
    image = image.resize(size, resample)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    target = folder / "rescaled.jpg"
    target.write_bytes(buffer.getvalue())
    return target


def predict_records(
    classifier: Any,
    records: Sequence[Record],
    *,
    batch_size: int = 32,
    rescale: tuple[int, int] | None = None,
    jpeg_quality: int = 90,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, list[int], list[dict[str, str]]]:
    """Probabilities (and OOD scores) for ``records`` through ``classifier`` (the app's path).

    Returns (probabilities (n, C), ood scores (n,) or None, indices of the records kept,
    skipped images as ``{"image", "problem"}``). Unreadable images are skipped, not fatal.
    """
    from skindesk.core.errors import ImageLoadError
    from skindesk.core.imaging import load_image

    card = classifier.card
    chunks, ood_chunks, kept, skipped = [], [], [], []
    batch: list[np.ndarray] = []
    batch_index: list[int] = []

    def flush() -> None:
        if not batch:
            return
        outputs = classifier.run(np.stack(batch))
        chunks.append(np.asarray(outputs[card.probabilities_output], dtype=np.float64))
        if card.ood_output and card.ood_output in outputs:
            ood_chunks.append(np.ravel(np.asarray(outputs[card.ood_output], dtype=np.float64)))
        kept.extend(batch_index)
        batch.clear()
        batch_index.clear()

    with tempfile.TemporaryDirectory(prefix="skindesk-eval-") as tmp:
        for i, record in enumerate(records):
            try:
                path = record.path
                if rescale is not None:
                    path = _rescaled_file(record.path, rescale, jpeg_quality, Path(tmp))
                image = load_image(path, draft_size=classifier.draft_size)
                batch.append(classifier.preprocess(image))
                batch_index.append(i)
            except ImageLoadError as error:
                skipped.append({"image": record.name, "problem": error.problem})
            except OSError as error:
                skipped.append({"image": record.name, "problem": f"cannot be processed ({error})"})
            if len(batch) >= batch_size:
                flush()
            if progress is not None:
                progress(i + 1, len(records))
        flush()
    n_classes = len(card.classes)
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, n_classes))
    ood = np.concatenate(ood_chunks) if ood_chunks and len(ood_chunks) == len(chunks) else None
    return probabilities, ood, kept, skipped


# -- figures -------------------------------------------------------------------------------
def _default_flagged(class_names: Sequence[str]) -> list[str]:
    from skindesk.core.classes import NINE_CLASSES

    flags = {name: malignant or premalignant for name, _, malignant, premalignant in NINE_CLASSES}
    return [name for name in class_names if flags.get(name, False)]


def evaluate_arrays(
    labels: Any,
    probabilities: Any,
    class_names: Sequence[str],
    *,
    flagged: Sequence[str] | None = None,
    sources: Sequence[str | None] | None = None,
    targets: Sequence[float] = M.DEFAULT_TARGETS,
    card_points: Mapping[str, Any] | None = None,
    sensitivity: float | None = None,
    data_key: str = "evaluation",
) -> dict[str, Any]:
    """The evaluation report for ready-made arrays (what training code calls).

    ``overall`` and ``per_source`` are ``classification_report``s; ``operating_points`` is the
    table whose thresholds are chosen on THIS data (figures under ``data_key``);
    ``card_operating_points`` (when ``card_points``, a card's ``operating_points`` section, is
    given) holds the card's unchanged thresholds scored on this data, and ``chosen`` the row of
    each class at ``sensitivity`` (None: the card's default); ``goals`` checks issues 4 and 10.
    """
    labels = np.asarray(labels).astype(np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    class_names = list(class_names)
    flagged = _default_flagged(class_names) if flagged is None else list(flagged)
    report: dict[str, Any] = {"overall": M.classification_report(labels, probabilities, class_names)}
    if sources is not None:
        values = np.array([s or "unknown" for s in sources], dtype=object)
        report["per_source"] = {
            str(source): M.classification_report(
                labels[values == source], probabilities[values == source], class_names
            )
            for source in sorted(set(values.tolist()))
        }
    logits = np.log(np.clip(probabilities, 1e-12, 1.0))
    report["calibration"] = {
        "ece": report["overall"]["ece"],
        "temperature_fitted_on_this_data": M.fit_temperature(logits, labels),
        "note": "a temperature far from 1 means the model is over- (<1: under-) confident here",
    }
    report["operating_points"] = M.operating_point_table(
        labels, probabilities, class_names, flagged, targets, sources, key=data_key
    )
    if card_points:
        scored = M.score_operating_points(
            card_points, labels, probabilities, class_names, sources, key=data_key
        )
        defaults = dict(card_points.get("default_sensitivity") or {})
        chosen = {}
        for name, rows in scored["classes"].items():
            target = sensitivity if sensitivity is not None else defaults.get(name)
            row = next((r for r in rows if target is not None
                        and abs(float(r["target_sensitivity"]) - target) < 1e-9), None)
            if row is None and rows:
                row = rows[len(rows) // 2]
            if row is not None:
                chosen[name] = {"target_sensitivity": row["target_sensitivity"],
                                "threshold": row["threshold"],
                                "validation": row.get("validation", {}),
                                data_key: row[data_key]}
        report["card_operating_points"] = scored
        report["chosen_operating_point"] = {"sensitivity": sensitivity, "key": data_key,
                                            "classes": chosen}
    report["goals"] = goals(report, data_key)
    return report


def goals(report: Mapping[str, Any], data_key: str = "evaluation") -> list[dict[str, Any]]:
    """The goals of issues 4 and 10 with the value reached here and whether it is met."""
    overall = report["overall"]
    melanoma = overall.get("melanoma") or {}
    point = melanoma.get("operating_point") or {}
    recalls = [c["recall"] for c in overall["per_class"].values() if c["recall"] is not None]
    rows = [
        ("balanced accuracy >= 0.80", overall["balanced_accuracy"], 0.80),
        ("accuracy >= 0.88", overall["accuracy"], 0.88),
        ("melanoma ROC AUC >= 0.95", melanoma.get("auc"), 0.95),
        ("melanoma specificity >= 0.90 at >= 74 % sensitivity", point.get("specificity"), 0.90),
        ("expected calibration error <= 0.03", overall["ece"], None),
        ("every class recall >= 0.60", min(recalls) if recalls else None, 0.60),
    ]
    chosen = (report.get("chosen_operating_point") or {}).get("classes", {})
    mel = (chosen.get("melanoma") or {}).get(data_key) or {}
    rows.append(("melanoma sensitivity >= 0.90 at the default operating point",
                 mel.get("sensitivity"), 0.90))
    rows.append(("melanoma specificity >= 0.65 at the default operating point",
                 mel.get("specificity"), 0.65))
    for name in ("basal cell carcinoma", "squamous cell carcinoma"):
        figures = (chosen.get(name) or {}).get(data_key) or {}
        rows.append((f"{name} sensitivity >= 0.85 at the default operating point",
                     figures.get("sensitivity"), 0.85))
    result = []
    for goal, value, minimum in rows:
        if value is None:
            met = None
        elif minimum is None:  # the one upper bound: ECE
            met = value <= 0.03
        else:
            met = value >= minimum
        result.append({"goal": goal, "value": value, "met": met})
    return result


def evaluate_model(
    classifier: Any,
    records: Sequence[Record],
    *,
    batch_size: int = 32,
    rescale: tuple[int, int] | None = None,
    jpeg_quality: int = 90,
    sensitivity: float | None = None,
    targets: Sequence[float] = M.DEFAULT_TARGETS,
    data_key: str = "evaluation",
    progress: Callable[[int, int], None] | None = None,
) -> EvaluationResult:
    """Run ``classifier`` (a ``skindesk.core.classifier.Classifier``) on ``records`` and report.

    Records whose label is not one of the model's classes, and unreadable images, are skipped
    and listed in ``report["skipped"]``.

    Raises:
        ValueError: no record could be evaluated.
    """
    card = classifier.card
    class_names = tuple(card.class_names)
    index = {normalise_label(name): i for i, name in enumerate(class_names)}
    usable, skipped = [], []
    for record in records:
        if normalise_label(record.label) in index:
            usable.append(record)
        else:
            skipped.append({"image": record.name,
                            "problem": f"label {record.label!r} is not one of the model's classes"})
    probabilities, ood, kept, unreadable = predict_records(
        classifier, usable, batch_size=batch_size, rescale=rescale, jpeg_quality=jpeg_quality,
        progress=progress,
    )
    skipped.extend(unreadable)
    if not kept:
        raise ValueError(f"no image could be evaluated ({len(skipped)} skipped)")
    used = [usable[i] for i in kept]
    labels = np.array([index[normalise_label(r.label)] for r in used], dtype=np.int64)
    sources = [r.source or "unknown" for r in used]
    flagged = [c.name for c in card.classes if c.flagged]
    card_points = (card.raw.get("operating_points") or None)
    report = evaluate_arrays(
        labels, probabilities, class_names, flagged=flagged, sources=sources, targets=targets,
        card_points=card_points, sensitivity=sensitivity, data_key=data_key,
    )
    report["model"] = {"path": str(classifier.model_path), "title": card.title,
                       "sha256": classifier.sha256, "provider": classifier.provider}
    report["data"] = {"images": len(used), "skipped": len(skipped), "rescale":
                      None if rescale is None else f"{rescale[0]}x{rescale[1]}",
                      "jpeg_quality": jpeg_quality if rescale else None,
                      "sources": {s: sources.count(s) for s in sorted(set(sources))}}
    if ood is not None and card.ood_threshold is not None:
        flags = ood >= card.ood_threshold
        values = np.array(sources, dtype=object)
        report["ood"] = {
            "threshold": card.ood_threshold,
            "share_out_of_distribution": float(flags.mean()),
            "per_source": {s: float(flags[values == s].mean()) for s in sorted(set(sources))},
        }
    report["skipped"] = skipped
    return EvaluationResult(report, labels, probabilities, class_names,
                            [r.name for r in used], sources, skipped)


# -- history and plots ---------------------------------------------------------------------
def find_history(model_path: str | Path) -> Path | None:
    """A training history JSON saved next to the model, if any."""
    model_path = Path(model_path)
    for pattern in _HISTORY_FILE_NAMES:
        candidate = model_path.parent / pattern.format(stem=model_path.stem)
        if candidate.is_file():
            return candidate
    return None


def load_history(path: str | Path) -> tuple[dict[str, list[float]], list[int]]:
    """Per-epoch series from a history JSON, and the epochs where a new phase starts.

    Accepts Keras' ``History.history`` (``{"loss": [...], "val_loss": [...], ...}``), the same
    under ``"history"``, a list of per-epoch dicts, or ``{"phases": [history, ...]}`` (head
    training, then fine-tuning), which is concatenated.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if isinstance(data, Mapping) and "history" in data:
        data = data["history"]
    phases = data.get("phases") if isinstance(data, Mapping) and "phases" in data else [data]
    series: dict[str, list[float]] = {}
    boundaries: list[int] = []
    length = 0
    for phase in phases:
        if isinstance(phase, Mapping) and "history" in phase:
            phase = phase["history"]
        if isinstance(phase, list):
            keys = sorted({k for row in phase for k in row if k != "epoch"})
            phase = {k: [row.get(k, math.nan) for row in phase] for k in keys}
        if not isinstance(phase, Mapping):
            raise ValueError(f"{path}: not a training history (expected metric → list of values)")
        phase_len = max((len(v) for v in phase.values() if isinstance(v, list)), default=0)
        if length:
            boundaries.append(length)
        for key, values in phase.items():
            if not isinstance(values, list):
                continue
            column = series.setdefault(key, [math.nan] * length)
            column.extend(float(v) if v is not None else math.nan for v in values)
            column.extend([math.nan] * (length + phase_len - len(column)))
        for column in series.values():
            column.extend([math.nan] * (length + phase_len - len(column)))
        length += phase_len
    if not series:
        raise ValueError(f"{path}: the training history is empty")
    return series, boundaries


def _figure(width: float, height: float):  # noqa: ANN202 - matplotlib Figure
    from matplotlib.figure import Figure  # Agg canvas; no pyplot, no global backend change

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _short(name: str) -> str:
    return "".join(w[0] for w in name.split()).upper() if len(name) > 12 else name


def plot_confusion_matrix(report: Mapping[str, Any], path: str | Path, title: str = "") -> Path:
    """Row-normalised confusion matrix with counts in each cell."""
    matrix = np.asarray(report["confusion_matrix"], dtype=float)
    names = report["classes"]
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = 2.5 + 0.7 * len(names)
    fig = _figure(size + 1, size)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label="share of the true class")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{int(matrix[i, j])}\n{share[i, j]:.0%}", ha="center", va="center",
                    fontsize=7, color="white" if share[i, j] > 0.55 else "black")
    ticks = [_short(n) for n in names]
    ax.set_xticks(range(len(names)), ticks, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), ticks)
    ax.set_xlabel("predicted (top class)")
    ax.set_ylabel("true class")
    ax.set_title(title or f"Confusion matrix (accuracy {report['accuracy']:.1%}, balanced "
                          f"{report['balanced_accuracy']:.1%})", fontsize=9)
    fig.savefig(path)
    return Path(path)


def plot_roc_curves(labels: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
                    path: str | Path, operating_point: Mapping[str, Any] | None = None) -> Path:
    """One-vs-rest ROC curve per class, AUC in the legend; the melanoma operating point marked."""
    from sklearn.metrics import roc_curve

    fig = _figure(6.5, 5.5)
    ax = fig.add_subplot()
    for i, name in enumerate(class_names):
        positive = labels == i
        if positive.all() or not positive.any():
            continue
        fpr, tpr, _ = roc_curve(positive, probabilities[:, i])
        auc = M.binary_auc(probabilities[:, i], positive)
        ax.plot(fpr, tpr, lw=2.2 if name == M.MELANOMA else 1.1,
                label=f"{name} (AUC {auc:.3f}, n={int(positive.sum())})")
    if operating_point and operating_point.get("specificity") is not None:
        ax.plot(1 - operating_point["specificity"], operating_point["sensitivity"], "ko",
                label=f"melanoma at >= {operating_point['target_sensitivity']:.0%} sensitivity")
    ax.plot(1 - 0.60, 0.74, "r*", ms=10, label="dermatologists (74 % / 60 %)")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title("ROC, one class vs rest", fontsize=9)
    ax.legend(fontsize=6.5, loc="lower right")
    fig.savefig(path)
    return Path(path)


def plot_reliability(report: Mapping[str, Any], path: str | Path) -> Path:
    """Reliability diagram (accuracy vs confidence per bin) above a confidence histogram."""
    bins = report["reliability"]
    fig = _figure(5.5, 6)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    width = 1.0 / len(bins)
    centres = [(b["lower"] + b["upper"]) / 2 for b in bins]
    full = [b for b in bins if b["count"]]
    top.bar([(b["lower"] + b["upper"]) / 2 for b in full], [b["accuracy"] for b in full],
            width=width * 0.95, color="tab:blue", alpha=0.75, label="accuracy in the bin")
    top.plot([(b["lower"] + b["upper"]) / 2 for b in full], [b["confidence"] for b in full], "o",
             color="tab:red", ms=4, label="mean confidence in the bin")
    top.vlines([(b["lower"] + b["upper"]) / 2 for b in full], [b["accuracy"] for b in full],
               [b["confidence"] for b in full], color="tab:red", lw=1)
    top.plot([0, 1], [0, 1], ls="--", color="grey", label="perfect calibration")
    top.set_ylabel("accuracy")
    top.set_title(f"Reliability (top label): ECE {report['ece']:.3f} over {len(bins)} bins",
                  fontsize=9)
    top.legend(fontsize=7, loc="upper left")
    bottom.bar(centres, [b["count"] for b in bins], width=width * 0.95, color="grey")
    bottom.set_xlabel("confidence (top-class probability)")
    bottom.set_ylabel("images")
    bottom.set_xlim(0, 1)
    fig.savefig(path)
    return Path(path)


def plot_training_curves(history: Mapping[str, list[float]], path: str | Path,
                         boundaries: Sequence[int] = ()) -> Path:
    """Accuracy and loss per epoch, train vs validation, as the seed paper shows them."""
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10, 4)
    left, right = fig.subplots(1, 2)
    epochs = np.arange(1, 1 + max(len(v) for v in history.values()))
    acc_keys = [k for k in history if "acc" in k and not k.startswith("val_")]
    for ax, keys, label in ((left, acc_keys, "accuracy"), (right, ["loss"], "loss")):
        for key in keys:
            for name, style in ((key, "-"), ("val_" + key, "--")):
                if name in history:
                    values = np.asarray(history[name], dtype=float)
                    ax.plot(epochs[: len(values)], values, style, marker="o", ms=3,
                            label=name.replace("val_", "validation ") if name != key
                            else f"train {name}")
        for boundary in boundaries:
            ax.axvline(boundary + 0.5, color="grey", ls=":", lw=1)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.set_title(f"Training {label}", fontsize=9)
        if ax.lines:
            ax.legend(fontsize=7)
    fig.savefig(path)
    return Path(path)


def write_outputs(result: EvaluationResult, out_dir: str | Path,
                  history: str | Path | None = None) -> list[Path]:
    """Write ``metrics.json``, the plots and ``summary.txt`` into ``out_dir``; returns the files."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = result.report
    overall = report["overall"]
    written = [
        plot_confusion_matrix(overall, out / "confusion_matrix.png"),
        plot_roc_curves(result.labels, result.probabilities, result.class_names,
                        out / "roc.png", (overall.get("melanoma") or {}).get("operating_point")),
        plot_reliability(overall, out / "reliability.png"),
    ]
    if history is not None:
        series, boundaries = load_history(history)
        written.append(plot_training_curves(series, out / "training_curves.png", boundaries))
        report["history"] = {"file": str(history), "epochs": max(len(v) for v in series.values()),
                             "final": {k: (None if math.isnan(v[-1]) else v[-1])
                                       for k, v in series.items() if v}}
    predictions = out / "predictions.csv"
    with open(predictions, "w", encoding="utf-8") as handle:
        handle.write("image,source,label," + ",".join(result.class_names) + "\n")
        for name, source, label, row in zip(result.names, result.sources, result.labels,
                                            result.probabilities):
            cells = [json.dumps(name), json.dumps(source or ""), json.dumps(result.class_names[label])]
            handle.write(",".join(cells + [f"{p:.6f}" for p in row]) + "\n")
    written.append(predictions)
    metrics_path = out / "metrics.json"
    metrics_path.write_text(json.dumps(report, indent=1, allow_nan=False), encoding="utf-8")
    summary = out / "summary.txt"
    summary.write_text(format_summary(report) + "\n", encoding="utf-8")
    return [metrics_path, summary, *written]


# -- text ----------------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1%}"


def _ci(figures: Mapping[str, Any], key: str) -> str:
    value, ci = figures.get(key), figures.get(key + "_ci")
    if value is None:
        return "n/a"
    return f"{value:.1%} [{ci[0]:.1%}-{ci[1]:.1%}]" if ci else f"{value:.1%}"


def format_summary(report: Mapping[str, Any]) -> str:
    """A readable summary of an evaluation report."""
    overall = report["overall"]
    lines = []
    model, data = report.get("model"), report.get("data")
    if model:
        lines.append(f"Model: {model['path']} ({model['title']}, {model['provider']})")
    if data:
        rescale = f", images rescaled to {data['rescale']} (JPEG q{data['jpeg_quality']})" \
            if data.get("rescale") else ""
        lines.append(f"Data: {report.get('split', '')} split, {data['images']} images, "
                     f"{data['skipped']} skipped{rescale}")
        if report.get("split_source"):
            lines.append(f"Split from: {report['split_source']}")
    auc = overall["auc_macro"]
    lines.append(
        f"Accuracy {overall['accuracy']:.1%}   balanced accuracy {overall['balanced_accuracy']:.1%}"
        f"   macro AUC {'n/a' if auc is None else f'{auc:.3f}'}   ECE {overall['ece']:.3f}"
        f" ({overall['ece_bins']} bins)"
    )
    mel = overall.get("melanoma")
    if mel:
        point = mel.get("operating_point") or {}
        mel_auc = "n/a" if mel["auc"] is None else f"{mel['auc']:.3f}"
        text = f"Melanoma vs rest: AUC {mel_auc}"
        vs = mel.get("auc_vs_nevus")
        if vs is not None:
            text += f", vs nevus only {vs:.3f}"
        if point:
            text += (f"; threshold {point['threshold']:.3f} chosen here for >= "
                     f"{point['target_sensitivity']:.0%} sensitivity: sensitivity "
                     f"{_ci(point, 'sensitivity')}, specificity {_ci(point, 'specificity')}")
        lines.append(text)
    lines.append("")
    width = max(len(n) for n in overall["classes"])
    lines.append(f"{'class':<{width}}  precision  recall     F1   support  predicted    AUC")
    for name, c in overall["per_class"].items():
        auc_text = "  n/a" if c["auc"] is None else f"{c['auc']:.3f}"
        lines.append(f"{name:<{width}}      {_pct(c['precision'])}  {_pct(c['recall'])}  "
                     f"{_pct(c['f1'])}  {c['support']:8d}  {c['predicted']:9d}  {auc_text}")
    chosen = report.get("chosen_operating_point")
    if chosen and chosen["classes"]:
        key = chosen["key"]
        label = "clinic's choice" if chosen["sensitivity"] is not None else "card defaults"
        lines += ["", f"Model card's operating points ({label}; thresholds from validation, "
                      "unchanged) on this data:"]
        for name, row in chosen["classes"].items():
            figures = row[key]
            lines.append(f"  {name:<{width}} target {row['target_sensitivity']:.0%}  threshold "
                         f"{row['threshold']:.3f}  sensitivity {_ci(figures, 'sensitivity')}  "
                         f"specificity {_ci(figures, 'specificity')}  "
                         f"({figures['positives']} pos / {figures['negatives']} neg)")
    table = report.get("operating_points")
    if table and table["classes"]:
        key = table["key"]
        lines += ["", "Operating points chosen on this data (threshold for each target "
                      "sensitivity):"]
        for name, rows in table["classes"].items():
            for row in rows:
                figures = row[key]
                lines.append(f"  {name:<{width}} target {row['target_sensitivity']:.0%}  "
                             f"threshold {row['threshold']:.3f}  specificity "
                             f"{_ci(figures, 'specificity')}")
        for name, reason in table.get("skipped", {}).items():
            lines.append(f"  {name:<{width}} not validated: {reason}")
    per_source = report.get("per_source") or {}
    if per_source:
        lines += ["", "Per source:"]
        for source, r in per_source.items():
            mel = r.get("melanoma") or {}
            mel_auc = mel.get("auc")
            lines.append(f"  {source}: {r['samples']} images, accuracy {r['accuracy']:.1%}, balanced "
                         f"{r['balanced_accuracy']:.1%}, melanoma AUC "
                         f"{'n/a' if mel_auc is None else f'{mel_auc:.3f}'}, ECE {r['ece']:.3f}")
    ood = report.get("ood")
    if ood:
        lines.append(f"Out of distribution (score >= {ood['threshold']:.3g}): "
                     f"{ood['share_out_of_distribution']:.1%} of images")
    lines += ["", "Goals (issues 4 and 10):"]
    for goal in report.get("goals", []):
        mark = {True: "met", False: "NOT met", None: "n/a"}[goal["met"]]
        value = "n/a" if goal["value"] is None else f"{goal['value']:.3f}"
        lines.append(f"  [{mark:>7}] {goal['goal']}: {value}")
    lines += _shortcut_lines(report.get("shortcut"))
    if report.get("skipped"):
        lines += ["", f"Skipped {len(report['skipped'])} image(s), e.g. "
                      f"{report['skipped'][0]['image']}: {report['skipped'][0]['problem']}"]
    return "\n".join(lines)


def _shortcut_lines(shortcut: Mapping[str, Any] | None) -> list[str]:
    if not shortcut:
        return []
    lines = ["", "Source shortcut (issue 14):"]
    probe = shortcut.get("source_probe_auc")
    if probe:
        lines.append(f"  source probe AUC (pooled features, grouped CV): {probe['macro']:.3f}")
    for key, value in (shortcut.get("source_leakage") or {}).items():
        lines.append(f"  leakage {key.replace('_', ' ')}: {value:.1%}")
    for source, row in (shortcut.get("leave_one_source_out") or {}).items():
        lines.append(f"  leave {source} out: melanoma-vs-nevus AUC {row['melanoma_vs_nevus_auc']:.3f} "
                     f"({row['test_images']} test images)")
    for view, row in (shortcut.get("invariance") or {}).items():
        auc = row["melanoma_auc"]
        lines.append(f"  {view:<16} balanced accuracy {row['balanced_accuracy']:.1%} "
                     f"({row['balanced_accuracy_change']:+.1%}), melanoma AUC "
                     f"{'n/a' if auc is None else f'{auc:.3f}'}")
    for tone, row in (shortcut.get("per_skin_tone") or {}).items():
        lines.append(f"  skin tone {tone}: balanced accuracy {row['balanced_accuracy']:.1%} "
                     f"({row['images']} images)")
    return lines


# -- command line --------------------------------------------------------------------------
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``evaluate`` on ``skindesk-train``'s subparsers."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score an ONNX model on labelled images through the app's own classifier",
        description="Score MODEL.onnx on labelled images via skindesk's Classifier; writes "
                    "metrics.json, plots and a summary.",
    )
    parser.add_argument("model", type=Path, help="the SkinDesk .onnx model (required)")
    parser.add_argument("--data", type=Path, required=True,
                        help="labels CSV, folder with labels.csv, or class-folder tree (required)")
    parser.add_argument("--split", default="test", choices=SPLITS,
                        help="which split to score; 'all' = every image, e.g. external data "
                             "(default: test)")
    parser.add_argument("--split-file", type=Path, default=None,
                        help="split JSON saved with the training run (default: one next to the "
                             "model, else recomputed from the model card)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: MODEL-eval-SPLIT[-WxH] beside the model)")
    parser.add_argument("--sensitivity", type=float, default=None,
                        help="the card's operating point to report, e.g. 0.9 (default: the "
                             "card's default per class)")
    parser.add_argument("--rescale", default=None, metavar="WxH",
                        help="resize every image to WxH and re-encode as JPEG first (default: off)")
    parser.add_argument("--jpeg-quality", type=int, default=90,
                        help="JPEG quality for --rescale (default: 90)")
    parser.add_argument("--source", action="append", default=None,
                        help="only images of this source; repeatable (default: all sources)")
    parser.add_argument("--history", type=Path, default=None,
                        help="training history JSON for the curves (default: history.json "
                             "beside the model, if any)")
    parser.add_argument("--targets", default="0.8,0.85,0.9,0.95",
                        help="target sensitivities for the operating-point table "
                             "(default: 0.8,0.85,0.9,0.95)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per batch (default: 32)")
    parser.add_argument("--threads", type=int, default=None,
                        help="onnxruntime threads (default: all cores this process may use)")
    parser.add_argument("--provider", default="auto", choices=("auto", "cuda", "cpu"),
                        help="onnxruntime provider (default: auto)")
    parser.add_argument("--shortcut", action="store_true",
                        help="also measure the source shortcut on the run's train and test splits: "
                             "source probe, leakage, invariance to re-encoding/rescaling/illuminant, "
                             "leave-one-source-out AUC, per skin tone (default: off)")
    parser.set_defaults(func=run)
    return parser


def _error(message: str) -> int:
    print(f"skindesk-train evaluate: error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``evaluate``; 0 on success, 2 for bad input (message on stderr, no traceback)."""
    from skindesk.core.classifier import Classifier
    from skindesk.core.errors import ModelError

    try:
        rescale = parse_size(args.rescale) if args.rescale else None
        targets = [float(t) for t in str(args.targets).split(",") if t.strip()]
        if not targets or not all(0 < t <= 1 for t in targets):
            raise ValueError(f"--targets {args.targets!r}: give sensitivities in (0, 1], e.g. 0.8,0.9")
        if args.batch_size < 1:
            raise ValueError("--batch-size must be at least 1")
        if not 1 <= args.jpeg_quality <= 100:
            raise ValueError("--jpeg-quality must be between 1 and 100")
    except ValueError as error:
        return _error(str(error))
    if not args.model.is_file():
        return _error(f"model {args.model}: file not found")
    if not args.data.exists():
        return _error(f"data {args.data}: no such file or folder")
    try:
        classifier = Classifier(args.model, provider=args.provider, threads=args.threads,
                                sensitivity=args.sensitivity)
    except (ModelError, ValueError) as error:
        return _error(str(error))
    try:
        records = all_records = load_dataset(args.data)
        records, split_source = select_split(records, args.split, split_file=args.split_file,
                                             card_raw=classifier.card.raw, model_path=args.model)
        if args.source:
            wanted = set(args.source)
            present = sorted({r.source or "unknown" for r in records})
            records = [r for r in records if (r.source or "unknown") in wanted]
            if not records:
                raise ValueError(f"no images from source(s) {sorted(wanted)}; present: {present}")
        if not records:
            raise ValueError(f"the {args.split} split of {args.data} is empty")
        print(f"Evaluating {args.model.name} on {len(records)} images ({args.split} split; "
              f"{split_source}) on {classifier.provider}", file=sys.stderr)
        result = evaluate_model(classifier, records, batch_size=args.batch_size, rescale=rescale,
                                jpeg_quality=args.jpeg_quality, sensitivity=args.sensitivity,
                                targets=targets,
                                progress=_progress_printer())
    except (ValueError, KeyError) as error:
        return _error(str(error).strip("'\""))
    result.report["split"] = args.split
    result.report["split_source"] = split_source
    if args.shortcut:
        try:
            result.report["shortcut"] = _shortcut(args, all_records, classifier)
        except ValueError as error:
            return _error(f"--shortcut: {error}")
    if args.source:
        result.report["data"]["source_filter"] = sorted(set(args.source))
    history = args.history
    if history is not None and not history.is_file():
        return _error(f"history {history}: file not found")
    history = history or find_history(args.model)
    out = args.out or args.model.parent / (
        f"{args.model.stem}-eval-{args.split}" + (f"-{rescale[0]}x{rescale[1]}" if rescale else ""))
    try:
        files = write_outputs(result, out, history)
    except (OSError, ValueError) as error:
        return _error(f"writing results to {out}: {error}")
    print(format_summary(result.report))
    print(f"\nWrote {', '.join(f.name for f in files)} to {out}")
    return 0


def _shortcut(args: argparse.Namespace, records: list[Record], classifier: Any) -> dict[str, Any]:
    """``shortcut.shortcut_report`` on the model's own train and test splits of ``args.data``."""
    from .pool import Pool
    from .shortcut import shortcut_report

    parts = {name: select_split(records, name, split_file=args.split_file,
                                card_raw=classifier.card.raw, model_path=args.model)[0]
             for name in ("train", "test")}
    pool = Pool.decoded(parts, classifier.card.class_names, classifier.card.preprocessing)
    return shortcut_report(args.model, pool, log=lambda line: print(line, file=sys.stderr))


def _progress_printer() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if done == total or done % 200 == 0:
            print(f"  {done}/{total} images", file=sys.stderr, flush=True)

    return show
