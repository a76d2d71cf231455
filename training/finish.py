"""The last steps of a whole-network run: calibrate, gate, thresholds, export, evaluate.

Everything is chosen on the validation split (original and rescaled views together, so
thresholds hold when images look different); the test split is only scored. Steps:
temperature → alert operating points → image gate (``gate.py``) and quality limits
(``skindesk.core.quality``) → ONNX export (probabilities, class activation maps, gate score,
pooled features) with a parity check → evaluation through the app's own classifier: per source,
source shortcut and invariance (``shortcut.py``), gate false flags and detection per kind.
"""

from __future__ import annotations

import json
import random
import time
import zlib
from datetime import date
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from skindesk import __version__
from skindesk.core.classes import class_entries
from skindesk.core.modelcard import DEFAULT_DISCLAIMER, FORMAT_VERSION
from skindesk.core.preprocess import preprocess
from skindesk.core.quality import measure, quality_limits

from . import metrics as M
from .gate import STRICTNESS, Gate, fit_gate, gate_layers, thresholds
from .negatives import GENERATED_KINDS, generate
from .progress import format_seconds

if TYPE_CHECKING:
    from .finetune import FineTuneRun

__all__ = ["finish", "build_card", "LICENCE", "INTENDED_USE", "LIMITATIONS"]


INTENDED_USE = (
    "Decision support for clinicians examining dermoscopic images of skin lesions: a second "
    "opinion on the classes listed, never a diagnosis. Not for clinical photographs taken without "
    "a dermatoscope, not for use by patients: every decision stays with the clinician."
)
LIMITATIONS = (
    "Trained on public archives (HAM10000, ISIC 2017, MILK10k) in which darker skin types, some "
    "body sites, some lesion types and other dermatoscopes are under-represented; accuracy on "
    "other populations and devices can be lower than the figures here."
)
LICENCE = (
    "Model weights: CC BY-NC 4.0 (non-commercial), inherited from the training data: HAM10000 "
    "(Tschandl et al., Sci. Data 5, 180161, 2018; CC BY-NC 4.0), ISIC 2017 (Codella et al., "
    "arXiv:1710.05006; CC-0 / CC BY-NC per contributor) and MILK10k (ISIC 2025; CC BY-NC 4.0). "
    "Backbone: MobileNetV2 ImageNet weights (Apache 2.0)."
)


PRIOR_TAUS = (0.0, 0.25, 0.5, 0.75, 1.0)
MAX_VALIDATION_ECE = 0.03


