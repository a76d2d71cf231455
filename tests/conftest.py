"""Shared pytest fixtures: real tiny ONNX models and folders of real image files.

- ``test_model_path``: a real SkinDesk ONNX model (``skindesk.core.testmodels``) with the
  example operating-point table, built once per session. Read it, never modify it (copy it with
  ``shutil.copy`` to tamper with it).
- ``make_test_model(card=None, *, weights=None, bias=None, name="model.onnx")``: build a model
  with your own card or fixed outputs in ``tmp_path`` (``weights=np.zeros((3, 9))`` and a
  ``bias`` of log-probabilities give the same probabilities for every image).
- ``fixed_probabilities_model(probabilities, card=None, out_of_distribution=False)``: a model
  that returns ``probabilities`` (to float32 precision, about 1e-5: keep test values away
  from thresholds) for any image (its OOD score is -5, or +5 when
  ``out_of_distribution``; the test card's OOD threshold is 0).
- ``gate_card(levels=..., quality=True)``: a test card with the image gate's validated levels
  (threshold 0 is "standard", the default; the fixed models score -5 in distribution) and the
  training pool's quality limits (``tests/data/pool_quality_limits.json``), as model 2.0 has.
- ``dermoscopy_images``: the six real dermoscopy images of ``tests/data/dermoscopy``.
- ``dark_photo``: one of them, underexposed (a JPEG the quality check calls too dark).
- ``image_folder(count=3, ext=".jpg", size=(64, 48), subfolder=None)``: a folder of distinct
  real images; returns its path (``subfolder`` adds a nested folder with one more image).
- ``sharpness_column``: the results schema with one more column (``sharpness``; its
  ``row_type`` holds it), to show that a new column is one edit.
- ``device_node``: a character device like /dev/null in ``tmp_path`` (skips without the right).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.core import result_schema, testmodels
from skindesk.core.result_schema import Column, ResultRow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def test_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 9-class test model with operating points (shared: do not modify)."""
    return testmodels.build_test_model(tmp_path_factory.mktemp("model") / "test.onnx")


@pytest.fixture
def make_test_model(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_test_model(card=None, *, weights=None, bias=None, name=...)`` -> path."""

    def make(
        card: dict | None = None,
        *,
        weights: np.ndarray | None = None,
        bias: np.ndarray | None = None,
        name: str = "model.onnx",
    ) -> Path:
        return testmodels.build_test_model(tmp_path / name, card, weights=weights, bias=bias)

    return make


@pytest.fixture
def fixed_probabilities_model(make_test_model: Callable[..., Path]) -> Callable[..., Path]:
    """Factory: a model whose output is ``probabilities`` for every image."""

    def make(
        probabilities: Sequence[float],
        card: dict | None = None,
        name: str = "fixed.onnx",
        out_of_distribution: bool = False,
    ) -> Path:
        p = np.asarray(probabilities, dtype=np.float64)
        # Softmax ignores a constant shift; the energy score is minus the shift: -5 is in
        # distribution for the test card's threshold 0, +5 is out of distribution.
        shift = -5.0 if out_of_distribution else 5.0
        bias = (np.log(np.clip(p, 1e-12, None)) + shift).astype(np.float32)
        return make_test_model(card, weights=np.zeros((3, len(p)), np.float32), bias=bias, name=name)

    return make


DATA = Path(__file__).parent / "data"
GATE_LEVELS = {"lenient": 2.0, "standard": 0.0, "strict": -6.0}  # -6 flags the fixed models' -5


@pytest.fixture
def gate_card() -> Callable[..., dict]:
    """Factory: a test card with gate levels and quality limits (see the module docstring)."""
    import json

    def make(levels: dict[str, float] | None = GATE_LEVELS, quality: bool = True) -> dict:
        card = testmodels.test_card()
        card["ood"] = {"score": "test energy score (higher: less like dermoscopy)",
                       "threshold": 0.0}
        if levels:
            card["ood"]["levels"] = dict(levels)
            card["ood"]["level_false_flag_rates"] = {"lenient": 0.002, "standard": 0.005,
                                                     "strict": 0.02}
            card["ood"]["figures"] = {"levels_test_false_flags": {
                "lenient": 0.003, "standard": 0.006, "strict": 0.025}}
        if quality:
            card["quality"] = json.loads((DATA / "pool_quality_limits.json").read_text())
        return card

    return make


@pytest.fixture(scope="session")
def dermoscopy_images() -> list[Path]:
    """The six real dermoscopy images in tests/data/dermoscopy."""
    return sorted((DATA / "dermoscopy").glob("*.jpg"))


@pytest.fixture
def dark_photo(tmp_path: Path, dermoscopy_images: list[Path]) -> Path:
    """A real dermoscopy image underexposed to 15 % of its brightness, saved as JPEG."""
    from PIL import ImageEnhance

    path = tmp_path / "dark" / "dark.jpg"
    path.parent.mkdir()
    image = Image.open(dermoscopy_images[2]).convert("RGB").resize((800, 600))
    ImageEnhance.Brightness(image).enhance(0.15).save(path, quality=92)
    return path


@pytest.fixture
def image_folder(tmp_path: Path) -> Callable[..., Path]:
    """Factory: a folder of ``count`` distinct real images (see the module docstring)."""

    def make(
        count: int = 3,
        ext: str = ".jpg",
        size: tuple[int, int] = (64, 48),
        subfolder: str | None = None,
        name: str = "images",
    ) -> Path:
        folder = tmp_path / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(count)
        for index in range(count):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"image_{index:03d}{ext}")
        if subfolder:
            (folder / subfolder).mkdir(exist_ok=True)
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / subfolder / f"nested{ext}")
        return folder

    return make


@dataclass(frozen=True)
class SharpnessRow(ResultRow):
    """A results row with one more field, for the test that adds a column."""

    sharpness: float | None = None


@pytest.fixture
def sharpness_column(monkeypatch: pytest.MonkeyPatch) -> result_schema.ResultSchema:
    """Adds ONE column to the results schema (the single edit a new column needs); every writer,
    reader, JSON and the batch table must pick it up with no other change."""
    column = Column("sharpness", "sharpness", lambda v: "" if v is None else f"{v:.2f}",
                    lambda t: float(t) if t.strip() else None, label="Sharpness",
                    show=lambda v: "" if v is None else f"{v:.2f}")
    schema = result_schema.SCHEMA.with_column(column, SharpnessRow)
    monkeypatch.setattr(result_schema, "SCHEMA", schema)
    return schema


@pytest.fixture
def device_node(tmp_path: Path) -> Path:
    """A character device like /dev/null (major 1, minor 3) made in a temporary folder."""
    import stat

    path = tmp_path / "null"
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, AttributeError) as error:
        pytest.skip(f"cannot make a device node here ({error})")
    return path
