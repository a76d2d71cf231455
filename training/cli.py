"""``skindesk-train``: the training command line (audit, summary, train, evaluate, export).

Verbs whose modules need TensorFlow import it only when they run, so ``audit`` and ``--help`` stay
fast. Bad input (missing data, unknown architecture, impossible options) ends with a one-line
message naming the problem and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from . import audit

__all__ = ["ARCHES", "build_parser", "main"]

ARCHES = ("seed", "mobilenetv2", "tiny")


def _add_summary(subparsers: Any) -> None:
    parser = subparsers.add_parser("summary", help="print the Keras summary of an architecture",
                                   description="Print the layer-by-layer Keras summary of a model.")
    parser.add_argument("--arch", choices=ARCHES, default="seed", help="architecture (default: seed)")
    parser.add_argument("--classes", type=int, default=9, help="number of classes (default: 9)")
    parser.add_argument("--image-width", type=int, default=None,
                        help="input width for mobilenetv2/tiny (default: the training default; "
                             "seed is fixed at 128x128)")
    parser.add_argument("--image-height", type=int, default=None,
                        help="input height for mobilenetv2/tiny (default: the training default)")
    parser.set_defaults(func=_run_summary)


def _run_summary(args: argparse.Namespace) -> int:
    if args.classes < 2:
        raise ValueError(f"--classes {args.classes}: a classifier needs at least 2 classes")
    if args.arch == "seed":
        if (args.image_width, args.image_height) not in ((None, None), (128, 128)):
            raise ValueError("--arch seed is the paper's 128x128 model; --image-width/--image-height do not apply")
        from .seed import build_seed_model

        model = build_seed_model(args.classes)
    else:
        from .config import TrainConfig
        from .networks import build_networks

        width = args.image_width or TrainConfig.image_width
        height = args.image_height or TrainConfig.image_height
        model = build_networks(args.arch, height, width, args.classes, TrainConfig.dropout, None).model
    model.summary(print_fn=lambda line, *a, **k: print(line))
    return 0


def _add_seed(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "seed", help="reproduce the paper's seed CNN (128x128, trained from scratch)",
        description="Split (grouped by lesion, stratified), exclude audit-flagged images, train "
                    "the paper's seed CNN, checkpoint each epoch, evaluate and export to ONNX.")
    parser.add_argument("--data", required=True, help="labels CSV, folder with labels.csv, or class-folder tree (required)")
    parser.add_argument("--out", required=True, help="run folder for log, split, checkpoints, model (required)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for split, weights and augmentation (default: 42)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default: 25, as published)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default: 32)")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint (default: off)")
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="default",
                        help="tf.distribute strategy (default: default, one device)")
    parser.add_argument("--limit", type=int, default=None, help="use only N images, for a quick check (default: all)")
    parser.add_argument("--cache-dir", default=None,
                        help="where decoded images are cached (default: ~/.cache/skindesk)")
    parser.add_argument("--no-exclude-flagged", action="store_true",
                        help="keep images the audit flags (conflicts, duplicates, unreadable) (default: excluded)")
    parser.add_argument("--learning-rate", type=float, default=None, help="learning rate (default: 1e-3 Adam)")
    parser.set_defaults(func=_run_seed)


def _run_seed(args: argparse.Namespace) -> int:
    for name in ("epochs", "batch_size", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise ValueError(f"--learning-rate must be positive (got {args.learning_rate})")
    if not Path(args.data).exists():
        raise ValueError(f"{args.data}: no such file or folder")
    from .seed import train

    return int(train(args) or 0)


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _add_train(subparsers: Any) -> None:
    from .config import add_arguments

    parser = subparsers.add_parser(
        "train", help="train the model to ship: the whole network, fresh augmentation every epoch",
        description="Whole-network fine-tuning with fresh augmentation every epoch: split by "
                    "lesion, decode the pool once, train, checkpoint atomically (every epoch and "
                    "every --checkpoint-minutes), --resume exactly, then calibrate, export and "
                    "evaluate.")
    add_arguments(parser)
    parser.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from .config import TrainConfig, config_from_args

    config, explicit = config_from_args(args)
    out = Path(config.out)
    saved = out / "config.json"
    if config.resume:
        if not saved.exists():
            raise ValueError(f"{out}: no run to resume (no config.json); drop --resume to start one")
        config = TrainConfig.from_json(saved.read_text()).resumed_with(config, explicit)
    elif (out / "checkpoints").exists():
        raise ValueError(f"{out} already holds a run; pass --resume to continue it, or choose "
                         "another --out")
    if not Path(config.data).exists():
        raise ValueError(f"{config.data}: no such file or folder")
    if config.weights and not Path(config.weights).is_file():
        raise ValueError(f"--weights {config.weights}: no such file")
    from .finetune import FineTuneRun

    return FineTuneRun(config).run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skindesk-train",
        description="SkinDesk training: audit data, train, evaluate and export ONNX models.")
    subparsers = parser.add_subparsers(dest="verb", metavar="VERB")
    subparsers.required = True
    audit.add_parser(subparsers)
    _add_summary(subparsers)
    _add_train(subparsers)
    _add_seed(subparsers)
    for name in ("training.evaluate", "training.export", "training.quantize", "training.modeldoc",
                 "training.gatecheck", "training.gate_onnx", "training.gatestudy", "training.compare"):
        module = _optional(name)
        if module is not None and hasattr(module, "add_parser"):
            module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 - named errors from the core (ImageLoadError...)
        from skindesk.core.errors import SkinDeskError

        if isinstance(error, SkinDeskError) or type(error).__name__ in ("ExportError",):
            print(f"error: {error}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
