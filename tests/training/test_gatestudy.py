"""The gate study shows what a gate fitted on every source hides: false flags on an unseen source."""

from __future__ import annotations

import argparse
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
    out["generated/train/noise"] = rng.normal(0, 8.0, (100, dims))
    out["generated/test/noise"] = rng.normal(0, 8.0, (50, dims))
    out["photos"] = rng.normal(negative, 1.0, (20, dims))
    out["external/other clinic"] = rng.normal(0.1, 1.0, (100, dims))
    return out


def test_holding_out_a_far_source_reveals_its_false_flags() -> None:
    features = _features(far_source_shift=3.0)
    fitted_on_all = score_settings(features, None, 0.05, None)
    assert fitted_on_all["false_flags_fitted_sources"] < 0.03
    assert fitted_on_all["clinical_test"] > 0.95 and fitted_on_all["generated_min"] > 0.95
    assert fitted_on_all["external"]["other clinic"] < 0.05

    without_c = score_settings(features, None, 0.05, "c")
    assert min(without_c["false_flags_held_out"].values()) > 0.5  # source c looks foreign
    without_b = score_settings(features, None, 0.05, "b")
    assert max(without_b["false_flags_held_out"].values()) < 0.05  # source b is like a


def test_fewer_directions_is_a_different_gate() -> None:
    features = _features(far_source_shift=0.3)
    assert score_settings(features, 4, 0.05, None)["components"] == 4
    a = score_settings(features, 4, 0.05, "a")["false_flags_held_out"]
    b = score_settings(features, None, 0.05, "a")["false_flags_held_out"]
    assert a != b


def test_run_reads_the_cache_and_writes_every_row(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cache = tmp_path / "features.npz"
    np.savez(cache, **_features(far_source_shift=3.0))
    out = tmp_path / "rows.json"
    args = argparse.Namespace(cache=cache, components="all,4", c="0.05", directions="1", out=out, model=None)
    assert run(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("\n") == 1 + 1 + 2 * 4  # level line, header, 2 settings x (all + 3 held out)
    import json
    rows = json.loads(out.read_text())
    assert {r["held_out"] for r in rows} == {"none", "a", "b", "c"}


def test_two_directions_catch_negatives_of_both_kinds() -> None:
    features = _features(far_source_shift=0.2)
    two = score_settings(features, None, 0.05, None, directions=2)
    assert two["directions"] == 2
    assert two["clinical_test"] > 0.95 and two["generated_min"] > 0.95
    assert two["false_flags_fitted_sources"] < 0.03
