"""Data audit: what is wrong with a labelled image set before anything is trained on it.

``skindesk-train audit DATA`` reports counts per class and split, byte-identical duplicates
(sha256), near-duplicates (a re-encoded, resized or re-compressed copy of the same picture), the
same picture filed under two classes (label conflict), the same picture or the same lesion on both
sides of a split (leakage; the split is the ``Train``/``Test`` folders of a tree, a ``split``
column, or ``--split FILE``), and unreadable or tiny files. ``flagged_images`` turns the findings
into the exclusion list training applies by default.

Near-duplicates are found in two steps: a 64-bit DCT perceptual hash (pHash, 32x32 grayscale)
proposes pairs within ``CANDIDATE_DISTANCE`` bits, and the Pearson correlation of 16x16 grayscale
thumbnails must reach ``NEAR_CORRELATION`` to confirm them. Calibrated on the real data
(docs/audit/README.md): 1,976 images stored both in isic-9class-kaggle (180x180, squashed) and in
dermoscopy (200x150, aspect kept), i.e. re-encoded and resized copies, are all within 6 bits and
correlate at 0.9916 or more, while 8,729 pairs of different lesions share a pHash within 8 bits
and mostly correlate below 0.9 (the hash alone would merge thousands of different pictures).
Hashes are cached per file (path, size, mtime) so a second audit of 12,765 images takes seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from skindesk.core.errors import ImageLoadError
from skindesk.core.imaging import load_image

from .data import Record, class_counts, load_dataset

__all__ = [
    "CANDIDATE_DISTANCE",
    "NEAR_CORRELATION",
    "TINY_SIDE",
    "ImageInfo",
    "DuplicateGroup",
    "AuditReport",
    "perceptual_hash",
    "thumbnail",
    "image_info",
    "compute_infos",
    "default_cache_path",
    "audit",
    "flagged_images",
    "add_parser",
    "run",
]

CANDIDATE_DISTANCE = 8  # pHash bits; re-encoded/resized copies of the real data: at most 6
NEAR_CORRELATION = 0.985  # 16x16 thumbnails; re-encoded/resized copies of the real data: >= 0.9916
TINY_SIDE = 32  # pixels; an image with a shorter side is reported (and excluded from training)
THUMB_SIDE = 16
HASH_VERSION = 1
_DRAFT = (256, 256)  # JPEG draft decoding keeps at least this, so small images decode in full


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[0] /= np.sqrt(2.0)
    return matrix * np.sqrt(2.0 / n)


_DCT32 = _dct_matrix(32)


def perceptual_hash(gray: Image.Image) -> int:
    """64-bit pHash: 32x32 grayscale, 2-D DCT, the 8x8 lowest frequencies against their median."""
    pixels = np.asarray(gray.resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    low = (_DCT32 @ pixels @ _DCT32.T)[:8, :8].ravel()
    bits = low > np.median(low)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def thumbnail(gray: Image.Image) -> np.ndarray:
    """16x16 grayscale thumbnail (uint8, flattened) used to confirm near-duplicate candidates."""
    return np.asarray(gray.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.BOX), dtype=np.uint8).ravel()


@dataclass
class ImageInfo:
    """What the audit knows about one file (``error`` set when it could not be read)."""

    sha256: str | None = None
    phash: int | None = None
    thumb: np.ndarray | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None

    def to_cache(self) -> list[Any]:
        return [self.sha256, None if self.phash is None else f"{self.phash:016x}",
                None if self.thumb is None else self.thumb.tobytes().hex(),
                self.width, self.height, self.error]

    @classmethod
    def from_cache(cls, row: list[Any]) -> ImageInfo:
        sha, phash, thumb, width, height, error = row
        return cls(sha, None if phash is None else int(phash, 16),
                   None if thumb is None else np.frombuffer(bytes.fromhex(thumb), dtype=np.uint8),
                   width, height, error)


def image_info(path: str | Path) -> ImageInfo:
    """Hash and measure one file; never raises for a bad image (``error`` says what is wrong)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        return ImageInfo(error=f"cannot be read ({error.strerror or error})")
    info = ImageInfo(sha256=hashlib.sha256(data).hexdigest())
    try:
        with Image.open(path) as header:
            info.width, info.height = header.size
    except Exception:  # noqa: BLE001 - load_image below names the problem
        pass
    try:
        image = load_image(path, draft_size=_DRAFT)
    except ImageLoadError as error:
        info.error = error.problem
        return info
    except Exception as error:  # noqa: BLE001 - any decoder failure is a finding, not a crash
        info.error = f"cannot be decoded ({type(error).__name__}: {error})"
        return info
    gray = image.convert("L")
    info.phash = perceptual_hash(gray)
    info.thumb = thumbnail(gray)
    if info.width is None:
        info.width, info.height = image.size
    return info


