"""``skindesk-train gate-study MODEL --data DATA``: choose the image gate's settings, a source held out.

A gate fitted and thresholded on every source says little about a clinic's other dermatoscope
(model 1.0's tighter gate flagged 20 % of an unseen source). Here each setting of ``fit_gate``
(learnt directions, their regularisation, an optional Mahalanobis distance) is fitted on all sources but
one and thresholded on those sources' validation views, then scored on the held-out source's test
images (false flags) and on held-out negatives (detection): clinical close-ups of test lesions,
generated kinds with an unseen seed, real photographs. Features come from the exported model
(onnxruntime) and are cached in ``--cache``, so trying settings again costs seconds.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from .gate import STRICTNESS, fit_gate, thresholds

__all__ = ["collect_features", "score_settings", "add_parser", "run"]

VIEWS = ("original", "jpeg 50", "x0.5", "x2 jpeg 90")


def collect_features(model_path: Path, data: str, split_file: Path | None, per_source: int,
                     negatives: int, extra: list[Path], seed: int = 42) -> dict[str, np.ndarray]:
    """Pooled features of every set the study needs, keyed ``part/source/view`` and so on."""
    from .augment import acquisition_view
    from .data import load_dataset
    from .evaluate import select_split
    from .finish import _clinical_negatives, _dermoscopy_views, _real_photos
    from .gatecheck import _kinds
    from .negatives import GENERATED_KINDS, generate
    from .pool import Pool
    from .shortcut import OnnxFeatures

    model = OnnxFeatures(model_path)
    records = load_dataset(data)
    rng = random.Random(seed)
    full = {name: select_split(records, name, split_file=split_file, card_raw=model.card.raw,
                               model_path=model_path)[0] for name in ("train", "validation", "test")}
    parts: dict[str, list] = {}
    for name, cap in (("train", per_source), ("validation", per_source // 3), ("test", per_source // 2)):
        chosen = full[name]
        by_source: dict[str, list] = {}
        for record in chosen:
            by_source.setdefault(record.source or "unknown", []).append(record)
        parts[name] = [r for group in by_source.values() for r in rng.sample(group, min(cap, len(group)))]
    pool = Pool.decoded(parts, model.card.class_names, model.card.preprocessing)

    def features(images: list) -> np.ndarray:
        return model.run(images)[1].astype(np.float32) if images else np.zeros((0, 1), np.float32)

    out: dict[str, np.ndarray] = {}
    index = pool.index
    aug = random.Random(seed)
    for source in sorted({r.source or "unknown" for r in pool.split["train"]}):
        train = [r for r in pool.split["train"] if (r.source or "unknown") == source]
        half = train[: len(train) // 2]
        out[f"train/{source}"] = features([pool.image(r) for r in train]
                                          + [acquisition_view(pool.image(r), aug) for r in half])
        out[f"train_labels/{source}"] = np.array([index[r.label] for r in train + half])
        for part in ("validation", "test"):
            chosen = [r for r in pool.split[part] if (r.source or "unknown") == source]
            for view, images in _dermoscopy_views(SimpleNamespace(pool=pool), chosen).items():
                out[f"{part}/{source}/{view}"] = features(images)
    job = SimpleNamespace(pool=SimpleNamespace(split=full), config=SimpleNamespace(data=data), log=print)
    for part, images in _clinical_negatives(job).items():
        out[f"clinical/{part}"] = features(images)
    for kind in GENERATED_KINDS:
        out[f"generated/train/{kind}"] = features([generate(kind, i, 1) for i in range(negatives)])
        out[f"generated/test/{kind}"] = features([generate(kind, i, 3) for i in range(max(3, negatives // 3))])
    out["photos"] = features(_real_photos())
    from PIL import Image
    for kind, files in _kinds(extra).items():
        out[f"external/{kind}"] = features([Image.open(f).convert("RGB") for f in files])
    return out


def _stack(features: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    chosen = [v for k, v in sorted(features.items()) if k.startswith(prefix) and len(v)]
    return np.concatenate(chosen) if chosen else np.zeros((0, 1))


def score_settings(features: dict[str, np.ndarray], distance: int | str | None, c: float,
                   held_out: str | None, directions: int = 2) -> dict[str, Any]:
    """Fit on every source but ``held_out`` (None: all); figures at the standard level.

    ``distance``: None (learnt directions only), "all" or a number of Mahalanobis directions.
    ``directions``: 1 learns one direction against all negatives; 2 learns one against the
    clinical close-ups and one against the generated images (the score is the largest).
    """
    sources = sorted(k.split("/", 1)[1] for k in features if k.startswith("train/"))
    fitted = [s for s in sources if s != held_out]
    x_in = np.concatenate([features[f"train/{s}"] for s in fitted]).astype(np.float64)
    y_in = np.concatenate([features[f"train_labels/{s}"] for s in fitted])
    clinical = features["clinical/train"].astype(np.float64)
    generated = _stack(features, "generated/train/").astype(np.float64)
    negatives = [clinical, generated] if directions == 2 else np.concatenate([clinical, generated])
    gate = fit_gate(x_in, y_in, negatives, c=c, distance=distance is not None,
                    components=distance if isinstance(distance, int) else None)
    scored = [gate.score(features[f"validation/{s}/{v}"].astype(np.float64))
              for s in fitted for v in VIEWS if len(features[f"validation/{s}/{v}"])]
    if not scored:
        raise ValueError("no validation images to choose the threshold on: the split's "
                         "validation part is empty")
    validation = np.concatenate(scored)
    threshold = thresholds(validation)["standard"]

    def flagged(key: str) -> float:
        x = features[key].astype(np.float64)
        return float((gate.score(x) >= threshold).mean()) if len(x) else float("nan")

    result: dict[str, Any] = {
        "distance": distance or "none", "c": c, "directions": directions,
        "held_out": held_out or "none",
        "false_flags_fitted_sources": float(np.nanmean([flagged(f"test/{s}/{v}") for s in fitted for v in VIEWS])),
        "clinical_test": flagged("clinical/test"),
        "photos": flagged("photos"),
    }
    generated = {k.split("/", 2)[2]: flagged(k) for k in features if k.startswith("generated/test/")}
    result["generated_min"] = min(generated.values())
    result["generated_mean"] = float(np.mean(list(generated.values())))
    result["generated"] = generated
    if held_out:
        result["false_flags_held_out"] = {v: flagged(f"test/{held_out}/{v}") for v in VIEWS}
    result["external"] = {k.split("/", 1)[1]: flagged(k) for k in features if k.startswith("external/")}
    return result


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate-study", help="compare image gate settings with one source held out",
        description="Fit the image gate with several settings, each on all sources but one, and "
                    "report false flags on the held-out source and detection of held-out negatives.")
    parser.add_argument("model", type=Path, help="an exported SkinDesk .onnx model (required)")
    parser.add_argument("--data", required=True, help="the labelled pool the model was trained on (required)")
    parser.add_argument("--split-file", type=Path, default=None,
                        help="the model's split JSON (default: the one saved beside the model)")
    parser.add_argument("--cache", type=Path, required=True, help="features .npz (read if present) (required)")
    parser.add_argument("--per-source", type=int, default=1500,
                        help="training images per source (a third as many validation, half as many test; default: 1500)")
    parser.add_argument("--negatives", type=int, default=100, help="generated images per kind for fitting (default: 100)")
    parser.add_argument("--external", type=Path, action="append", default=[],
                        help="a folder of dermoscopy from elsewhere: its false flags are reported (default: none)")
    parser.add_argument("--distance", default="none,all",
                        help="Mahalanobis distances to try: 'none', 'all' or a number of directions (default: none,all)")
    parser.add_argument("--c", default="1,3", help="regularisations of the learnt directions to try (default: 1,3)")
    parser.add_argument("--directions", default="1,2",
                        help="learnt directions to try: 1 (against all negatives) or 2 (clinical, generated; default: 1,2)")
    parser.add_argument("--out", type=Path, default=None, help="write every figure to this JSON file (default: none)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.cache.is_file():
        with np.load(args.cache) as data:
            features = {k: data[k] for k in data.files}
    else:
        features = collect_features(args.model, args.data, args.split_file, args.per_source,
                                    args.negatives, args.external)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.cache, **features)
    sources = sorted(k.split("/", 1)[1] for k in features if k.startswith("train/"))
    rows = []
    print(f"standard level: {STRICTNESS['standard']:.1%} of the fitted sources' validation views flagged")
    print(f"{'distance':>11} {'C':>5} {'learnt':>6} {'held out':>10} {'fitted FF':>9} "
          f"{'held-out FF (4 views)':>28} {'clinical':>8} {'gen min':>7} {'photos':>6}  external")
    settings = [(k, float(c), int(d)) for k in args.distance.split(",") for c in args.c.split(",")
                for d in args.directions.split(",")]
    for distance, c, directions in settings:
        for held_out in [None, *sources]:
            chosen = None if distance == "none" else distance if distance == "all" else int(distance)
            r = score_settings(features, chosen, c, held_out, directions)
            rows.append(r)
            held = " ".join(f"{v:.1%}" for v in r.get("false_flags_held_out", {}).values())
            ext = " ".join(f"{k} {v:.1%}" for k, v in r["external"].items())
            print(f"{distance:>11} {c:>5} {directions:>6} {r['held_out']:>10} "
                  f"{r['false_flags_fitted_sources']:>9.1%} {held:>28} {r['clinical_test']:>8.1%} "
                  f"{r['generated_min']:>7.1%} {r['photos']:>6.1%}  {ext}", flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0
