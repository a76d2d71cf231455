"""The last steps of a transfer run: calibrate, set the OOD and alert thresholds, export, evaluate.

Everything here is chosen on the validation split (original and rescaled views together, so
thresholds hold when images look different); the test split is only scored, never used to choose.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from skindesk import __version__
from skindesk.core.classes import class_entries
from skindesk.core.modelcard import DEFAULT_DISCLAIMER, FORMAT_VERSION

from . import metrics as M
from .features import view_tensor
from .transfer import inference_model

__all__ = ["finish_run", "calibrate", "build_card"]

OOD_PERCENTILE = 99.0
INTENDED_USE = (
    "Decision support for clinicians examining dermoscopic images of skin lesions: a second "
    "opinion on nine diagnoses (actinic keratosis, basal cell carcinoma, dermatofibroma, "
    "melanoma, nevus, pigmented benign keratosis, seborrheic keratosis, squamous cell carcinoma, "
    "vascular lesion). Not for clinical photographs without a dermatoscope, not for use by "
    "patients, and never a diagnosis: every decision stays with the clinician."
)
LICENCE = (
    "Model weights: CC BY-NC 4.0 (non-commercial), inherited from the training data: HAM10000 "
    "(Tschandl et al., Sci. Data 5, 180161, 2018; CC BY-NC 4.0) and ISIC 2017 (Codella et al., "
    "arXiv:1710.05006; CC-0 / CC BY-NC per contributor). Backbone: MobileNetV2 ImageNet weights "
    "(Apache 2.0)."
)


def calibrate(logits: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Temperature fitted on validation logits, and the ECE before and after."""
    temperature = M.fit_temperature(logits, labels)
    before = M.expected_calibration_error(labels, M.apply_temperature(logits, 1.0))
    after = M.expected_calibration_error(labels, M.apply_temperature(logits, temperature))
    return {"method": "temperature", "temperature": temperature, "fitted_on": "validation "
            "(original + rescaled views)", "validation_ece_before": before,
            "validation_ece_after": after}


def energy(logits: np.ndarray) -> np.ndarray:
    """Energy score −logsumexp(logits): higher means less like the training images."""
    top = logits.max(1)
    return -(top + np.log(np.exp(logits - top[:, None]).sum(1)))


