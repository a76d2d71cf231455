"""Atomic, resumable checkpoints: model and optimiser variables plus the run's position.

A checkpoint is a folder ``checkpoints/step-0001234/`` holding ``model.npz`` (every model
variable, random-seed state included), ``optimizer.npz`` and ``state.json`` (phase, epoch, step,
best-so-far, history, the hash chain of the batches trained). ``checkpoints/latest.json`` names the
newest complete one and is replaced atomically (``os.replace``) only after its folder is fully
written and synced, so a run killed at any moment resumes from a whole checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RunState", "save_checkpoint", "load_checkpoint", "write_atomic", "save_arrays",
           "load_arrays"]


@dataclass
class RunState:
    """Where a run is: the next (epoch, step) to train, and what it has learned so far."""

    epoch: int = 0
    step: int = 0
    global_step: int = 0
    best_score: float = -1.0
    best_epoch: int = -1
    chain: str = "0" * 64
    seconds: float = 0.0
    epoch_loss_sum: float = 0.0
    history: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunState:
        return cls(**data)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_arrays(path: Path, arrays: list[np.ndarray]) -> None:
    """``arrays`` as ``path`` (.npz), atomically."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    write_atomic(path, buffer.getvalue())


def load_arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def save_checkpoint(folder: Path, state: RunState, model_values: list[np.ndarray],
                    optimizer_values: list[np.ndarray], keep: int = 1) -> Path:
    """Write a complete checkpoint, point ``latest.json`` at it, drop older ones."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"step-{state.global_step:07d}-e{state.epoch}s{state.step}"
    target = folder / name
    if target.exists():
        shutil.rmtree(target)
    partial = folder / f".{name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    save_arrays(partial / "model.npz", model_values)
    save_arrays(partial / "optimizer.npz", optimizer_values)
    write_atomic(partial / "state.json", json.dumps(state.to_dict()).encode())
    os.replace(partial, target)
    write_atomic(folder / "latest.json", json.dumps({"checkpoint": name}).encode())
    complete = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith("step-"))
    for old in complete[:-keep] if keep else []:
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".step-*.partial"):
        shutil.rmtree(stale, ignore_errors=True)
    return target


def load_checkpoint(folder: Path) -> tuple[RunState, list[np.ndarray], list[np.ndarray]] | None:
    """The newest complete checkpoint in ``folder``, or None when there is none yet."""
    pointer = folder / "latest.json"
    if not pointer.exists():
        return None
    target = folder / json.loads(pointer.read_text())["checkpoint"]
    state = RunState.from_dict(json.loads((target / "state.json").read_text()))
    return state, load_arrays(target / "model.npz"), load_arrays(target / "optimizer.npz")