def default_cache_path() -> Path:
    """``$SKINDESK_TRAIN_CACHE/image-hashes.json``, else ``~/.cache/skindesk/image-hashes.json``."""
    base = os.environ.get("SKINDESK_TRAIN_CACHE")
    root = Path(base) if base else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "skindesk"
    return root / "image-hashes.json"


def _cache_key(path: Path) -> tuple[str, str] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return str(path.resolve()), f"{HASH_VERSION}:{stat.st_size}:{stat.st_mtime_ns}"


def _load_cache(cache_path: Path | None) -> dict[str, Any]:
    if cache_path is None or not cache_path.is_file():
        return {}
    try:
        data = json.loads(cache_path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # a damaged cache is only a slower run


def _save_cache(cache_path: Path, entries: dict[str, Any]) -> None:
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        merged = _load_cache(cache_path)
        merged.update(entries)
        fd, tmp = tempfile.mkstemp(dir=cache_path.parent, prefix=".hashes-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(merged, handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, cache_path)
    except OSError as error:
        print(f"note: hash cache {cache_path} not written ({error})", file=sys.stderr)


class _Progress:
    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.done = 0
        self.start = self.last = time.monotonic()
        self.lock = threading.Lock()
        self.tty = sys.stderr.isatty()

    def step(self) -> None:
        with self.lock:
            self.done += 1
            now = time.monotonic()
            if not self.enabled or (now - self.last < (0.5 if self.tty else 5.0) and self.done < self.total):
                return
            self.last = now
            elapsed = now - self.start
            eta = elapsed / self.done * (self.total - self.done)
            line = (f"{self.label}: {self.done}/{self.total} ({100 * self.done / self.total:.0f}%), "
                    f"{elapsed:.0f} s, ETA {eta:.0f} s")
            print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)
            if self.tty and self.done == self.total:
                print(file=sys.stderr)


def compute_infos(
    records: Sequence[Record],
    cache_path: Path | None | str = "default",
    workers: int | None = None,
    progress: bool = True,
) -> list[ImageInfo]:
    """``ImageInfo`` for every record, from the cache where the file is unchanged, in a thread pool."""
    if cache_path == "default":
        cache_path = default_cache_path()
    cache_path = None if cache_path is None else Path(cache_path)
    cache = _load_cache(cache_path)
    infos: list[ImageInfo | None] = [None] * len(records)
    keys = [_cache_key(r.path) for r in records]
    todo = []
    for i, key in enumerate(keys):
        row = cache.get(key[0]) if key else None
        if row and row[0] == key[1]:
            infos[i] = ImageInfo.from_cache(row[1])
        else:
            todo.append(i)
    if todo:
        bar = _Progress(len(todo), f"hashing {len(todo)} images", progress)

        def work(i: int) -> ImageInfo:
            info = image_info(records[i].path)
            bar.step()
            return info

        workers = workers or min(4, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for i, info in zip(todo, pool.map(work, todo)):
                infos[i] = info
        if cache_path is not None:
            fresh = {keys[i][0]: [keys[i][1], infos[i].to_cache()] for i in todo if keys[i]}
            _save_cache(cache_path, fresh)
    return infos  # type: ignore[return-value]


@dataclass
class DuplicateGroup:
    """Files holding the same picture: ``exact`` (same bytes) or ``near`` (re-encoded, resized...)."""

    members: list[int]
    files: list[str]
    labels: list[str]
    splits: list[str | None]
    lesions: list[str | None]
    kind: str

    @property
    def conflict(self) -> bool:
        return len(set(self.labels)) > 1

    @property
    def leak(self) -> bool:
        return len({s for s in self.splits if s}) > 1

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "files": self.files, "labels": self.labels,
                "classes": sorted(set(self.labels)), "splits": self.splits,
                "lesion_ids": self.lesions, "label_conflict": self.conflict, "leak": self.leak}


@dataclass
class AuditReport:
    """Everything ``audit`` found; ``to_dict`` is the ``--json`` schema, ``summary`` the text."""

    data: str
    records: list[Record]
    infos: list[ImageInfo]
    splits: list[str | None]
    split_source: str | None
    groups: list[DuplicateGroup]
    lesion_leaks: list[dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def conflicts(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.conflict]

    @property
    def image_leaks(self) -> list[DuplicateGroup]:
        return [g for g in self.groups if g.leak]

    @property
    def unreadable(self) -> list[dict[str, str]]:
        return [{"file": r.name, "problem": i.error} for r, i in zip(self.records, self.infos) if i.error]

    @property
    def tiny(self) -> list[dict[str, Any]]:
        return [{"file": r.name, "width": i.width, "height": i.height}
                for r, i in zip(self.records, self.infos)
                if not i.error and i.width is not None and min(i.width, i.height) < TINY_SIDE]

    @property
    def failed(self) -> bool:
        """True when ``--strict`` must fail: label conflicts or leakage."""
        return bool(self.conflicts or self.image_leaks or self.lesion_leaks)

    def counts(self) -> dict[str, dict[str, int]]:
        by_split: dict[str, list[Record]] = defaultdict(list)
        for record, split in zip(self.records, self.splits):
            by_split[split or "all"].append(record)
        return {s: dict(sorted(class_counts(rs).items())) for s, rs in sorted(by_split.items())}

    def to_dict(self) -> dict[str, Any]:
        groups = self.groups
        return {
            "data": self.data,
            "images": len(self.records),
            "split_source": self.split_source,
            "counts": self.counts(),
            "settings": self.settings,
            "duplicate_groups": [g.to_dict() for g in groups],
            "label_conflicts": [{"files": g.files, "labels": g.labels, "kind": g.kind} for g in self.conflicts],
            "leaks": (
                [{"kind": "image", "files": g.files, "splits": g.splits, "duplicate_kind": g.kind}
                 for g in self.image_leaks]
                + self.lesion_leaks
            ),
            "unreadable": self.unreadable,
            "tiny": self.tiny,
            "totals": {
                "duplicate_groups": len(groups),
                "exact_groups": sum(g.kind == "exact" for g in groups),
                "near_groups": sum(g.kind == "near" for g in groups),
                "redundant_files": sum(len(g.files) - 1 for g in groups),
                "label_conflicts": len(self.conflicts),
                "image_leaks": len(self.image_leaks),
                "lesion_leaks": len(self.lesion_leaks),
                "cross_lesion_duplicates": sum(
                    len({lesion or f"image:{f}" for lesion, f in zip(g.lesions, g.files)}) > 1 for g in groups
                ) if any(r.lesion_id for r in self.records) else None,
                "unreadable": len(self.unreadable),
                "tiny": len(self.tiny),
                "flagged_for_exclusion": len(_flags(self)),
            },
        }

    def summary(self, examples: int = 5) -> str:
        d = self.to_dict()
        t = d["totals"]
        lines = [f"Audit of {self.data}: {len(self.records)} images"
                 + (f", split from {self.split_source}" if self.split_source else ", no split")]
        counts = d["counts"]
        classes = sorted({c for per in counts.values() for c in per})
        width = max([len(c) for c in classes] + [5])
        lines.append("")
        lines.append(f"{'class':<{width}} " + " ".join(f"{s:>10}" for s in counts))
        for c in classes:
            lines.append(f"{c:<{width}} " + " ".join(f"{counts[s].get(c, 0):>10}" for s in counts))
        lines.append(f"{'total':<{width}} " + " ".join(f"{sum(counts[s].values()):>10}" for s in counts))
        lines.append("")
        lines.append(f"Duplicate groups: {t['duplicate_groups']} ({t['exact_groups']} byte-identical, "
                     f"{t['near_groups']} near-identical), {t['redundant_files']} redundant files")
        if any(r.lesion_id for r in self.records):
            lines.append(f"  of which span more than one lesion id (or an image without one): "
                         f"{t['cross_lesion_duplicates']}; a lesion-grouped split can put such copies "
                         "on both sides unless they are excluded")
        for g in self.groups[:examples]:
            lines.append(f"  [{g.kind}] " + " | ".join(f"{f} ({lab})" for f, lab in zip(g.files, g.labels)))
        lines.append(f"Label conflicts (same picture, different classes): {t['label_conflicts']}")
        pairs = Counter(" / ".join(sorted(set(g.labels))) for g in self.conflicts)
        for classes_, n in pairs.most_common():
            lines.append(f"  {n:4d} × {classes_}")
        if self.split_source:
            lesions = (f"{t['lesion_leaks']} lesions" if any(r.lesion_id for r in self.records)
                       else "lesions not checked (no lesion ids in the data)")
            lines.append(f"Leakage across splits: {t['image_leaks']} pictures, {lesions}")
            for g in self.image_leaks[:examples]:
                lines.append("  " + " | ".join(f"{f} ({s})" for f, s in zip(g.files, g.splits)))
            for leak in self.lesion_leaks[:examples]:
                lines.append(f"  lesion {leak['lesion_id']}: {', '.join(sorted(set(leak['splits'])))}")
        else:
            lines.append("Leakage: not checked (no split: give --split FILE or use Train/Test folders)")
        lines.append(f"Unreadable files: {t['unreadable']}")
        for item in self.unreadable[:examples]:
            lines.append(f"  {item['file']}: {item['problem']}")
        lines.append(f"Tiny images (shorter side < {TINY_SIDE} px): {t['tiny']}")
        for item in self.tiny[:examples]:
            lines.append(f"  {item['file']}: {item['width']}x{item['height']}")
        lines.append(f"Training would exclude {t['flagged_for_exclusion']} images "
                     "(conflicts, all but one copy of each duplicate, unreadable, tiny).")
        lines.append("Verdict: " + ("FAIL (label conflicts or leakage)" if self.failed else "no conflicts or leaks"))
        return "\n".join(lines)


def _near_pairs(indices: list[int], infos: Sequence[ImageInfo]) -> list[tuple[int, int]]:
    """Pairs of ``indices`` that are near-duplicates (pHash candidate + thumbnail correlation)."""
    if len(indices) < 2:
        return []
    hashes = np.array([infos[i].phash for i in indices], dtype=np.uint64)
    thumbs = np.stack([infos[i].thumb for i in indices]).astype(np.float64)
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(thumbs, axis=1, keepdims=True)
    thumbs /= np.where(norms > 0, norms, 1.0)
    pairs = []
    chunk = 1024
    for start in range(0, len(hashes), chunk):
        distance = np.bitwise_count(hashes[start:start + chunk, None] ^ hashes[None, :])
        rows, cols = np.nonzero(distance <= CANDIDATE_DISTANCE)
        rows = rows + start
        keep = cols > rows
        rows, cols = rows[keep], cols[keep]
        if rows.size:
            corr = np.einsum("ij,ij->i", thumbs[rows], thumbs[cols])
            for a, b in zip(rows[corr >= NEAR_CORRELATION], cols[corr >= NEAR_CORRELATION]):
                pairs.append((indices[a], indices[b]))
    return pairs


def _duplicate_groups(records: Sequence[Record], infos: Sequence[ImageInfo],
                      splits: Sequence[str | None]) -> list[DuplicateGroup]:
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    first_by_sha: dict[str, int] = {}
    for i, info in enumerate(infos):
        if info.sha256 is None:
            continue
        if info.sha256 in first_by_sha:
            union(first_by_sha[info.sha256], i)
        else:
            first_by_sha[info.sha256] = i
    hashed = [i for i in first_by_sha.values() if infos[i].phash is not None]
    for a, b in _near_pairs(hashed, infos):
        union(a, b)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(records)):
        members[find(i)].append(i)
    groups = []
    for group in members.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda i: records[i].name)
        kind = "exact" if len({infos[i].sha256 for i in group}) == 1 else "near"
        groups.append(DuplicateGroup(
            members=group,
            files=[records[i].name for i in group],
            labels=[records[i].label for i in group],
            splits=[splits[i] for i in group],
            lesions=[records[i].lesion_id for i in group],
            kind=kind,
        ))
    groups.sort(key=lambda g: g.files[0])
    return groups


