"""Labelled image datasets in the two layouts SkinDesk trains on.

- Labels CSV: a file (or a folder holding ``labels.csv``) with ``image`` (path relative to the
  CSV's folder) and ``diagnosis`` columns, optional ``lesion_id`` and ``source``.
- Class-folder tree: ``DIR/<class>/*.jpg``, optionally ``DIR/Train/<class>`` and ``DIR/Test/<class>``
  (then each record's ``split`` is ``train`` or ``test`` as published).
Class names are normalised to lower case with single spaces (``Basal_Cell-Carcinoma`` →
``basal cell carcinoma``), so both layouts name the nine classes alike.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from skindesk.core.imaging import IMAGE_EXTENSIONS

__all__ = ["Record", "load_dataset", "normalise_label", "class_counts"]

_SPLIT_FOLDERS = {"train": "train", "test": "test", "val": "validation", "valid": "validation",
                  "validation": "validation"}


@dataclass(frozen=True)
class Record:
    """One labelled image. ``name`` is the path as given (relative to the dataset root)."""

    path: Path
    name: str
    label: str
    lesion_id: str | None = None
    source: str | None = None
    split: str | None = None

    @property
    def group(self) -> str:
        """Grouping key for splits: the lesion when known, else the image itself."""
        return self.lesion_id or f"image:{self.name}"


def normalise_label(label: str) -> str:
    return re.sub(r"[\s_\-]+", " ", label.strip()).lower()


def load_dataset(location: str | Path) -> list[Record]:
    """Read a labels CSV or a class-folder tree. Raises ValueError naming the problem."""
    location = Path(location)
    if location.is_file():
        return _load_csv(location)
    if not location.is_dir():
        raise ValueError(f"{location}: no such file or folder")
    if (location / "labels.csv").is_file():
        return _load_csv(location / "labels.csv")
    return _load_folders(location)


def class_counts(records: list[Record]) -> Counter[str]:
    return Counter(r.label for r in records)


def _load_csv(csv_path: Path) -> list[Record]:
    root = csv_path.parent
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        missing = {"image", "diagnosis"} - columns
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {sorted(missing)}; found {sorted(columns)}")
        records = []
        for row in reader:
            name = row["image"].strip()
            if not name:
                continue
            records.append(
                Record(
                    path=root / name,
                    name=name,
                    label=normalise_label(row["diagnosis"]),
                    lesion_id=(row.get("lesion_id") or "").strip() or None,
                    source=(row.get("source") or "").strip() or None,
                    split=_SPLIT_FOLDERS.get((row.get("split") or "").strip().lower()),
                )
            )
    if not records:
        raise ValueError(f"{csv_path}: no labelled images")
    return records


def _load_folders(root: Path) -> list[Record]:
    top = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    splits = {name: path for name, path in top.items() if name in _SPLIT_FOLDERS}
    if splits:
        bases = [(_SPLIT_FOLDERS[name], path) for name, path in sorted(splits.items())]
    else:
        bases = [(None, root)]
    records = []
    for split, base in bases:
        for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            for file in sorted(class_dir.rglob("*")):
                if file.is_file() and file.suffix.lower() in IMAGE_EXTENSIONS:
                    records.append(
                        Record(
                            path=file,
                            name=file.relative_to(root).as_posix(),
                            label=normalise_label(class_dir.name),
                            split=split,
                        )
                    )
    if not records:
        raise ValueError(f"{root}: no images found in class folders (expected DIR/<class>/*.jpg)")
    return records
