"""Stratified train/validation/test splits that keep every lesion on one side.

Groups (``Record.group``: the lesion id, or the image when unknown) are assigned whole. Within each
class (a group's majority label), groups are shuffled with ``seed`` and dealt out so each split gets
its share of images; the result is deterministic for a given dataset and seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path

from .data import Record

__all__ = ["grouped_split", "save_split", "load_split"]


def grouped_split(
    records: list[Record],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 42,
) -> dict[str, list[Record]]:
    """Split into ``train``/``validation``/``test`` by group, stratified by class."""
    if abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions {fractions} must be non-negative and sum to 1")
    groups: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        groups[record.group].append(record)
    by_class: dict[str, list[str]] = defaultdict(list)
    for key, members in groups.items():
        label = Counter(r.label for r in members).most_common(1)[0][0]
        by_class[label].append(key)
    rng = random.Random(seed)
    names = ("train", "validation", "test")
    result: dict[str, list[Record]] = {name: [] for name in names}
    for label in sorted(by_class):
        keys = sorted(by_class[label])
        rng.shuffle(keys)
        total = sum(len(groups[k]) for k in keys)
        filled = dict.fromkeys(names, 0)
        for key in keys:
            # Give the group to the split furthest below its target share of this class.
            need = {n: fractions[i] * total - filled[n] for i, n in enumerate(names)}
            target = max(names, key=lambda n: (need[n], -names.index(n)))
            result[target].extend(groups[key])
            filled[target] += len(groups[key])
    for name in names:
        result[name].sort(key=lambda r: r.name)
    return result


def save_split(split: dict[str, list[Record]], path: str | Path) -> None:
    """Write ``{split: [image names]}`` as JSON (saved with each training run)."""
    data = {name: [r.name for r in records] for name, records in split.items()}
    Path(path).write_text(json.dumps(data, indent=1), encoding="utf-8")


def load_split(records: list[Record], path: str | Path) -> dict[str, list[Record]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    by_name = {r.name: r for r in records}
    missing = [n for names in data.values() for n in names if n not in by_name]
    if missing:
        raise ValueError(f"{path}: {len(missing)} images of the saved split are not in the data, e.g. {missing[0]}")
    return {name: [by_name[n] for n in names] for name, names in data.items()}
