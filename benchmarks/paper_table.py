"""The shipped model on the seed paper's test images: the last row of the paper's table.

The 9-class folder dataset's ``Test`` folder (118 images) is what the paper reports on. Most of
its images are also in ``../shared/data/dermoscopy``, so the shipped model has seen some of them:
every Test image whose ISIC id is in the pool outside the model's own *test* split (its training
and validation images, and the audit's excluded copies) is left out, as it would flatter the
model. Labels are the folder's, as published.

    python benchmarks/paper_table.py [--model resources/models/skindesk.onnx]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skindesk.core.classifier import Classifier  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.evaluate import evaluate_model, select_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "resources/models/skindesk.onnx"),
                        help="model (default: the shipped one)")
    parser.add_argument("--kaggle", default=str(ROOT.parent / "shared/data/isic-9class-kaggle"),
                        help="the 9-class folder dataset (default: ../shared/data/isic-9class-kaggle)")
    parser.add_argument("--pool", default=str(ROOT.parent / "shared/data/dermoscopy"),
                        help="the training pool the model's split refers to (default: ../shared/data/dermoscopy)")
    parser.add_argument("--json", default=str(ROOT / "docs/paper-table-shipped.json"),
                        help="where to write the figures (default: docs/paper-table-shipped.json)")
    args = parser.parse_args()
    classifier = Classifier(args.model, provider="cpu")
    pool = load_dataset(args.pool)
    test_split, source = select_split(pool, "test", card_raw=classifier.card.raw,
                                      model_path=Path(args.model))
    held_out = {Path(r.name).stem for r in test_split}
    seen = {Path(r.name).stem for r in pool} - held_out
    kaggle_test = [r for r in load_dataset(args.kaggle) if r.split == "test"]
    scored = [r for r in kaggle_test if Path(r.name).stem not in seen]
    result = evaluate_model(classifier, scored, data_key="kaggle_test")
    overall = result.report["overall"]
    figures = {"model": classifier.card.title, "kaggle_test_images": len(kaggle_test),
               "scored_images": len(scored), "split_source": source,
               "accuracy": overall["accuracy"], "balanced_accuracy": overall["balanced_accuracy"],
               "per_class_support": {k: v["support"] for k, v in overall["per_class"].items()}}
    Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(f"{classifier.card.title} on the paper's Test folder: {len(scored)} of {len(kaggle_test)} "
          f"images were never used to train or tune it; accuracy {overall['accuracy']:.2%}, "
          f"balanced accuracy {overall['balanced_accuracy']:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