def _lesion_leaks(records: Sequence[Record], splits: Sequence[str | None]) -> list[dict[str, Any]]:
    by_lesion: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        if record.lesion_id and splits[i]:
            by_lesion[record.lesion_id].append(i)
    leaks = []
    for lesion, idx in sorted(by_lesion.items()):
        if len({splits[i] for i in idx}) > 1:
            leaks.append({"kind": "lesion", "lesion_id": lesion, "files": [records[i].name for i in idx],
                          "splits": [splits[i] for i in idx]})
    return leaks


def _read_split_file(path: Path, records: Sequence[Record]) -> list[str | None]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the split file ({error.strerror or error})") from error
    except ValueError as error:
        raise ValueError(f"{path}: not a JSON split file ({error})") from error
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object {{split name: [image names]}}")
    where = {str(name): split for split, names in data.items() for name in names}
    known = {r.name for r in records}
    missing = [n for n in where if n not in known]
    if missing:
        raise ValueError(f"{path}: {len(missing)} images of the split are not in the data, e.g. {missing[0]}")
    return [where.get(r.name) for r in records]


def audit(
    records: Sequence[Record],
    *,
    data: str = "",
    split_file: str | Path | None = None,
    infos: Sequence[ImageInfo] | None = None,
    cache_path: Path | None | str = "default",
    workers: int | None = None,
    progress: bool = True,
) -> AuditReport:
    """Audit ``records``; the split is ``split_file`` if given, else each record's own ``split``."""
    records = list(records)
    if split_file is not None:
        splits = _read_split_file(Path(split_file), records)
        source = str(split_file)
    else:
        splits = [r.split for r in records]
        source = "the dataset's own split" if any(splits) else None
    if infos is None:
        infos = compute_infos(records, cache_path=cache_path, workers=workers, progress=progress)
    groups = _duplicate_groups(records, infos, splits)
    return AuditReport(
        data=data,
        records=records,
        infos=list(infos),
        splits=list(splits),
        split_source=source,
        groups=groups,
        lesion_leaks=_lesion_leaks(records, splits) if source else [],
        settings={"phash_candidate_bits": CANDIDATE_DISTANCE, "near_correlation": NEAR_CORRELATION,
                  "thumbnail": f"{THUMB_SIDE}x{THUMB_SIDE} grayscale", "tiny_side": TINY_SIDE},
    )


