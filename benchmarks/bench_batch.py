"""Batch classification throughput: the real engine on a real folder, against pure inference.

Runs ``skindesk.core.batch.classify_files`` (lanes each decoding + preprocessing a chunk and
running it through onnxruntime in one call; every row written to a CSV as ``skindesk classify -o``
does) over a folder, then times the same model on preprocessed tensors already in memory (same
batch size), both as one session using every core and as the engine's lanes, and prints images/s
of the pipeline and of the faster pure-inference way, their ratio and the process's peak RSS
(measured before the in-memory tensors exist). Goals on 2 cores with the shipped model: >= 100 images/s,
>= 80 % of pure inference, peak RSS <= 600 MB.

    python benchmarks/bench_batch.py [--data ../shared/data/dermoscopy] [--model FILE]
        [--limit N] [--batch-size 4] [--sweep] [--workers N] [--provider auto|cuda|cpu]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from skindesk.core.batch import DEFAULT_BATCH_SIZE, classify_files, default_workers, find_images  # noqa: E402
from skindesk.core.classifier import Classifier  # noqa: E402
from skindesk.core.imaging import load_image  # noqa: E402
from skindesk.core.results import ModelInfo, open_results_csv  # noqa: E402

__all__ = ["main"]

DEFAULT_DATA = REPO.parent / "shared" / "data" / "dermoscopy"
DEFAULT_MODEL = REPO / "resources" / "models" / "skindesk.onnx"


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _spread(items: list, limit: int | None) -> list:
    """``limit`` items spread evenly over the list (every source represented), in order."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def pure_inference(classifier: Classifier, batches: list, seconds: float,
                   lanes: int = 1) -> tuple[float, float]:
    """(images/s, CPU seconds per image) of ``predict_arrays`` on tensors already in memory,
    called from ``lanes`` threads at once."""
    import threading

    classifier.predict_arrays(batches[0])  # warm-up
    counts = [0] * lanes
    started, cpu_started = time.perf_counter(), time.process_time()
    stop_at = started + seconds

    def lane(k: int) -> None:
        while time.perf_counter() < stop_at:
            for batch in batches[k::lanes] or batches:
                classifier.predict_arrays(batch)
                counts[k] += len(batch)

    threads = [threading.Thread(target=lane, args=(k,)) for k in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    done = sum(counts)
    return done / elapsed, (time.process_time() - cpu_started) / done


def _tensor_batches(classifier: Classifier, paths: list[str], batch_size: int) -> list:
    import numpy as np

    tensors = [classifier.preprocess(load_image(p, classifier.draft_size)) for p in paths]
    batches = [np.stack(tensors[i:i + batch_size]) for i in range(0, len(tensors), batch_size)]
    return [b for b in batches if len(b) == batch_size] or batches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder searched recursively (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                        help="ONNX model (default: the shipped model, %(default)s)")
    parser.add_argument("--limit", type=int, default=None,
                        help="classify only N files spread over the folder (default: all)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="images per inference call (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None,
                        help=f"engine lanes (default: one per core, here {default_workers()})")
    parser.add_argument("--threads", type=int, default=None,
                        help="onnxruntime intra-op threads (default: one per core)")
    parser.add_argument("--provider", choices=("auto", "cuda", "cpu"), default="auto",
                        help="execution provider (default: %(default)s)")
    parser.add_argument("--pure-images", type=int, default=256,
                        help="tensors held in memory for the pure-inference timing (default: %(default)s)")
    parser.add_argument("--sweep", action="store_true",
                        help="also time pure inference at batch sizes 1-32, both ways, and "
                             "compare the pipeline with the fastest of all")
    parser.add_argument("--pure-seconds", type=float, default=10.0,
                        help="how long pure inference is timed (default: %(default)s)")
    args = parser.parse_args(argv)

    if not args.model.is_file():
        print(f"bench_batch: model {args.model} not found (give one with --model)", file=sys.stderr)
        return 2
    classifier = Classifier(args.model, provider=args.provider, threads=args.threads)
    found = find_images([args.data], recursive=True)
    items = _spread([i for i in found.items if not i.error], args.limit)
    print(f"model: {classifier.card_title} ({args.model}), provider {classifier.provider}, "
          f"input {classifier.card.preprocessing.width}x{classifier.card.preprocessing.height}")
    print(f"data: {args.data}: {len(found.items)} files found, {len(items)} classified; "
          f"batch {args.batch_size}, workers {args.workers or default_workers()}, "
          f"cores {os.cpu_count()} (affinity {len(os.sched_getaffinity(0))})")

    model = ModelInfo.from_classifier(classifier)
    with tempfile.TemporaryDirectory() as tmp:
        writer, _ = open_results_csv(Path(tmp) / "bench.csv", model)
        errors = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        with writer:
            for row in classify_files(classifier, items, batch_size=args.batch_size,
                                      workers=args.workers):
                writer.write(row)
                errors += bool(row.error)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
    rss = _peak_rss_mb()
    pipeline = len(items) / elapsed
    print(f"pipeline: {len(items)} images in {elapsed:.1f} s = {pipeline:.1f} images/s "
          f"({errors} errors; CPU {cpu / elapsed:.2f} cores busy)")
    print(f"peak RSS (pipeline): {rss:.0f} MB")

    sample = [i.path for i in _spread(items, args.pure_images)]
    batches = _tensor_batches(classifier, sample, args.batch_size)
    # The reference is the model's best pure-inference throughput here, whichever way it is run:
    # one session using every core, or the engine's lanes each with their own share.
    lanes = args.workers or default_workers()
    whole, whole_cpu = pure_inference(classifier, batches, args.pure_seconds)
    print(f"pure inference, one {classifier.threads}-thread session, batch {args.batch_size}, "
          f"tensors in memory: {whole:.1f} images/s")
    runner = classifier.for_parallel_batches(lanes)
    shared, shared_cpu = (whole, whole_cpu) if runner is classifier else pure_inference(
        runner, batches, args.pure_seconds, lanes)
    print(f"pure inference, {lanes} lanes x {runner.threads}-thread sessions: "
          f"{shared:.1f} images/s")
    pure, pure_cpu = max((whole, whole_cpu), (shared, shared_cpu))
    print(f"pure inference reference (the faster): {pure:.1f} images/s")
    # CPU time per image does not depend on what else the machine runs (wall-clock rates do).
    print(f"CPU per image: pipeline {cpu / len(items) * 1e3:.2f} ms, pure inference "
          f"{pure_cpu * 1e3:.2f} ms (ratio {pure_cpu / (cpu / len(items)):.0%})")
    print(f"ratio pipeline / pure inference: {pipeline / pure:.0%}")
    if args.sweep:
        best = (pure, args.batch_size, "as above")
        for size in (1, 2, 4, 8, 16, 32):
            sized = _tensor_batches(classifier, sample, size)
            one = pure_inference(classifier, sized, args.pure_seconds / 3)[0]
            many = one if runner is classifier else pure_inference(
                runner, sized, args.pure_seconds / 3, lanes)[0]
            print(f"  pure inference, batch {size}: one session {one:.1f}, lanes {many:.1f} images/s")
            best = max(best, (one, size, "one session"), (many, size, "lanes"))
        print(f"ratio pipeline / fastest pure inference ({best[0]:.1f} images/s, batch {best[1]}, "
              f"{best[2]}): {pipeline / best[0]:.0%}")
    goals = [("images/s >= 100", pipeline >= 100), ("ratio >= 80 %", pipeline / pure >= 0.8),
             ("peak RSS <= 600 MB", rss <= 600)]
    print("goals: " + ", ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in goals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
