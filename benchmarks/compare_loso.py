"""Leave-one-source-out melanoma-vs-nevus AUC of several models on the same images, with intervals.

The probe of ``training.shortcut`` (standardised pooled features, logistic regression C=0.01,
balanced), fitted per held-out source on the other sources' training melanomas and nevi
(``--per-source`` at most, the same images for every model) and scored on the held-out source's
images of ``--split-file``'s test part. Prints each model's AUC per source with a 95 % bootstrap
interval, and the paired bootstrap interval of the difference to the first model.

    python benchmarks/compare_loso.py --data ../shared/data/dermoscopy \
        --split-file SPLIT.json MODEL_A.onnx MODEL_B.onnx
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training import metrics as M  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.pool import decode_all  # noqa: E402
from training.shortcut import OnnxFeatures, melanoma_probe  # noqa: E402
from training.splits import load_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split-file", type=Path, required=True)
    parser.add_argument("--per-source", type=int, default=1500)
    parser.add_argument("--boot", type=int, default=2000)
    args = parser.parse_args()
    from PIL import Image

    records = load_dataset(args.data)
    parts = load_split(records, args.split_file)
    pick = random.Random(0)
    train: list = []
    for source in sorted({r.source for r in parts["train"]}):
        group = [r for r in parts["train"] if r.source == source and r.label in ("melanoma", "nevus")]
        train += pick.sample(group, min(args.per_source, len(group)))
    test = [r for r in parts["test"] if r.label in ("melanoma", "nevus")]
    sources = sorted({r.source for r in test})
    rng = np.random.default_rng(0)
    results: dict[str, dict[str, tuple[float, np.ndarray]]] = {}
    for model_path in args.models:
        model = OnnxFeatures(model_path)
        arrays = decode_all(train + test, model.card.preprocessing)
        feats = {}
        for name, chosen in (("train", train), ("test", test)):
            feats[name] = model.run([Image.fromarray(arrays[r.name]) for r in chosen])[1]
        results[str(model_path)] = {}
        for source in sources:
            fit = np.array([r.source != source for r in train])
            y_fit = np.array([r.label == "melanoma" for r in train])[fit]
            mask = np.array([r.source == source for r in test])
            truth = np.array([r.label == "melanoma" for r in test])[mask]
            score = melanoma_probe(feats["train"][fit], y_fit, feats["test"][mask])
            results[str(model_path)][source] = (M.binary_auc(score, truth), score, truth)
    first = str(args.models[0])
    for source in sources:
        truth = results[first][source][2]
        boots = [rng.integers(0, len(truth), len(truth)) for _ in range(args.boot)]
        boots = [b for b in boots if 0 < truth[b].sum() < len(b)]
        print(f"{source}: {int(truth.sum())} melanomas, {int((~truth).sum())} nevi")
        base = [M.binary_auc(results[first][source][1][b], truth[b]) for b in boots]
        for name, per_source in results.items():
            auc, score, _ = per_source[source]
            boot = [M.binary_auc(score[b], truth[b]) for b in boots]
            line = f"  {Path(name).parent.name}/{Path(name).name}: AUC {auc:.3f} [{np.quantile(boot, 0.025):.3f}-{np.quantile(boot, 0.975):.3f}]"
            if name != first:
                diff = np.array(boot) - np.array(base)
                line += f"; minus first {auc - results[first][source][0]:+.3f} [{np.quantile(diff, 0.025):+.3f} to {np.quantile(diff, 0.975):+.3f}]"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
