"""A tiny generated dermoscopy-like dataset with planted defects, in both layouts.

Every clean image is a distinct smooth random colour field with a dark blob (so perceptual hashes
differ). Planted in the class-folder tree (``Train``/``Test``):
- ``exact``: ``Train/nevus/zz_copy.jpg`` is byte-identical to ``Train/nevus/n0.jpg``;
- ``near``: ``Train/melanoma/m0_small.jpg`` is ``m0.png`` resized to 75 % and re-encoded as JPEG q80;
- ``conflict``: ``Train/dermatofibroma/d_conflict.jpg`` has the bytes of ``Train/melanoma/m1.jpg``;
- ``leak``: ``Test/nevus/leak.jpg`` has the bytes of ``Train/nevus/n2.jpg``;
- ``unreadable``: ``Train/nevus/broken.jpg`` (not an image); ``tiny``: ``Train/melanoma/tiny.png`` (12x10).
The CSV layout holds the same kinds of defects plus lesion ids, and a split file that puts one
lesion (L-leak) on both sides.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw

TREE_GROUPS = {
    ("Train/nevus/n0.jpg", "Train/nevus/zz_copy.jpg"): "exact",
    ("Train/melanoma/m0.png", "Train/melanoma/m0_small.jpg"): "near",
    ("Train/dermatofibroma/d_conflict.jpg", "Train/melanoma/m1.jpg"): "exact",
    ("Test/nevus/leak.jpg", "Train/nevus/n2.jpg"): "exact",
}
TREE_CONFLICT = ("Train/dermatofibroma/d_conflict.jpg", "Train/melanoma/m1.jpg")
TREE_LEAK = ("Test/nevus/leak.jpg", "Train/nevus/n2.jpg")
TREE_UNREADABLE = "Train/nevus/broken.jpg"
TREE_TINY = "Train/melanoma/tiny.png"


def lesion_image(seed: int, size: tuple[int, int] = (64, 48)) -> Image.Image:
    """A distinct, smooth, lesion-like RGB image for ``seed``."""
    rng = np.random.default_rng(seed)
    field = Image.fromarray((rng.random((5, 5, 3)) * 160 + 60).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    array = np.asarray(field, dtype=np.float64)
    yy, xx = np.mgrid[0:size[1], 0:size[0]]
    cx, cy = rng.uniform(0.3, 0.7) * size[0], rng.uniform(0.3, 0.7) * size[1]
    r = rng.uniform(0.15, 0.3) * min(size)
    blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))[..., None]
    array = array * (1 - 0.8 * blob)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _save(image: Image.Image, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        image.save(path)
    else:
        image.save(path, quality=95)
    return path


def make_tree(root: Path, defects: bool = True) -> Path:
    seed = 0
    plan = {"Train": {"melanoma": ["m0.png", "m1.jpg", "m2.jpg", "m3.jpg"],
                      "nevus": ["n0.jpg", "n1.jpg", "n2.jpg", "n3.jpg"],
                      "dermatofibroma": ["d0.jpg", "d1.jpg", "d2.jpg"]},
            "Test": {"melanoma": ["tm0.jpg", "tm1.jpg"], "nevus": ["tn0.jpg", "tn1.jpg"],
                     "dermatofibroma": ["td0.jpg"]}}
    for split, classes in plan.items():
        for label, names in classes.items():
            for name in names:
                seed += 1
                _save(lesion_image(seed), root / split / label / name)
    if defects:
        train = root / "Train"
        shutil.copyfile(train / "nevus/n0.jpg", train / "nevus/zz_copy.jpg")
        small = Image.open(train / "melanoma/m0.png").resize((48, 36), Image.Resampling.LANCZOS)
        small.save(train / "melanoma/m0_small.jpg", quality=80)
        shutil.copyfile(train / "melanoma/m1.jpg", train / "dermatofibroma/d_conflict.jpg")
        shutil.copyfile(train / "nevus/n2.jpg", root / "Test/nevus/leak.jpg")
        (train / "nevus/broken.jpg").write_bytes(b"this is not a JPEG at all")
        _save(lesion_image(999, (12, 10)), train / "melanoma/tiny.png")
    return root


@pytest.fixture(autouse=True)
def _private_hash_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the audit's hash cache and the array cache out of the user's home during tests."""
    monkeypatch.setenv("SKINDESK_TRAIN_CACHE", str(tmp_path_factory.mktemp("skindesk-cache")))


