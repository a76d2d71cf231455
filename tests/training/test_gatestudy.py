"""The gate study shows what a gate fitted on every source hides: false flags on an unseen source."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from training.gatestudy import VIEWS, run, score_settings


def _features(far_source_shift: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    dims = 12
    centre = {"a": np.zeros(dims), "b": np.full(dims, 0.2), "c": np.full(dims, far_source_shift)}
    out: dict[str, np.ndarray] = {}
    for source, mean in centre.items():
        out[f"train/{source}"] = rng.normal(mean, 1.0, (400, dims))
        out[f"train_labels/{source}"] = rng.integers(0, 3, 400)
        for part in ("validation", "test"):
            for view in VIEWS:
                out[f"{part}/{source}/{view}"] = rng.normal(mean, 1.0, (200, dims))
    negative = np.r_[np.full(dims // 2, 6.0), np.full(dims - dims // 2, -6.0)]
    out["clinical/train"] = rng.normal(negative, 1.0, (200, dims))
    out["clinical/test"] = rng.normal(negative, 1.0, (100, dims))
    junk = np.r_[np.full(dims // 2, -6.0), np.full(dims - dims // 2, 6.0)]
    out["generated/train/noise"] = rng.normal(junk, 1.0, (100, dims))
    out["generated/test/noise"] = rng.normal(junk, 1.0, (50, dims))
    out["photos"] = rng.normal(negative, 1.0, (20, dims))
    out["external/other clinic"] = rng.normal(0.1, 1.0, (100, dims))
    return out


def test_holding_out_a_far_source_reveals_its_false_flags() -> None:
    features = _features(far_source_shift=3.0)
    fitted_on_all = score_settings(features, "all", 1.0, None)
    assert fitted_on_all["false_flags_fitted_sources"] < 0.03
    assert fitted_on_all["clinical_test"] > 0.95 and fitted_on_all["generated_min"] > 0.95
    assert fitted_on_all["external"]["other clinic"] < 0.05

    without_c = score_settings(features, "all", 1.0, "c")
    assert min(without_c["false_flags_held_out"].values()) > 0.5  # source c looks foreign
    without_b = score_settings(features, "all", 1.0, "b")
    assert max(without_b["false_flags_held_out"].values()) < 0.05  # source b is like a


def test_settings_are_different_gates() -> None:
    features = _features(far_source_shift=0.3)
    rows = [score_settings(features, distance, 1.0, "a", directions)
            for distance, directions in ((None, 2), (4, 2), ("all", 2), (None, 1))]
    assert [r["distance"] for r in rows] == ["none", 4, "all", "none"]
    assert len({json.dumps(r["false_flags_held_out"]) for r in rows}) > 1


def test_run_reads_the_cache_and_writes_every_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cache = tmp_path / "features.npz"
    np.savez(cache, **_features(far_source_shift=3.0))
    out = tmp_path / "rows.json"
    args = argparse.Namespace(cache=cache, distance="none,4", c="1", directions="2", out=out, model=None)
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 + 1 + 2 * 4  # level line, header, 2 settings x (all + 3 held out)
    rows = json.loads(out.read_text())
    assert {r["held_out"] for r in rows} == {"none", "a", "b", "c"}


def test_two_directions_catch_negatives_of_both_kinds() -> None:
    features = _features(far_source_shift=0.2)
    two = score_settings(features, None, 1.0, None, directions=2)
    assert two["directions"] == 2
    assert two["clinical_test"] > 0.95 and two["generated_min"] > 0.95
    assert two["false_flags_fitted_sources"] < 0.03


def test_an_empty_validation_part_is_a_clear_error() -> None:
    features = _features(far_source_shift=0.2)
    for key in [k for k in features if k.startswith("validation/")]:
        features[key] = np.zeros((0, 1))
    with pytest.raises(ValueError, match="validation part is empty"):
        score_settings(features, None, 1.0, None)
