"""int8 vs float: accuracy on the untouched test split and speed on this machine, in one run.

Quantises ``--model`` (``skindesk-train quantize``: static QDQ, calibrated on validation images),
evaluates both files through the app's classifier on the model's own test split, times both
(median per-image inference over ``--count`` images, one image per call, and batch throughput),
and writes ``docs/quantization.json`` with a one-paragraph verdict: ship the int8 variant only if
balanced accuracy stays within 1 point and it is measurably faster.

    python benchmarks/bench_quantized.py [--model resources/models/skindesk.onnx]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from skindesk.core.classifier import Classifier  # noqa: E402
from skindesk.core.imaging import load_image  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.evaluate import evaluate_model, select_split  # noqa: E402
from training.quantize import quantize_model  # noqa: E402


def timing(classifier: Classifier, arrays: np.ndarray, batch: int = 32) -> dict[str, float]:
    singles = []
    for array in arrays:
        start = time.perf_counter()
        classifier.run(array[None])
        singles.append(time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(0, len(arrays), batch):
        classifier.run(arrays[i : i + batch])
    return {"median_ms_per_image": 1e3 * statistics.median(singles),
            "batch_images_per_second": len(arrays) / (time.perf_counter() - start)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=str(ROOT / "resources/models/skindesk.onnx"),
                        help="float model (default: the shipped one)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/dermoscopy"),
                        help="the pool the model's split refers to (default: ../shared/data/dermoscopy)")
    parser.add_argument("--out", default=str(ROOT / "resources/models/skindesk-int8.onnx"),
                        help="int8 model to write (default: resources/models/skindesk-int8.onnx)")
    parser.add_argument("--count", type=int, default=200, help="images timed (default: 200)")
    parser.add_argument("--json", default=str(ROOT / "docs/quantization.json"),
                        help="figures file (default: docs/quantization.json)")
    args = parser.parse_args()
    model = Path(args.model)
    float_classifier = Classifier(model, provider="cpu")
    records = load_dataset(args.data)
    validation, _ = select_split(records, "validation", card_raw=float_classifier.card.raw,
                                 model_path=model)
    test, _ = select_split(records, "test", card_raw=float_classifier.card.raw, model_path=model)
    calibration = [validation[i].path for i in range(0, len(validation), max(1, len(validation) // 200))]
    int8_path = quantize_model(model, args.out, calibration)
    int8_classifier = Classifier(int8_path, provider="cpu")
    arrays = np.stack([float_classifier.preprocess(load_image(r.path)) for r in test[: args.count]])
    figures = {}
    for label, classifier in (("float32", float_classifier), ("int8", int8_classifier)):
        report = evaluate_model(classifier, test, data_key="test").report["overall"]
        figures[label] = {"file_mb": round(classifier.model_path.stat().st_size / 1e6, 2),
                          "balanced_accuracy": report["balanced_accuracy"],
                          "accuracy": report["accuracy"],
                          "melanoma_auc": (report.get("melanoma") or {}).get("auc"),
                          **timing(classifier, arrays)}
    f, q = figures["float32"], figures["int8"]
    drop = f["balanced_accuracy"] - q["balanced_accuracy"]
    speedup = f["median_ms_per_image"] / q["median_ms_per_image"]
    ship = drop <= 0.01 and speedup >= 1.1
    figures["verdict"] = {"balanced_accuracy_drop": drop, "speedup_per_image": speedup,
                          "ship_int8": ship}
    figures["summary"] = (
        f"Static int8 quantisation (QDQ, per-channel, {len(calibration)} validation images for "
        f"calibration): balanced accuracy {100 * q['balanced_accuracy']:.1f} % vs "
        f"{100 * f['balanced_accuracy']:.1f} % (float), melanoma AUC {q['melanoma_auc']:.3f} vs "
        f"{f['melanoma_auc']:.3f}; {q['median_ms_per_image']:.1f} vs {f['median_ms_per_image']:.1f} ms "
        f"per image ({speedup:.2f}x), {q['batch_images_per_second']:.0f} vs "
        f"{f['batch_images_per_second']:.0f} images/s in batches of 32; {q['file_mb']} vs "
        f"{f['file_mb']} MB. " + ("Within 1 point and faster: the int8 file is kept beside the "
        "float model (`--model resources/models/skindesk-int8.onnx`)." if ship else
        "Not shipped: it does not keep balanced accuracy within 1 point while being measurably "
        "faster. (`python benchmarks/bench_quantized.py`)"))
    Path(args.json).write_text(json.dumps(figures, indent=1), encoding="utf-8")
    print(figures["summary"])
    if not ship:
        int8_path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
