"""Command-line options shared by the verbs that run a model (--model, --provider, --sensitivity,
--gate-strictness)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..core.classifier import PROVIDER_CHOICES
from ..core.errors import SkinDeskError
from ..paths import default_model_path

__all__ = ["GATE_STRICTNESS_CHOICES", "add_model_options", "sensitivity_value", "model_path",
           "open_classifier"]

GATE_STRICTNESS_CHOICES = ("lenient", "standard", "strict")


def sensitivity_value(text: str) -> float:
    """Parse an operating point: ``0.9``, ``90`` or ``90%`` → 0.9."""
    cleaned = text.strip().rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a sensitivity such as 0.9 or 90%") from None
    if text.strip().endswith("%") or value >= 50:
        value /= 100.0  # "90" or "90%" means 90 %
    elif value > 1.0:
        raise argparse.ArgumentTypeError(
            f"{text} is neither a fraction (0-1, e.g. 0.9) nor a percentage (e.g. 90)")
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a sensitivity between 0 and 1")
    return value


def add_model_options(parser: Any, *, sensitivity: bool = True) -> None:
    """Add --model, --provider and (optionally) --sensitivity to a parser or argument group."""
    parser.add_argument(
        "-m", "--model", metavar="FILE", type=Path, default=None,
        help=f"ONNX model file (default: the shipped model, {default_model_path()})",
    )
    parser.add_argument(
        "--provider", choices=PROVIDER_CHOICES, default="auto",
        help="execution provider: auto = CUDA when it really loads, else CPU (default: auto)",
    )
    if sensitivity:
        parser.add_argument(
            "--sensitivity", type=sensitivity_value, default=None, metavar="S",
            help="operating point for malignancy alerts: a target sensitivity the model card "
            "validated, e.g. 0.9 (default: the card's defaults, 90%% for melanoma, 85%% for "
            "the others)",
        )
        parser.add_argument(
            "--gate-strictness", choices=GATE_STRICTNESS_CHOICES, default=None,
            help="how readily an image is judged not a dermoscopic image of a skin lesion and "
            "left unassessed: one of the levels the model card validated (default: the card's "
            "default level; see `skindesk info`)",
        )


def model_path(args: argparse.Namespace) -> Path:
    """``--model``, or the shipped model; a clear error when neither exists."""
    if args.model is not None:
        return Path(args.model)
    path = default_model_path()
    if not path.exists():
        raise SkinDeskError(f"no model installed at {path}; pass --model FILE")
    return path


def open_classifier(args: argparse.Namespace) -> Any:
    """The ``Classifier`` the options ask for (``ModelError`` or ``ValueError`` naming the
    problem: a missing model, a sensitivity or gate strictness the card does not offer)."""
    from ..core.classifier import Classifier

    return Classifier(model_path(args), provider=args.provider,
                      sensitivity=getattr(args, "sensitivity", None),
                      gate_strictness=getattr(args, "gate_strictness", None))
