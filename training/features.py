"""Decode each image once, cache backbone features, and resume where a run stopped.

Training on two CPU cores is only practical if the frozen lower part of the backbone runs once per
image view, not once per epoch. ``cache_views`` pushes every record through: load (skindesk's
loader) → optional augmentation → skindesk's shared ``preprocess`` → the frozen ``encoder``, and
stores float16 arrays in chunk files (``DIR/<view>/chunk_00012.npy``) so an interrupted run picks
up at the next missing chunk. Views: ``clean``, ``rescaled`` (as from a larger, sharper original)
and ``aug<k>`` (random augmentation, deterministic per image, view and seed).
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from skindesk.core.imaging import load_image
from skindesk.core.preprocess import Preprocessing, preprocess

from .augment import augment, rescaled_like_external
from .data import Record
from .progress import Progress

__all__ = ["view_tensor", "cache_views", "load_view"]

CHUNK = 256


def view_tensor(record: Record, view: str, spec: Preprocessing, seed: int = 0) -> np.ndarray | None:
    """The preprocessed tensor of one view of one record (None when unreadable)."""
    try:
        image = load_image(record.path)
    except Exception:  # noqa: BLE001 - unreadable files are reported by the audit
        return None
    return preprocess(transform_view(image, record.name, view, seed), spec)


def transform_view(image: Image.Image, name: str, view: str, seed: int = 0) -> Image.Image:
    if view == "clean":
        return image
    if view == "rescaled":
        return rescaled_like_external(image)
    if view.startswith("aug"):
        rng = random.Random(zlib.crc32(f"{seed}:{view}:{name}".encode()))
        return augment(image, rng)
    raise ValueError(f"unknown view {view!r}")


def cache_views(
    records: Sequence[Record],
    views: Sequence[str],
    encoder: Callable[[np.ndarray], np.ndarray],
    spec: Preprocessing,
    cache_dir: str | Path,
    seed: int = 0,
    workers: int = 2,
) -> None:
    """Fill ``cache_dir`` with encoder outputs for every record and view (resumable)."""
    cache_dir = Path(cache_dir)
    names_file = cache_dir / "names.txt"
    names = [r.name for r in records]
    cache_dir.mkdir(parents=True, exist_ok=True)
    if names_file.exists() and names_file.read_text(encoding="utf-8").split("\n") != names:
        raise ValueError(f"{cache_dir}: the cache was built for other images; use another --cache-dir")
    names_file.write_text("\n".join(names), encoding="utf-8")
    chunks = [(view, start) for view in views for start in range(0, len(records), CHUNK)]
    todo = [(v, s) for v, s in chunks if not _chunk_path(cache_dir, v, s).exists()]
    if not todo:
        return
    progress = Progress(sum(len(records[s : s + CHUNK]) for _, s in todo), "caching features")
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def submit(view: str, start: int):  # noqa: ANN202
            part = records[start : start + CHUNK]
            return pool.map(lambda r: view_tensor(r, view, spec, seed), part)

        pending = submit(*todo[0])
        for index, (view, start) in enumerate(todo):
            tensors = list(pending)
            if index + 1 < len(todo):
                pending = submit(*todo[index + 1])
            batch = np.stack([t if t is not None else np.zeros((spec.height, spec.width, 3), np.float32)
                              for t in tensors])
            features = encoder(batch).astype(np.float16)
            path = _chunk_path(cache_dir, view, start)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path.with_suffix(".tmp.npy"), features)
            path.with_suffix(".tmp.npy").replace(path)
            progress.update(len(tensors))
    progress.close()


def load_view(cache_dir: str | Path, view: str, count: int) -> np.ndarray:
    """All cached features of ``view`` in record order, shape (count, ...)."""
    cache_dir = Path(cache_dir)
    parts = [np.load(_chunk_path(cache_dir, view, s)) for s in range(0, count, CHUNK)]
    return np.concatenate(parts)[:count]


def _chunk_path(cache_dir: Path, view: str, start: int) -> Path:
    return cache_dir / view / f"chunk_{start // CHUNK:05d}.npy"