def build_card(run: Any, calibration: dict[str, Any], ood_threshold: float,
               operating_points: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    from .pipeline import data_fingerprint

    records = run.records
    sources: dict[str, int] = {}
    for record in records:
        sources[record.source or "unknown"] = sources.get(record.source or "unknown", 0) + 1
    return {
        "format_version": FORMAT_VERSION,
        "name": "SkinDesk MobileNetV2",
        "version": "1.0",
        "architecture": "mobilenetv2 (ImageNet), top blocks fine-tuned, linear head on pooled features",
        "classes": class_entries(run.class_names),
        "input": {"name": "input", "layout": "NHWC", "height": run.spec.height,
                  "width": run.spec.width, "channels": 3, "dtype": "float32"},
        "outputs": {"probabilities": "probabilities", "class_activation_maps": "class_activation_maps",
                    "ood_score": "ood_score"},
        "preprocessing": run.spec.to_dict(),
        "training_data": {
            "description": "ISIC images: HAM10000 (200x150) and ISIC 2017 (256x256), "
                           "lesion-grouped stratified split",
            "images": len(records),
            "sources": sources,
            "excluded_by_audit": run.excluded_count,
            "split": {"seed": run.seed, "fractions": [0.7, 0.15, 0.15], "grouped_by": "lesion_id",
                      "excluded": sorted(run.excluded_names),
                      "sizes": {k: len(v) for k, v in run.split.items()}},
            "fingerprint": data_fingerprint(records),
        },
        "training": run.config(),
        "metrics": metrics,
        "calibration": calibration,
        "uncertainty": {"top_probability_threshold": 0.5},
        "ood": {"score": "energy (-logsumexp of logits)", "threshold": ood_threshold,
                "chosen_on": f"validation, {OOD_PERCENTILE:g}th percentile (about "
                             f"{100 - OOD_PERCENTILE:g} % of in-distribution images flagged)"},
        "operating_points": operating_points,
        "intended_use": INTENDED_USE,
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


def cross_source_probe(run: Any) -> dict[str, Any]:
    """Frozen ImageNet features + logistic regression trained on one source, scored on the other.

    FACTS.md: across dermatoscopes, melanoma-vs-nevus AUC ranked recipes the way a third clinic's
    device did, where same-clinic figures did not. Fine-tuning on both sources would hide that,
    so this probe uses the frozen backbone (as the head warm-up does), class-balanced, C = 0.01.
    """
    from sklearn.linear_model import LogisticRegression

    from .transfer import _keras, build_backbone

    keras = _keras()
    base = build_backbone(run.spec.height, run.weights)
    cut = base.get_layer(run.cut_layer).output
    pooled_model = keras.Model(cut, keras.layers.GlobalAveragePooling2D()(base.output))
    pooled = {"train": pooled_model.predict(run.train_views[0], batch_size=128, verbose=0),
              "eval": pooled_model.predict(run.eval_views["clean"], batch_size=128, verbose=0)}
    records = {"train": run.split["train"], "eval": run.split["validation"] + run.split["test"]}
    mel, nev = run.index.get("melanoma"), run.index.get("nevus")
    result: dict[str, Any] = {"method": "frozen ImageNet MobileNetV2 features, logistic "
                              "regression C=0.01 balanced, melanoma vs nevus"}
    sources = sorted({r.source or "unknown" for r in run.records})
    for train_source in sources:
        for test_source in sources:
            if train_source == test_source:
                continue
            pick = [i for i, r in enumerate(records["train"]) if r.source == train_source
                    and run.index[r.label] in (mel, nev)]
            test = [i for i, r in enumerate(records["eval"]) if r.source == test_source
                    and run.index[r.label] in (mel, nev)]
            y_train = np.array([run.index[records["train"][i].label] == mel for i in pick])
            y_test = np.array([run.index[records["eval"][i].label] == mel for i in test])
            if len(set(y_train)) < 2 or len(set(y_test)) < 2:
                continue
            model = LogisticRegression(C=0.01, class_weight="balanced", max_iter=2000)
            model.fit(pooled["train"][pick], y_train)
            scores = model.predict_proba(pooled["eval"][test])[:, 1]
            result[f"{train_source}->{test_source}"] = {
                "melanoma_vs_nevus_auc": M.binary_auc(scores, y_test),
                "train_images": len(pick), "test_images": len(test)}
    return result


def finish_run(run: Any) -> Path:
    """Calibrate, choose thresholds, export ``model.onnx``, evaluate on test, embed metrics."""
    from skindesk.core.classifier import Classifier
    from skindesk.core.modelcard import ModelCard, embed_card

    from .evaluate import evaluate_model, write_outputs
    from .export import export_onnx

    names = run.class_names
    y_val = run.labels("validation")
    val_logits = {v: run.upper_logits(a) for v, a in run.val.items()}
    logits = np.concatenate(list(val_logits.values()))
    labels = np.tile(y_val, len(val_logits))
    sources = run.sources("validation") * len(val_logits)
    calibration = calibrate(logits, labels)
    temperature = calibration["temperature"]
    run.log(f"temperature {temperature:.3f}: validation ECE {calibration['validation_ece_before']:.3f}"
            f" → {calibration['validation_ece_after']:.3f}")
    ood_threshold = float(np.percentile(energy(logits), OOD_PERCENTILE))
    probabilities = M.apply_temperature(logits, temperature)
    flagged = [c["name"] for c in class_entries(names) if c["malignant"] or c["premalignant"]]
    # Thresholds are chosen on both views together (so they hold when images look different),
    # but each image counts once in the figures: "validation" is scored on the original images
    # and "validation_rescaled" on the rescaled ones, each with its own honest interval.
    table = M.operating_point_table(labels, probabilities, names, flagged, sources=sources,
                                    key="validation")
    view_probabilities = {v: M.apply_temperature(l, temperature) for v, l in val_logits.items()}
    table = M.score_operating_points(table, y_val, view_probabilities["clean"], names,
                                     run.sources("validation"), key="validation")
    table = M.score_operating_points(table, y_val, view_probabilities["rescaled"], names,
                                     run.sources("validation"), key="validation_rescaled")
    y_test = run.labels("test")
    test_probabilities = M.apply_temperature(run.upper_logits(run.test["clean"]), temperature)
    scored = M.score_operating_points(table, y_test, test_probabilities, names,
                                      run.sources("test"), key="test")
    points = M.card_operating_points(scored)
    validation_report = M.classification_report(labels, probabilities, names)
    metrics: dict[str, Any] = {
        "validation": {"balanced_accuracy": validation_report["balanced_accuracy"],
                       "accuracy": validation_report["accuracy"], "ece": validation_report["ece"],
                       "views": "original + rescaled"},
        "frozen_feature_baseline_validation_balanced_accuracy": getattr(run, "baseline", None),
    }
    try:
        metrics["cross_source_frozen_features"] = cross_source_probe(run)
        run.log(f"cross-source probe: {metrics['cross_source_frozen_features']}")
    except Exception as error:  # noqa: BLE001 - a probe must not lose a finished training run
        run.log(f"cross-source probe failed: {error}")
    card = build_card(run, calibration, ood_threshold, points, metrics)
    (run.out / "calibration.json").write_text(json.dumps(
        {"calibration": calibration, "ood_threshold": ood_threshold}, indent=1))
    model = inference_model(run.base, run.head, temperature)
    parity = np.stack([t for r in run.split["validation"][:16]
                       if (t := view_tensor(r, "clean", run.spec)) is not None])
    path = export_onnx(model, card, run.out / "model.onnx", parity)
    run.log(f"exported {path} ({path.stat().st_size / 1e6:.1f} MB), parity checked")
    # Evaluate through the app's own code path, on the untouched test split.
    evaluations = {}
    for label, rescale in (("test", None), ("test_rescaled_800x600", (800, 600))):
        classifier = Classifier(path, provider="cpu")
        result = evaluate_model(classifier, run.split["test"], rescale=rescale, data_key="test")
        write_outputs(result, run.out / f"eval_{label}", history=run.out / "history.json")
        evaluations[label] = result.report
        run.log(f"{label}: balanced accuracy {result.report['overall']['balanced_accuracy']:.3f}, "
                f"accuracy {result.report['overall']['accuracy']:.3f}, "
                f"melanoma AUC {result.report['overall']['melanoma']['auc']:.3f}, "
                f"ECE {result.report['overall']['ece']:.3f}")
    metrics.update({label: _compact(report) for label, report in evaluations.items()})
    card["metrics"] = metrics
    import onnx

    proto = onnx.load(str(path))
    embed_card(proto, card)
    ModelCard.from_dict(card)
    onnx.save_model(proto, str(path))
    (run.out / "model_card.json").write_text(json.dumps(card, indent=1, ensure_ascii=False))
    return path