def _flags(report: AuditReport) -> dict[str, str]:
    flags: dict[str, str] = {}
    for group in report.groups:
        if group.conflict:
            for name, label in zip(group.files, group.labels):
                others = [f"{f} ({lab})" for f, lab in zip(group.files, group.labels) if lab != label]
                flags[name] = f"label conflict with {others[0]}" + (
                    f" and {len(others) - 1} more" if len(others) > 1 else "")
        else:
            keep = group.files[0]
            for name in group.files[1:]:
                if name != keep:
                    flags[name] = f"duplicate of {keep}" + (" (near-identical)" if group.kind == "near" else "")
    for item in report.unreadable:
        flags[item["file"]] = f"unreadable: {item['problem']}"
    for item in report.tiny:
        flags.setdefault(item["file"], f"too small: {item['width']}x{item['height']} pixels")
    return flags


def flagged_images(
    records: Sequence[Record],
    *,
    cache_path: Path | None | str = "default",
    workers: int | None = None,
    progress: bool = True,
) -> dict[str, str]:
    """Image name → reason to leave it out of training.

    Every member of a label-conflict group ("label conflict with X"), all but the first (by name)
    of each duplicate group ("duplicate of Y"), unreadable files ("unreadable: ...") and images with
    a side under ``TINY_SIDE`` pixels ("too small: ...").
    """
    report = audit(records, cache_path=cache_path, workers=workers, progress=progress)
    return _flags(report)