@pytest.fixture
def planted() -> SimpleNamespace:
    """The tree's planted defects and the image generator, for assertions."""
    return SimpleNamespace(groups=TREE_GROUPS, conflict=TREE_CONFLICT, leak=TREE_LEAK,
                           unreadable=TREE_UNREADABLE, tiny=TREE_TINY, lesion_image=lesion_image)


@pytest.fixture
def tiny_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "tree")


@pytest.fixture
def clean_tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "clean", defects=False)


@pytest.fixture
def tiny_csv(tmp_path: Path) -> dict:
    """labels.csv layout: returns {"root", "csv", "split", ...expected findings}."""
    root = tmp_path / "csvdata"
    rows = []
    for i in range(8):
        label = ("melanoma", "nevus")[i % 2]
        name = f"img/{label[:3]}{i}.jpg"
        _save(lesion_image(100 + i), root / name)
        rows.append((name, label, f"L{i}"))
    # Second image of lesion L0 (a distinct picture): the lesion leak when split apart.
    _save(lesion_image(200), root / "img/mel0_b.jpg")
    rows.append(("img/mel0_b.jpg", "melanoma", "L0"))
    # Byte duplicate filed as the other class: a label conflict.
    shutil.copyfile(root / "img/nev1.jpg", root / "img/conflict.jpg")
    rows.append(("img/conflict.jpg", "melanoma", "L9"))
    # Re-encoded, resized copy: near duplicate of mel2, same lesion.
    Image.open(root / "img/mel2.jpg").resize((40, 30), Image.Resampling.LANCZOS).save(root / "img/mel2_small.png")
    rows.append(("img/mel2_small.png", "melanoma", "L2"))
    with open(root / "labels.csv", "w", encoding="utf-8") as handle:
        handle.write("image,diagnosis,lesion_id\n")
        handle.writelines(f"{n},{d},{lesion}\n" for n, d, lesion in rows)
    names = [r[0] for r in rows]
    split = {"train": [n for n in names if n not in ("img/mel0_b.jpg", "img/nev3.jpg", "img/nev1.jpg")],
             "test": ["img/mel0_b.jpg", "img/nev3.jpg", "img/nev1.jpg"]}
    (root / "split.json").write_text(json.dumps(split), encoding="utf-8")
    return {
        "root": root,
        "csv": root / "labels.csv",
        "split": root / "split.json",
        "groups": {("img/conflict.jpg", "img/nev1.jpg"): "exact", ("img/mel2.jpg", "img/mel2_small.png"): "near"},
        "lesion_leak": "L0",
        "image_leak": ("img/conflict.jpg", "img/nev1.jpg"),
    }


POOL_CLASSES = ("melanoma", "nevus", "basal cell carcinoma")


def _make_pool(root: Path, n: int = 48) -> Path:
    """``n`` lesion-like images over three classes and two sources, with lesion ids."""
    rows = []
    for i in range(n):
        label = POOL_CLASSES[i % 3]
        image = Image.new("RGB", (80, 60), (200 - 3 * (i % 7), 150, 130))
        draw = ImageDraw.Draw(image)
        r = 10 + (i % 3) * 5
        draw.ellipse((40 - r, 30 - r, 40 + r, 30 + r), fill=(90 + 30 * (i % 3), 50, 30 + i))
        name = f"{('ham10000', 'milk10k')[i % 2]}/img{i:03d}.jpg"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        image.save(root / name, quality=90)
        rows.append(f"{name},{label},L{i // 2},{name.split('/')[0]}\n")
    (root / "labels.csv").write_text("image,diagnosis,lesion_id,source\n" + "".join(rows))
    return root


@pytest.fixture(scope="session")
def make_pool():  # noqa: ANN201 - returns the factory
    """A factory for small labelled pools in the labels.csv layout (two sources, lesion ids)."""
    return _make_pool