def prior_correction(run: FineTuneRun, logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Logit adjustment toward balanced classes (Menon et al., ICLR 2021), chosen on validation.

    ``logits - tau * log(training prior)``: tau from ``PRIOR_TAUS``, the one with the best
    validation balanced accuracy whose validation ECE after temperature scaling stays within
    ``MAX_VALIDATION_ECE`` (tau 0, no change, when none does). The bias is written into the head,
    so the exported graph, its class activation maps and every threshold chosen after include it.
    """
    train = run.pool.labels("train")
    prior = np.bincount(train, minlength=len(run.pool.class_names)) / len(train)
    log_prior = np.log(np.maximum(prior, 1e-6))
    rows = []
    for tau in PRIOR_TAUS:
        adjusted = logits - tau * log_prior
        temperature = M.fit_temperature(adjusted, labels)
        ece = M.expected_calibration_error(labels, M.apply_temperature(adjusted, temperature))
        bma = M.classification_report(labels, M.apply_temperature(adjusted, temperature),
                                      run.pool.class_names)["balanced_accuracy"]
        rows.append({"tau": tau, "validation_balanced_accuracy": bma, "validation_ece": ece})
    allowed = [r for r in rows if r["validation_ece"] <= MAX_VALIDATION_ECE] or rows[:1]
    best = max(allowed, key=lambda r: r["validation_balanced_accuracy"])
    bias = (-best["tau"] * log_prior).astype(np.float32)
    kernel, head_bias = run.nets.head.get_weights()
    run.nets.head.set_weights([kernel, head_bias + bias])
    run.log(f"prior correction tau {best['tau']}: " + "; ".join(
        f"tau {r['tau']} balanced accuracy {r['validation_balanced_accuracy']:.3f} ECE "
        f"{r['validation_ece']:.3f}" for r in rows))
    return {"tau": best["tau"], "candidates": rows, "bias": bias,
            "chosen_on": f"validation: best balanced accuracy with ECE <= {MAX_VALIDATION_ECE}"}


def _features_model(run: FineTuneRun) -> Any:
    keras = run.keras
    pooled = keras.layers.GlobalAveragePooling2D(name="features")(run.nets.base.output)
    return keras.Model(run.nets.base.input, pooled)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=64, verbose=0))


def _tensors(run: FineTuneRun, images: list) -> np.ndarray:
    out = np.empty((len(images), run.spec.height, run.spec.width, 3), np.float32)
    for i, image in enumerate(images):
        preprocess(image, run.spec, out=out[i])
    return out


def _clinical_negatives(run: FineTuneRun) -> dict[str, list]:
    """The clinical close-ups, split by lesion as the dermoscopic rows are (train/validation/test)."""
    from skindesk.core.imaging import load_image

    from .data import load_dataset

    folder = Path(run.config.data).expanduser()
    folder = folder if folder.is_dir() else folder.parent
    clinical = folder.parent / "milk10k-clinical"
    if not (clinical / "labels.csv").exists():
        run.log(f"no clinical close-ups at {clinical}: the gate learns from generated images only")
        return {"train": [], "validation": [], "test": []}
    side = {r.group: name for name, part in run.pool.split.items() for r in part}
    parts: dict[str, list] = {"train": [], "validation": [], "test": []}
    for record in load_dataset(clinical):
        # A lesion the dermoscopic split lacks goes by a stable hash of its id, 70/15/15.
        bucket = zlib.crc32(record.group.encode()) % 100
        part = side.get(record.group) or ("train" if bucket < 70 else
                                          "validation" if bucket < 85 else "test")
        try:
            parts[part].append(load_image(record.path))
        except Exception:  # noqa: BLE001 - an unreadable negative is simply left out
            continue
    return parts


def _real_photos() -> list:
    """A few real photographs shipped with matplotlib and scikit-learn, as unseen negatives."""
    import importlib.util

    from PIL import Image

    found = []
    for package, relative in (("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
                              ("sklearn", "datasets/images/china.jpg"),
                              ("sklearn", "datasets/images/flower.jpg")):
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            path = Path(spec.origin).parent / relative
            if path.exists():
                found.append(Image.open(path).convert("RGB"))
    rng = random.Random(7)
    crops = []
    for image in found:  # many views of each: crops at several scales
        for _ in range(20):
            w, h = image.size
            s = rng.uniform(0.4, 1.0)
            cw, ch = int(w * s), int(h * s)
            x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
            crops.append(image.crop((x, y, x + cw, y + ch)))
    return crops


def _dermoscopy_views(run: FineTuneRun, records: list) -> dict[str, list]:
    """Validation-style views of dermoscopy: original, re-encoded and rescaled."""
    from .augment import jpeg

    views: dict[str, list] = {"original": [], "jpeg 50": [], "x0.5": [], "x2 jpeg 90": []}
    for record in records:
        image = run.pool.image(record)
        views["original"].append(image)
        views["jpeg 50"].append(jpeg(image, 50))
        views["x0.5"].append(image.resize((image.width // 2, image.height // 2)))
        views["x2 jpeg 90"].append(jpeg(image.resize((image.width * 2, image.height * 2)), 90))
    return views


def build_gate(run: Any, featurize: Callable[[list], np.ndarray]) -> tuple[Gate, dict[str, Any]]:
    """Fit the gate on training dermoscopy and negatives; thresholds and figures on held-out data.

    ``run`` offers ``pool``, ``config`` (``seed``, ``gate_negatives``, ``data``) and ``log``;
    ``featurize`` maps PIL images to the model's pooled features (Keras here, onnxruntime in
    ``gate_onnx``).
    """
    t0 = time.time()
    from .augment import acquisition_view

    pool = run.pool
    rng = np.random.default_rng(run.config.seed)
    train = pool.split["train"]
    pick = rng.choice(len(train), size=min(4000, len(train)), replace=False)
    train_records = [train[i] for i in sorted(pick)]
    images = [pool.image(r) for r in train_records]
    aug_rng = random.Random(run.config.seed)
    images += [acquisition_view(pool.image(r), aug_rng) for r in train_records[:2000]]
    labels = pool.labels("train")[sorted(pick)]
    labels = np.concatenate([labels, labels[:2000]])
    in_features = featurize(images)
    clinical = _clinical_negatives(run)
    generated = [generate(kind, i, 1) for kind in GENERATED_KINDS for i in range(run.config.gate_negatives)]
    groups = [featurize(clinical["train"])] if clinical["train"] else []
    groups.append(featurize(generated))  # one learnt direction per kind of negative
    gate = fit_gate(in_features, labels, groups)

    val_views = _dermoscopy_views(run, pool.split["validation"])
    val_scores = {v: gate.score(featurize(ims)) for v, ims in val_views.items()}
    levels = thresholds(np.concatenate(list(val_scores.values())))
    default = levels["standard"]

    def detection(seed: int, part: str) -> dict[str, float]:
        rates = {}
        for kind in GENERATED_KINDS:
            ims = [generate(kind, i, seed) for i in range(max(3, run.config.gate_negatives // 4))]
            rates[kind] = float((gate.score(featurize(ims)) >= default).mean())
        if clinical[part]:
            s = gate.score(featurize(clinical[part]))
            rates["clinical close-up (no dermatoscope)"] = float((s >= default).mean())
        return rates

    test_views = _dermoscopy_views(run, pool.split["test"])
    test_scores = {v: gate.score(featurize(ims)) for v, ims in test_views.items()}
    photos = _real_photos()
    test_detection = detection(3, "test")
    if photos:
        test_detection["real photographs (unseen)"] = float(
            (gate.score(featurize(photos)) >= default).mean())
    figures = {
        "validation_false_flags": {v: float((s >= default).mean()) for v, s in val_scores.items()},
        "validation_detection": detection(2, "validation"),
        "test_false_flags": {v: float((s >= default).mean()) for v, s in test_scores.items()},
        "test_detection": test_detection,
        "levels_test_false_flags": {name: float((test_scores["original"] >= t).mean())
                                    for name, t in levels.items()},
        "training_images": {"dermoscopy": len(in_features), "negatives": sum(len(g) for g in groups),
                            "clinical_close_ups": len(clinical["train"])},
    }
    run.log(f"image gate fitted ({format_seconds(time.time() - t0)}): test false flags "
            f"{figures['test_false_flags']}, test detection {test_detection}")
    section = {
        "score": "image gate score: the larger of two standardised linear directions on the "
                 "model's pooled features, one learnt against clinical close-ups and one against "
                 "generated non-dermoscopy" + (", and the Mahalanobis distance to the training "
                                               "classes" if gate.has_distance else "")
                 + " (higher: less like a dermoscopic image of a skin lesion)",
        "threshold": default,
        "levels": levels,
        "level_false_flag_rates": {k: STRICTNESS[k] for k in levels},
        "chosen_on": "validation dermoscopy, original + re-encoded + rescaled views",
        "figures": figures,
    }
    return gate, section


def quality_section(run: FineTuneRun) -> dict[str, Any]:
    train = run.pool.split["train"]
    step = max(1, len(train) // 4000)
    measures = [measure(run.pool.image(r), run.spec.canonical_area) for r in train[::step]]
    limits = quality_limits(measures, run.spec.canonical_area)
    return {**limits.to_dict(), "chosen_on": f"{len(measures)} training images at the canonical "
            "scale (each limit just outside the pool's 0.3 % tail)"}


def inference_model(run: FineTuneRun, temperature: float, gate: Gate) -> Any:
    """Image → probabilities, class activation maps, gate score and pooled features."""
    keras = run.keras
    from keras import ops

    base, head = run.nets.base, run.nets.head
    feature_map = base.output
    cams = head(feature_map)
    logits = keras.layers.Lambda(lambda t: ops.mean(t, axis=(1, 2)), name="logits")(cams)
    probabilities = keras.layers.Lambda(lambda t: ops.softmax(t / temperature, axis=-1),
                                        name="probabilities")(logits)
    pooled = keras.layers.GlobalAveragePooling2D(name="features")(feature_map)
    ood = gate_layers(keras, pooled, gate)
    cams = keras.layers.Identity(name="class_activation_maps")(cams)
    return keras.Model(base.input, [probabilities, cams, ood, pooled], name="skindesk_inference")


def build_card(run: FineTuneRun, calibration: dict[str, Any], gate_section: dict[str, Any],
               quality: dict[str, Any], points: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    from .pool import data_fingerprint

    records = run.pool.records
    sources: dict[str, int] = {}
    for record in records:
        sources[record.source or "unknown"] = sources.get(record.source or "unknown", 0) + 1
    return {
        "format_version": FORMAT_VERSION,
        "name": "SkinDesk MobileNetV2",
        "version": "2.0",
        "architecture": "mobilenetv2 (ImageNet), whole network fine-tuned with fresh acquisition "
                        "augmentation, linear head on pooled features, image gate",
        "classes": class_entries(run.pool.class_names),
        "input": {"name": "input", "layout": "NHWC", "height": run.spec.height,
                  "width": run.spec.width, "channels": 3, "dtype": "float32"},
        "outputs": {"probabilities": "probabilities", "class_activation_maps": "class_activation_maps",
                    "ood_score": "ood_score", "features": "features"},
        "preprocessing": run.spec.to_dict(),
        "training_data": {
            "description": "ISIC images: HAM10000 (200x150), ISIC 2017 (256x256) and MILK10k "
                           "(300x225), lesion-grouped stratified split",
            "images": len(records),
            "sources": sources,
            "excluded_by_audit": len(run.pool.excluded),
            "split": {"seed": run.config.seed, "fractions": [0.7, 0.15, 0.15],
                      "grouped_by": "lesion_id", "excluded": run.pool.excluded,
                      "sizes": {k: len(v) for k, v in run.pool.split.items()}},
            "fingerprint": data_fingerprint(records),
        },
        "training": {**json.loads(run.config.to_json()),
                     "best_epoch": run.state.best_epoch + 1,
                     "training_seconds": round(run.state.seconds)},
        "metrics": metrics,
        "calibration": calibration,
        "uncertainty": {"top_probability_threshold": 0.5},
        "ood": gate_section,
        "quality": quality,
        "operating_points": points,
        "intended_use": INTENDED_USE,
        "limitations": LIMITATIONS,
        "disclaimer": DEFAULT_DISCLAIMER,
        "licence": LICENCE,
        "created": date.today().isoformat(),
        "created_by": f"skindesk-train {__version__}",
    }


def _compact(report: dict[str, Any]) -> dict[str, Any]:
    overall = report["overall"]
    melanoma = overall.get("melanoma") or {}
    return {
        "images": overall["samples"],
        "accuracy": overall["accuracy"],
        "balanced_accuracy": overall["balanced_accuracy"],
        "auc_macro": overall["auc_macro"],
        "ece": overall["ece"],
        "recall": {k: v["recall"] for k, v in overall["per_class"].items()},
        "melanoma_auc": melanoma.get("auc"),
        "melanoma_operating_point_74": melanoma.get("operating_point"),
        "per_source_balanced_accuracy": {s: r["balanced_accuracy"]
                                         for s, r in (report.get("per_source") or {}).items()},
    }


def finish(run: FineTuneRun) -> Path:
    """Calibrate, choose thresholds, fit the gate, export ``model.onnx``, evaluate on test."""
    import onnx

    from skindesk.core.classifier import Classifier
    from skindesk.core.modelcard import ModelCard, embed_card

    from .evaluate import evaluate_model, write_outputs
    from .export import export_onnx
    from .shortcut import shortcut_report

    run.load_best()
    names = run.pool.class_names
    y_val = run.pool.labels("validation")
    val_logits = {v: _predict(run.nets.model, x) for v, x in run.val_x.items()}
    labels = np.tile(y_val, len(val_logits))
    correction = prior_correction(run, np.concatenate(list(val_logits.values())), labels)
    val_logits = {v: l + correction["bias"] for v, l in val_logits.items()}
    logits = np.concatenate(list(val_logits.values()))
    temperature = M.fit_temperature(logits, labels)
    calibration = {"method": "temperature", "temperature": temperature,
                   "prior_correction": {k: v for k, v in correction.items() if k != "bias"},
                   "fitted_on": "validation (original + rescaled views)",
                   "validation_ece_before": M.expected_calibration_error(labels, M.apply_temperature(logits, 1.0)),
                   "validation_ece_after": M.expected_calibration_error(labels, M.apply_temperature(logits, temperature))}
    run.log(f"temperature {temperature:.3f}: validation ECE {calibration['validation_ece_before']:.3f}"
            f" → {calibration['validation_ece_after']:.3f}")
    probabilities = M.apply_temperature(logits, temperature)
    sources = run.pool.sources("validation") * len(val_logits)
    flagged = [c["name"] for c in class_entries(names) if c["malignant"] or c["premalignant"]]
    table = M.operating_point_table(labels, probabilities, names, flagged, sources=sources,
                                    key="validation")
    for view, key in (("clean", "validation"), ("rescaled", "validation_rescaled")):
        table = M.score_operating_points(table, y_val, M.apply_temperature(val_logits[view], temperature),
                                         names, run.pool.sources("validation"), key=key)
    test_x = np.stack([preprocess(run.pool.image(r), run.spec) for r in run.pool.split["test"]])
    test_probabilities = M.apply_temperature(_predict(run.nets.model, test_x), temperature)
    del test_x
    table = M.score_operating_points(table, run.pool.labels("test"), test_probabilities, names,
                                     run.pool.sources("test"), key="test")
    points = M.card_operating_points(table)
    validation_report = M.classification_report(labels, probabilities, names)
    metrics: dict[str, Any] = {
        "validation": {"balanced_accuracy": validation_report["balanced_accuracy"],
                       "accuracy": validation_report["accuracy"], "ece": validation_report["ece"],
                       "views": "original + rescaled"},
        "history": run.state.history,
    }
    features = _features_model(run)
    gate, gate_section = build_gate(run, lambda images: _predict(features, _tensors(run, images)))
    gate.save(run.out / "gate.npz")
    quality = quality_section(run)
    card = build_card(run, calibration, gate_section, quality, points, metrics)
    model = inference_model(run, temperature, gate)
    parity = np.stack([preprocess(run.pool.image(r), run.spec) for r in run.pool.split["validation"][:16]])
    path = export_onnx(model, card, run.out / "model.onnx", parity)
    run.log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB), parity checked")
    (run.out / "history.json").write_text(json.dumps(run.state.history, indent=1))
    evaluations = {}
    for label, rescale in (("test", None), ("test_rescaled_800x600", (800, 600))):
        result = evaluate_model(Classifier(path, provider="cpu"), run.pool.split["test"],
                                rescale=rescale, data_key="test")
        result.report["split"] = "test"
        result.report["split_source"] = f"the run's own split ({run.out / 'split.json'})"
        write_outputs(result, run.out / f"eval_{label}", history=run.out / "history.json")
        evaluations[label] = result.report
        overall = result.report["overall"]
        run.log(f"{label}: balanced accuracy {overall['balanced_accuracy']:.3f}, accuracy "
                f"{overall['accuracy']:.3f}, melanoma AUC {overall['melanoma']['auc']:.3f}, "
                f"ECE {overall['ece']:.3f}")
    metrics.update({label: _compact(report) for label, report in evaluations.items()})
    metrics["shortcut"] = shortcut_report(path, run.pool, log=run.log)
    card["metrics"] = metrics
    proto = onnx.load(str(path))
    embed_card(proto, card)
    ModelCard.from_dict(card)
    onnx.save_model(proto, str(path))
    (run.out / "model_card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False))
    return path
