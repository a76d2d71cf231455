"""Whole-network training: a tiny run killed mid-epoch resumes with no step lost or repeated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from training.checkpoint import load_checkpoint
from training.cli import build_parser, main
from training.config import TrainConfig, config_from_args

pytestmark = pytest.mark.slow

TINY = ["--arch", "tiny", "--image-width", "32", "--image-height", "24", "--head-epochs", "1",
        "--epochs", "2", "--batch-size", "4", "--no-exclude-flagged", "--warmup-steps", "3",
        "--workers", "2"]


def _train(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "training.cli", "train", "--data", str(data), "--out",
               str(out), *extra]
    env = {**os.environ, "PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=Path(__file__).parents[2])


def _final(out: Path) -> tuple[dict, list[np.ndarray]]:
    found = load_checkpoint(out / "checkpoints")
    assert found is not None
    state, model, _ = found
    return state.to_dict(), model


def test_killed_mid_epoch_resumes_exactly(tmp_path: Path, make_pool: Callable[..., Path]) -> None:
    data = make_pool(tmp_path / "pool")
    whole = _train(data, tmp_path / "whole", *TINY, "--no-finish")
    output, _ = whole.communicate(timeout=300)
    assert whole.returncode == 0, output

    killed = _train(data, tmp_path / "killed", *TINY, "--no-finish", "--checkpoint-minutes", "0.00001")
    pointer = tmp_path / "killed" / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 240
    state = None
    while time.monotonic() < deadline and killed.poll() is None:
        if pointer.exists():
            try:  # the run may replace the checkpoint while we read it: then read again
                found = load_checkpoint(pointer.parent)
            except (OSError, ValueError):
                time.sleep(0.05)
                continue
            if found and found[0].epoch == 1 and 2 <= found[0].step:  # mid whole-network epoch
                state = found[0]
                break
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    assert state is not None, "the run never reached the middle of its second epoch"
    resumed = _train(data, tmp_path / "killed", "--resume", "--no-finish")
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "resumed at epoch 2, step" in output

    expected_state, expected_model = _final(tmp_path / "whole")
    got_state, got_model = _final(tmp_path / "killed")
    # The same batches in the same order, none lost or repeated ...
    assert got_state["chain"] == expected_state["chain"]
    assert got_state["global_step"] == expected_state["global_step"] == 3 * 9
    assert got_state["history"]["val_balanced_accuracy"] == pytest.approx(
        expected_state["history"]["val_balanced_accuracy"])
    # ... and the same weights, optimiser and dropout seeds.
    for want, have in zip(expected_model, got_model, strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-5)


def test_resume_refuses_changed_settings_and_needs_a_run(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                        make_pool: Callable[..., Path]) -> None:
    data = make_pool(tmp_path / "pool", n=12)
    out = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(out), "--resume"]) == 2
    assert "no run to resume" in capsys.readouterr().err
    out.mkdir()
    (out / "config.json").write_text(TrainConfig(data=str(data), out=str(out), arch="tiny").to_json())
    assert main(["train", "--data", str(data), "--out", str(out), "--resume", "--epochs", "99"]) == 2
    assert "--epochs differ from the run being resumed" in capsys.readouterr().err


def test_every_flag_is_a_config_field_with_its_default_in_help() -> None:
    parser = build_parser()
    args = parser.parse_args(["train", "--data", "d", "--out", "o", "--epochs", "3"])
    config, explicit = config_from_args(args)
    assert explicit == {"data", "out", "epochs"}
    assert config.epochs == 3 and config.batch_size == TrainConfig.batch_size
    text = parser._subparsers._group_actions[0].choices["train"].format_help()  # noqa: SLF001
    assert f"(default: {TrainConfig.learning_rate})" in text
    assert "(default: 192)" in text and "--no-exclude-flagged" in text
    with pytest.raises(ValueError, match="--batch-size must be at least 1"):
        TrainConfig(data="d", out="o", batch_size=0)


def test_saved_config_round_trips(tmp_path: Path) -> None:
    config = TrainConfig(data="d", out=str(tmp_path), epochs=3, weights=None)
    again = TrainConfig.from_json(config.to_json())
    assert again == config
    resumed = again.resumed_with(TrainConfig(data="d", out=str(tmp_path), stop_after_steps=5,
                                             workers=1), {"stop_after_steps", "workers", "data", "out"})
    assert (resumed.stop_after_steps, resumed.workers, resumed.resume, resumed.epochs) == (5, 1, True, 3)
    assert json.loads(resumed.to_json())["epochs"] == 3
