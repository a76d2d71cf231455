"""The training pool, decoded once into memory at the app's canonical scale.

Images are loaded with the app's own loader and brought to the canonical scale of the one
preprocessing function (``to_canonical_scale``), then kept as uint8 arrays; every epoch augments
them afresh. 17,895 pool images take about 1.6 GB.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.imaging import load_image
from skindesk.core.preprocess import Preprocessing, to_canonical_scale

from .data import Record, load_dataset
from .splits import grouped_split, load_split, save_split

__all__ = ["Pool", "prepare_pool", "decode_all", "data_fingerprint"]


@dataclass
class Pool:
    """The run's records, split, class names and decoded images (by record name)."""

    records: list[Record]
    split: dict[str, list[Record]]
    class_names: list[str]
    excluded: list[str]
    images: dict[str, np.ndarray]

    @property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.class_names)}

    def labels(self, part: str) -> np.ndarray:
        index = self.index
        return np.array([index[r.label] for r in self.split[part]], dtype=np.int64)

    def sources(self, part: str) -> list[str]:
        return [r.source or "unknown" for r in self.split[part]]

    def image(self, record: Record) -> Image.Image:
        return Image.fromarray(self.images[record.name])

    @classmethod
    def decoded(cls, parts: dict[str, list[Record]], class_names: list[str], spec: Preprocessing) -> Pool:
        """A pool of ``parts`` (e.g. an exported model's split), decoded at the canonical scale;
        unreadable images are left out of the split."""
        used = [r for part in parts.values() for r in part]
        images = decode_all(used, spec)
        split = {name: [r for r in part if r.name in images] for name, part in parts.items()}
        return cls(used, split, list(class_names), [], images)


def prepare_pool(data: str, out: Path, seed: int, limit: int | None, exclude_flagged: bool,
                 spec: Preprocessing, log: Callable[[str], None]) -> Pool:
    """Read labels, drop audit-flagged images, split by lesion (kept in ``out``), decode."""
    records = load_dataset(data)
    excluded: dict[str, str] = {}
    if exclude_flagged:
        excluded_file = out / "excluded.json"
        if excluded_file.exists():
            excluded = json.loads(excluded_file.read_text(encoding="utf-8"))
        else:
            from .audit import flagged_images

            excluded = flagged_images(records)
            excluded_file.write_text(json.dumps(excluded, indent=1), encoding="utf-8")
    records = [r for r in records if r.name not in excluded]
    if limit:
        rng = random.Random(seed)
        records = sorted(rng.sample(records, min(limit, len(records))), key=lambda r: r.name)
    split_file = out / "split.json"
    if split_file.exists():
        split = load_split(records, split_file)
    else:
        split = grouped_split(records, seed=seed)
        save_split(split, split_file)
    known = [row[0] for row in NINE_CLASSES]
    labels = sorted({r.label for r in records})
    class_names = [c for c in known if c in labels] + [c for c in labels if c not in known]
    log(f"{len(records)} images ({len(excluded)} excluded by the audit); "
        + ", ".join(f"{k} {len(v)}" for k, v in split.items()))
    images = decode_all(records, spec)
    unreadable = [r.name for r in records if r.name not in images]
    if unreadable:
        log(f"{len(unreadable)} unreadable images left out: {unreadable[:5]}")
        split = {k: [r for r in v if r.name in images] for k, v in split.items()}
        records = [r for r in records if r.name in images]
    return Pool(records, split, class_names, sorted(excluded), images)


def decode_all(records: list[Record], spec: Preprocessing, workers: int = 2) -> dict[str, np.ndarray]:
    """Decode every readable record once, at the canonical scale (uint8 RGB arrays)."""

    def decode(record: Record) -> tuple[str, np.ndarray | None]:
        try:
            image = to_canonical_scale(load_image(record.path), spec.canonical_area)
        except Exception:  # noqa: BLE001 - the audit reports unreadable files
            return record.name, None
        return record.name, np.asarray(image.convert("RGB"))

    with ThreadPoolExecutor(workers) as pool:
        return {name: array for name, array in pool.map(decode, records) if array is not None}


def data_fingerprint(records: list[Record]) -> str:
    """sha256 over the sorted (image sha256, label) pairs of the data a model saw."""
    lines = sorted(f"{hashlib.sha256(r.path.read_bytes()).hexdigest()} {r.label}" for r in records)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()
