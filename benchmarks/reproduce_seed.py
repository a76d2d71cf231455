"""Reproduce the seed paper's table, then show how much of it the data's defects explain.

Run 1, "as published": the paper's model and settings (training.seed) on isic-9class-kaggle
``Train`` split 80/20 at random (sklearn ``train_test_split``, random_state 42, files in name
order), the ``Test`` folder as test, no clean-up. Run 2, "audited": the same model and settings
after the audit's clean-up (label-conflict images dropped, one copy kept of each duplicate) and a
leakage-free split: lesion ids are taken from ../shared/data/dermoscopy/labels.csv by ISIC id,
training images of a lesion that is also in ``Test`` are dropped, and train/validation are split
80/20 by lesion (stratified, seed 42). Prints train / validation / test accuracy next to the
paper's 48.96 / 51.34 / 47.35 % and writes the figures as JSON. "train" is the last epoch's
accuracy on augmented batches with dropout, as Keras reports it and the paper shows it;
"train (clean)" is the same images scored without augmentation.

    python benchmarks/reproduce_seed.py [--epochs 25] [--out runs/seed-reproduction]
        [--json docs/seed-reproduction.json] [--cache-dir DIR] [--only published|audited]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from training.audit import flagged_images  # noqa: E402
from training.data import Record, load_dataset  # noqa: E402
from training.seed import PAPER_ACCURACY, PAPER_EPOCHS, accuracy, load_arrays, train_seed  # noqa: E402
from training.splits import grouped_split  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "isic-9class-kaggle"
POOL_LABELS = REPO.parent / "shared" / "data" / "dermoscopy" / "labels.csv"


def isic_id(record: Record) -> str:
    return Path(record.name).stem.split("(")[0]


def attach_lesions(records: list[Record]) -> tuple[list[Record], int]:
    lesions = {}
    if POOL_LABELS.is_file():
        with open(POOL_LABELS, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row.get("lesion_id"):
                    lesions[row["isic_id"]] = row["lesion_id"]
    out = [dataclasses.replace(r, lesion_id=lesions.get(isic_id(r))) for r in records]
    return out, sum(r.lesion_id is not None for r in out)


def published_split(records: list[Record]) -> dict[str, list[Record]]:
    from sklearn.model_selection import train_test_split

    train = sorted((r for r in records if r.split == "train"), key=lambda r: r.name)
    test = sorted((r for r in records if r.split == "test"), key=lambda r: r.name)
    fit, val = train_test_split(train, test_size=0.2, random_state=42)
    return {"train": list(fit), "validation": list(val), "test": test}


def audited_split(records: list[Record]) -> tuple[dict[str, list[Record]], dict[str, int]]:
    flagged = flagged_images(records)
    clean = [r for r in records if r.name not in flagged]
    test = sorted((r for r in clean if r.split == "test"), key=lambda r: r.name)
    test_lesions = {r.lesion_id for r in test if r.lesion_id}
    pool = [r for r in clean if r.split == "train"]
    same_lesion = [r for r in pool if r.lesion_id and r.lesion_id in test_lesions]
    pool = [r for r in pool if not (r.lesion_id and r.lesion_id in test_lesions)]
    split = grouped_split(pool, (0.8, 0.2, 0.0), seed=42)
    split["test"] = test
    return split, {"flagged_by_audit": len(flagged), "train_images_of_test_lesions": len(same_lesion)}


def run(name: str, split: dict[str, list[Record]], classes: list[str], arrays: np.ndarray,
        position: dict[str, int], args: argparse.Namespace) -> dict:
    index = {c: i for i, c in enumerate(classes)}

    def xy(part: str) -> tuple[np.ndarray, np.ndarray]:
        idx = np.array([position[r.name] for r in split[part]], dtype=np.int64)
        return arrays[idx], np.array([index[r.label] for r in split[part]], dtype=np.int64)

    (xt, yt), (xv, yv), (xs, ys) = xy("train"), xy("validation"), xy("test")
    print(f"\n== {name}: train {len(xt)}, validation {len(xv)}, test {len(xs)} images", flush=True)
    started = time.monotonic()
    model, history = train_seed(xt, yt, xv, yv, len(classes), Path(args.out) / name, epochs=args.epochs,
                                seed=42, resume=args.resume)
    return {
        "images": {k: len(v) for k, v in split.items()},
        "epochs": args.epochs,
        "train": history["accuracy"][-1],
        "validation": history["val_accuracy"][-1],
        "test": accuracy(model, xs, ys),
        "train_clean": accuracy(model, xt, yt),
        "validation_recomputed": accuracy(model, xv, yv),
        "seconds_per_epoch": float(np.mean(history["seconds"])),
        "wall_seconds": round(time.monotonic() - started, 1),
        "history": history,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(DATA), help=f"the 9-class folder dataset (default: {DATA})")
    parser.add_argument("--epochs", type=int, default=PAPER_EPOCHS, help="epochs per run (default: 25, the paper's)")
    parser.add_argument("--out", default=str(REPO / "runs" / "seed-reproduction"),
                        help="run folders (default: runs/seed-reproduction)")
    parser.add_argument("--json", default=str(REPO / "docs" / "seed-reproduction.json"),
                        help="figures JSON (default: docs/seed-reproduction.json)")
    parser.add_argument("--cache-dir", default=None, help="decoded-image cache (default: ~/.cache/skindesk/arrays)")
    parser.add_argument("--only", choices=("published", "audited"), default=None, help="run one of the two (default: both)")
    parser.add_argument("--resume", action="store_true", help="continue interrupted runs from their checkpoints (default: off)")
    args = parser.parse_args(argv)
    try:
        records = load_dataset(args.data)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    records, with_lesion = attach_lesions(records)
    classes = sorted({r.label for r in records})
    arrays = load_arrays(records, args.cache_dir)
    position = {r.name: i for i, r in enumerate(records)}
    result: dict = {"paper": PAPER_ACCURACY, "data": str(args.data), "classes": classes,
                    "images_with_known_lesion": with_lesion}
    if args.only in (None, "published"):
        result["as_published"] = run("published", published_split(records), classes, arrays, position, args)
    if args.only in (None, "audited"):
        split, removed = audited_split(records)
        result["audited"] = run("audited", split, classes, arrays, position, args)
        result["audited"]["removed"] = removed
    print(f"\n{'':24}{'train':>9}{'validation':>12}{'test':>9}   (accuracy, {args.epochs} epochs)")
    print(f"{'paper (reported)':24}{PAPER_ACCURACY['train']:>9.2%}{PAPER_ACCURACY['validation']:>12.2%}"
          f"{PAPER_ACCURACY['test']:>9.2%}")
    for key, title in (("as_published", "reproduced, as published"), ("audited", "audited, leakage-free")):
        if key in result:
            r = result[key]
            print(f"{title:24}{r['train']:>9.2%}{r['validation']:>12.2%}{r['test']:>9.2%}"
                  f"   ({r['seconds_per_epoch']:.0f} s/epoch; train without augmentation {r['train_clean']:.2%})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
