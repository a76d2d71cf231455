"""``TrainConfig``: every setting of a whole-network training run, in one place.

Each field is a ``skindesk-train train`` flag (``image_width`` → ``--image-width``); its default and
help text live in the field's metadata, so ``--help`` shows what the run really uses and nothing
repeats the defaults. A run folder keeps its config as ``config.json``; ``--resume`` reads it back
and refuses flags that would change what is being resumed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = ["TrainConfig", "add_arguments", "config_from_args", "RESUMABLE_OVERRIDES"]

# Fields a resumed run may change (they do not alter what has been computed so far).
RESUMABLE_OVERRIDES = frozenset({"resume", "checkpoint_minutes", "workers", "stop_after_steps",
                                 "finish", "gate_negatives"})
# Fields that describe one sitting only: never carried over from the saved config.
PER_SITTING = frozenset({"resume", "stop_after_steps"})


def _f(default: Any, help: str, **extra: Any) -> Any:  # noqa: A002 - argparse's word
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainConfig:
    """Whole-network fine-tuning of MobileNetV2 with fresh augmentation every epoch."""

    data: str = _f("", "labels CSV, folder with labels.csv, or class-folder tree", required=True)
    out: str = _f("", "run folder for log, split, checkpoints and model, e.g. ~/skindesk-runs/NAME",
                  required=True)
    arch: str = _f("mobilenetv2", "architecture: mobilenetv2 (ships) or tiny (tests, a few "
                   "thousand weights)", choices=("mobilenetv2", "tiny"))
    weights: str | None = _f(None, "ImageNet backbone weights file (none: random init)")
    image_width: int = _f(192, "model input width (4:3 like the pool: 192x144 or 224x168)")
    image_height: int = _f(144, "model input height")
    head_epochs: int = _f(1, "epochs that train only the head on the frozen backbone first")
    epochs: int = _f(14, "whole-network epochs after the head warm-up")
    batch_size: int = _f(32, "images per step")
    learning_rate: float = _f(3e-4, "peak learning rate of the whole-network phase (cosine decay)")
    head_learning_rate: float = _f(1e-3, "learning rate of the head warm-up")
    warmup_steps: int = _f(300, "linear warm-up steps at the start of the whole-network phase")
    weight_decay: float = _f(1e-5, "AdamW weight decay")
    label_smoothing: float = _f(0.05, "label smoothing of the cross-entropy")
    class_weight_power: float = _f(0.5, "class weight = (1/frequency)^power: 0 none, 1 balanced")
    dropout: float = _f(0.3, "dropout before the linear head")
    seed: int = _f(42, "seed for split, weights, order and augmentation")
    limit: int | None = _f(None, "use only N images, for a quick check (none: all)")
    exclude_flagged: bool = _f(True, "leave out images the audit flags (duplicates, conflicts)")
    checkpoint_minutes: float = _f(10.0, "also checkpoint mid-epoch at least this often (minutes)")
    workers: int = _f(2, "threads that decode and augment batches while the step runs")
    stop_after_steps: int | None = _f(None, "stop (checkpointed) after this many steps in this "
                                      "sitting; for tests and time-boxed sittings")
    gate_negatives: int = _f(150, "generated non-dermoscopy images per kind for fitting the image gate "
                             "(a quarter as many per kind score it)")
    finish: bool = _f(True, "calibrate, fit the image gate, export and evaluate when training ends")
    backend: str = _f("tensorflow", "Keras backend: tensorflow here; jax on a lent GPU machine",
                      choices=("tensorflow", "jax"))
    resume: bool = _f(False, "continue the run in --out from its last checkpoint")

    def __post_init__(self) -> None:
        positive = ("image_width", "image_height", "epochs", "batch_size", "workers")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1 "
                                 f"(got {getattr(self, name)})")
        if self.head_epochs < 0:
            raise ValueError(f"--head-epochs must be 0 or more (got {self.head_epochs})")
        for name in ("learning_rate", "head_learning_rate", "checkpoint_minutes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive (got {getattr(self, name)})")
        if not 0 <= self.dropout < 1 or not 0 <= self.label_smoothing < 1:
            raise ValueError("--dropout and --label-smoothing must be in [0, 1)")
        if self.limit is not None and self.limit < 2:
            raise ValueError(f"--limit must be at least 2 (got {self.limit})")

    @property
    def total_epochs(self) -> int:
        return self.head_epochs + self.epochs

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        data = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def resumed_with(self, given: TrainConfig, explicit: set[str]) -> TrainConfig:
        """The saved config with the resumable flags the user gave; other changes are refused."""
        changed = sorted(name for name in explicit - RESUMABLE_OVERRIDES - {"data", "out"}
                         if getattr(given, name) != getattr(self, name))
        if changed:
            flags = ", ".join("--" + n.replace("_", "-") for n in changed)
            raise ValueError(f"{self.out}: {flags} differ from the run being resumed "
                             "(see its config.json); start a new --out to change them")
        values = asdict(self)
        values.update({name: getattr(given, name) for name in explicit & RESUMABLE_OVERRIDES})
        values.update({name: getattr(given, name) for name in PER_SITTING})
        values["resume"] = True
        return TrainConfig(**values)


def add_arguments(parser: argparse.ArgumentParser, skip: frozenset[str] = frozenset()) -> None:
    """One flag per field, with its default in the help text."""
    for item in fields(TrainConfig):
        if item.name in skip:
            continue
        flag = "--" + item.name.replace("_", "-")
        meta = item.metadata
        default = item.default if item.default is not MISSING else None
        if item.type in ("bool", bool):
            if default:
                parser.add_argument("--no-" + item.name.replace("_", "-"), dest=item.name,
                                    action="store_false", default=argparse.SUPPRESS,
                                    help=f"do not {meta['help']} (default: do)")
            else:
                parser.add_argument(flag, dest=item.name, action="store_true",
                                    default=argparse.SUPPRESS, help=f"{meta['help']} (default: off)")
            continue
        kind = _kind(str(item.type))
        shown = "none" if default is None else default
        kwargs: dict[str, Any] = {"dest": item.name, "type": kind, "default": argparse.SUPPRESS,
                                  "help": f"{meta['help']} (default: {shown})"}
        if meta.get("required"):
            kwargs["required"] = True
            kwargs["help"] = f"{meta['help']} (required)"
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        parser.add_argument(flag, **kwargs)


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, set[str]]:
    """The config the flags describe, and the names of the flags given explicitly."""
    names = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names}
    if "out" in given:
        given["out"] = str(Path(given["out"]).expanduser())
    return TrainConfig(**given), set(given)


def _kind(type_name: str) -> Any:
    if "int" in type_name:
        return int
    if "float" in type_name:
        return float
    return str
