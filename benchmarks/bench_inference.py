"""Inference speed: per-image latency end to end, batch throughput, and Keras for comparison.

Per image, as the app does it: ``load_image`` (JPEG draft decode) + ``Classifier.prepare``
(preprocessing and, when the card has quality limits, the quality checks) + one onnxruntime run
(with the image-gate output when the model has one) + building the ``Prediction``; median and p95 over ``--count`` images of
``../shared/data/dermoscopy`` (sources interleaved; files read once beforehand so the OS cache,
not the disk, is measured). Batch throughput: inference alone on preprocessed batches of
``--batch``, and end to end (load + preprocess + inference) in batches. With ``--keras FILE``
and TensorFlow installed, the same preprocessed images go through Keras ``model.predict`` one at
a time, and the ratio to onnxruntime is printed with the largest output difference (parity).

Goals (issue 2): a MobileNetV2-size model at 224 px on 2 cores, <= 15 ms per image end to end;
>= 5x faster than Keras one image at a time.

    python benchmarks/bench_inference.py [--model FILE] [--keras FILE.keras] [--count 200]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skindesk.core.classifier import Classifier, default_threads  # noqa: E402
from skindesk.core.imaging import IMAGE_EXTENSIONS, load_image  # noqa: E402
from skindesk.paths import default_model_path  # noqa: E402

__all__ = ["main"]

DEFAULT_DATA = REPO.parent / "shared" / "data" / "dermoscopy"


def pick_images(folder: Path, count: int) -> list[Path]:
    """``count`` images, spread evenly over labels.csv (both sources), or over the folder."""
    labels = folder / "labels.csv"
    if labels.exists():
        with open(labels, newline="", encoding="utf-8") as handle:
            all_paths = [folder / row["image"] for row in csv.DictReader(handle)]
    else:
        all_paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if len(all_paths) < count:
        raise SystemExit(f"only {len(all_paths)} images in {folder}; need {count}")
    step = len(all_paths) / count
    return [all_paths[int(i * step)] for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1e3:6.2f} ms   p95 {percentile(values, 95) * 1e3:6.2f} ms"


def time_per_image(clf: Classifier, paths: list[Path]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"total": [], "load": [], "preprocess": [], "inference": []}
    draft = clf.draft_size
    for path in paths:
        t0 = time.perf_counter()
        image = load_image(path, draft_size=draft)
        t1 = time.perf_counter()
        array, quality = clf.prepare(image)
        t2 = time.perf_counter()
        clf.predict_arrays(array[None], [str(path)], [quality])
        t3 = time.perf_counter()
        times["load"].append(t1 - t0)
        times["preprocess"].append(t2 - t1)
        times["inference"].append(t3 - t2)
        times["total"].append(t3 - t0)
    return times


def quality_cost(clf: Classifier, paths: list[Path]) -> tuple[float, float]:
    """Median seconds of ``prepare`` (with quality checks) and of ``preprocess`` alone,
    alternated image by image so both see the same machine load."""
    with_checks, without = [], []
    images = [load_image(p, draft_size=clf.draft_size) for p in paths]
    for image in images:
        t0 = time.perf_counter()
        clf.prepare(image)
        t1 = time.perf_counter()
        clf.preprocess(image)
        t2 = time.perf_counter()
        with_checks.append(t1 - t0)
        without.append(t2 - t1)
    return statistics.median(with_checks), statistics.median(without)


def batch_throughput(clf: Classifier, paths: list[Path], arrays: np.ndarray, batch: int) -> tuple[float, float]:
    """(images/s inference only, images/s end to end) at ``batch`` images per run."""
    clf.run(arrays[:batch])  # warm-up at this batch shape
    t0 = time.perf_counter()
    for start in range(0, len(arrays), batch):
        clf.predict_arrays(arrays[start : start + batch])
    inference = len(arrays) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for start in range(0, len(paths), batch):
        chunk = paths[start : start + batch]
        images = [load_image(p, draft_size=clf.draft_size) for p in chunk]
        clf.predict_images(images, [str(p) for p in chunk])
    end_to_end = len(paths) / (time.perf_counter() - t0)
    return inference, end_to_end


def keras_comparison(keras_file: Path, clf: Classifier, arrays: np.ndarray, onnx_infer: list[float],
                     onnx_total: list[float], load_pre: list[float]) -> None:
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
    except ImportError:
        print("keras: TensorFlow/Keras is not installed; comparison skipped")
        return
    model = keras.models.load_model(keras_file, compile=False)
    model.predict(arrays[:1], verbose=0)
    times, outputs = [], []
    for array in arrays:
        t0 = time.perf_counter()
        out = model.predict(array[None], verbose=0)
        times.append(time.perf_counter() - t0)
        outputs.append(np.asarray(out).reshape(-1))
    onnx_probs = clf.run(arrays)[clf.card.probabilities_output]
    difference = float(np.abs(np.stack(outputs) - onnx_probs).max())
    keras_total = [a + b for a, b in zip(load_pre, times)]
    print(f"keras predict, 1 image/call: {ms(times)}   (backend {keras.backend.backend()})")
    print(f"  end to end with keras:     {ms(keras_total)}")
    print(f"  ratio keras / onnxruntime: inference {statistics.median(times) / statistics.median(onnx_infer):.1f}x, "
          f"end to end {statistics.median(keras_total) / statistics.median(onnx_total):.1f}x   (goal >= 5x)")
    print(f"  largest probability difference keras vs onnx: {difference:.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=default_model_path(),
                        help=f"ONNX model (default: {default_model_path()})")
    parser.add_argument("--images", type=Path, default=DEFAULT_DATA,
                        help=f"image folder, with labels.csv when present (default: {DEFAULT_DATA})")
    parser.add_argument("--count", type=int, default=200, help="images timed (default: 200)")
    parser.add_argument("--batch", type=int, default=32, help="batch size for throughput (default: 32)")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"onnxruntime intra-op threads (default: {default_threads()}, all usable cores)")
    parser.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="execution provider (default: auto)")
    parser.add_argument("--quality-limits", type=Path, default=None,
                        help="quality limits JSON to use when the model card has none, to measure "
                             "what the checks cost (default: the card's own, if any)")
    parser.add_argument("--keras", type=Path, default=None,
                        help="the same model as .keras, for the Keras comparison (default: none)")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"no model at {args.model}; pass --model FILE", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    clf = Classifier(args.model, provider=args.provider, threads=args.threads)
    open_s = time.perf_counter() - t0
    if args.quality_limits is not None and clf.card.quality_limits is None:
        import dataclasses
        import json

        from skindesk.core.quality import QualityLimits

        limits = QualityLimits.from_dict(json.loads(args.quality_limits.read_text()))
        clf.card = dataclasses.replace(clf.card, quality_limits=limits)
    paths = pick_images(args.images, args.count)
    for path in paths:  # into the OS cache: measure decoding, not the disk
        path.read_bytes()
    spec = clf.card.preprocessing
    print(f"model: {clf.card.title} ({args.model}), input {spec.width}x{spec.height}, "
          f"{len(clf.card.classes)} classes; opened and verified in {open_s * 1e3:.0f} ms")
    print(f"provider: {clf.provider} {clf.providers} {clf.provider_note}".rstrip())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"threads: {args.threads or default_threads()} of {os.cpu_count()} cores; "
          f"load average {load:.2f} at start; images: {len(paths)} from {args.images}")

    time_per_image(clf, paths[:10])  # warm-up
    times = time_per_image(clf, paths)
    print(f"per image end to end:        {ms(times['total'])}   (goal <= 15 ms)")
    for stage in ("load", "preprocess", "inference"):
        print(f"  {stage:<26} {ms(times[stage])}")
    checked, plain = quality_cost(clf, paths)
    gate = "with" if clf.card.ood_output else "without"
    print(f"quality checks: prepare {checked * 1e3:.2f} ms vs preprocess {plain * 1e3:.2f} ms "
          f"(median): +{(checked - plain) * 1e3:.2f} ms per image "
          f"({'limits from the card' if clf.card.quality_limits else 'no limits: nothing checked'}); "
          f"model {gate} a gate output")

    arrays = np.stack([clf.preprocess(load_image(p, draft_size=clf.draft_size)) for p in paths])
    inference, end_to_end = batch_throughput(clf, paths, arrays, args.batch)
    print(f"batch {args.batch}: inference {inference:7.1f} images/s, end to end {end_to_end:7.1f} images/s")

    if args.keras is not None:
        load_pre = [a + b for a, b in zip(times["load"], times["preprocess"])]
        keras_comparison(args.keras, clf, arrays, times["inference"], times["total"], load_pre)
    return 0


if __name__ == "__main__":
    sys.exit(main())
