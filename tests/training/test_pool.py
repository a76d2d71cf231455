"""``Pool.decoded``: an exported model's split, decoded once; unreadable images leave the split."""

from __future__ import annotations

from pathlib import Path

from skindesk.core.preprocess import Preprocessing
from training.data import load_dataset
from training.pool import Pool


def test_decoded_pool_keeps_the_split_and_drops_unreadable_images(tmp_path: Path, make_pool) -> None:  # noqa: ANN001
    records = load_dataset(make_pool(tmp_path / "pool", n=12))
    broken = records[3]
    Path(broken.path).write_bytes(b"\xff\xd8 not a jpeg")
    parts = {"train": records[:8], "test": records[8:]}
    pool = Pool.decoded(parts, ["melanoma", "nevus", "basal cell carcinoma"], Preprocessing(height=24, width=32))
    assert [r.name for r in pool.split["train"]] == [r.name for r in records[:8] if r is not broken]
    assert [r.name for r in pool.split["test"]] == [r.name for r in records[8:]]
    assert broken.name not in pool.images and len(pool.images) == 11
    assert pool.image(records[0]).size[0] > 0 and len(pool.labels("test")) == 4
