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

ARCHES = ("seed", "mobilenetv2")


def _add_summary(subparsers: Any) -> None:
    parser = subparsers.add_parser("summary", help="print the Keras summary of an architecture",
                                   description="Print the layer-by-layer Keras summary of a model.")
    parser.add_argument("--arch", choices=ARCHES, default="seed", help="architecture (default: seed)")
    parser.add_argument("--classes", type=int, default=9, help="number of classes (default: 9)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="input side for mobilenetv2 (default: the transfer model's own; seed is fixed at 128)")
    parser.set_defaults(func=_run_summary)


def _run_summary(args: argparse.Namespace) -> int:
    if args.classes < 2:
        raise ValueError(f"--classes {args.classes}: a classifier needs at least 2 classes")
    if args.arch == "seed":
        if args.image_size not in (None, 128):
            raise ValueError("--arch seed is the paper's 128x128 model; --image-size does not apply")
        from .seed import build_seed_model

        model = build_seed_model(args.classes)
    else:
        transfer = _optional("training.transfer")
        if transfer is None or not hasattr(transfer, "build_model"):
            raise ValueError("--arch mobilenetv2 needs training.transfer, which is not available")
        kwargs = {"weights": None}
        if args.image_size:
            kwargs["image_size"] = args.image_size
        model = transfer.build_model(args.classes, **kwargs)
    model.summary(print_fn=lambda line, *a, **k: print(line))
    return 0


def _add_train(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model (seed: the paper's CNN; mobilenetv2: the model to ship)",
        description="Split (grouped by lesion, stratified), exclude audit-flagged images, train, "
                    "checkpoint each epoch, evaluate and export to ONNX.")
    parser.add_argument("--data", required=True, help="labels CSV, folder with labels.csv, or class-folder tree (required)")
    parser.add_argument("--arch", required=True, choices=ARCHES, help="architecture (required)")
    parser.add_argument("--out", required=True, help="run folder for log, split, checkpoints, model (required)")
    parser.add_argument("--seed", type=int, default=42, help="random seed for split, weights and augmentation (default: 42)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs (default: 25 for seed; the transfer model's own schedule for mobilenetv2)")
    parser.add_argument("--batch-size", type=int, default=None, help="batch size (default: 32 for seed; the transfer model's own)")
    parser.add_argument("--weights", default=None,
                        help="ImageNet backbone weights file for mobilenetv2 (default: none, random init)")
    parser.add_argument("--resume", action="store_true", help="continue from the run's last checkpoint (default: off)")
    parser.add_argument("--strategy", choices=("default", "mirrored"), default="default",
                        help="tf.distribute strategy (default: default, one device)")
    parser.add_argument("--limit", type=int, default=None, help="use only N images, for a quick check (default: all)")
    parser.add_argument("--cache-dir", default=None,
                        help="where decoded images/features are cached (default: ~/.cache/skindesk or the run folder)")
    parser.add_argument("--no-exclude-flagged", action="store_true",
                        help="keep images the audit flags (conflicts, duplicates, unreadable) (default: excluded)")
    parser.add_argument("--image-size", type=int, default=None,
                        help="input side for mobilenetv2 (default: its own; seed is fixed at 128)")
    parser.add_argument("--head-epochs", type=int, default=None, help="mobilenetv2 head warm-up epochs on pooled features (default: 40)")
    parser.add_argument("--fine-tune-epochs", type=int, default=None, help="mobilenetv2 fine-tuning epochs of the top blocks (default: 8)")
    parser.add_argument("--cut-layer", default=None,
                        help="mobilenetv2: the backbone layer below which weights stay frozen and "
                             "features are cached (default: block_13_project_BN; block_9_add "
                             "fine-tunes blocks 10-16)")
    parser.add_argument("--views", type=int, default=None, help="mobilenetv2 augmented views cached per training image (default: 5)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="learning rate (default: 1e-3 Adam for seed; the transfer model's own)")
    parser.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    for name in ("epochs", "batch_size", "limit", "image_size", "head_epochs", "fine_tune_epochs", "views"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
    if args.learning_rate is not None and not args.learning_rate > 0:
        raise ValueError(f"--learning-rate must be positive (got {args.learning_rate})")
    if not Path(args.data).exists():
        raise ValueError(f"{args.data}: no such file or folder")
    if args.weights and not Path(args.weights).is_file():
        raise ValueError(f"--weights {args.weights}: no such file")
    if args.arch == "seed":
        from .seed import train
    else:
        transfer = _optional("training.transfer")
        if transfer is None or not hasattr(transfer, "train"):
            raise ValueError("--arch mobilenetv2 needs training.transfer, which is not available")
        train = transfer.train
    return int(train(args) or 0)


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _add_finetune(subparsers: Any) -> None:
    from .config import add_arguments

    parser = subparsers.add_parser(
        "finetune", help="train the whole network with fresh augmentation (the model to ship)",
        description="Whole-network fine-tuning with fresh augmentation every epoch: split by "
                    "lesion, decode the pool once, train, checkpoint atomically (every epoch and "
                    "every --checkpoint-minutes), --resume exactly, then calibrate, export and "
                    "evaluate.")
    add_arguments(parser)
    parser.set_defaults(func=_run_finetune)


def _run_finetune(args: argparse.Namespace) -> int:
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
    _add_finetune(subparsers)
    for name in ("training.evaluate", "training.export", "training.quantize", "training.modeldoc"):
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