# -- command line ---------------------------------------------------------------------------
def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "audit",
        help="audit a dataset: counts, duplicates, label conflicts, leakage, unreadable files",
        description="Audit a labelled image set (class-folder tree or labels CSV) before training.",
    )
    parser.add_argument("data", metavar="DATA", help="labels CSV, folder holding labels.csv, or class-folder tree")
    parser.add_argument("--json", metavar="FILE", help="also write the findings as JSON to FILE (default: none)")
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 when label conflicts or leaks exist (default: off, exit 0)")
    parser.add_argument("--split", metavar="FILE",
                        help="check leakage against this saved split JSON {split: [image names]} "
                             "(default: the dataset's own Train/Test folders or split column)")
    parser.add_argument("--cache", metavar="FILE",
                        help=f"hash cache file (default: {default_cache_path()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the hash cache (default: off)")
    parser.add_argument("--workers", type=int, default=None,
                        help="threads for hashing (default: min(4, CPU count))")
    parser.add_argument("--examples", type=int, default=5,
                        help="examples listed per finding in the summary (default: 5)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        records = load_dataset(args.data)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    cache: Path | None | str = None if args.no_cache else (Path(args.cache) if args.cache else "default")
    try:
        report = audit(records, data=str(args.data), split_file=args.split, cache_path=cache,
                       workers=args.workers)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.summary(examples=args.examples))
    if args.json:
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
        except OSError as error:
            print(f"error: cannot write {args.json}: {error.strerror or error}", file=sys.stderr)
            return 2
        print(f"JSON written to {args.json}")
    return 1 if (args.strict and report.failed) else 0

