"""``skindesk info``: the model card, the file's integrity and the execution provider really in use.

It opens the model exactly as ``classify`` and the app do (integrity check, card validation, an
onnxruntime session), then prints the card (name, version, classes, input, preprocessing,
training data, metrics, calibration, licence, intended use), the file's sha256 and the recorded
content sha256, the provider in use with the reason when CUDA was asked for and not obtained, the
image gate (its score, the validated strictness levels with their false-flag rates, the default)
and the quality limits in words, and the validated alert operating points (or the plain statement
that the model has none).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..core.assessment import gate_levels, gate_score_text, quality_limit_lines
from ..core.card_text import flatten
from ..core.errors import SkinDeskError
from ..core.formatting import percent
from ..core.wording import LIMITATION
from .options import add_model_options, model_path

__all__ = ["add_parser", "run", "describe", "format_text"]

_WIDTH = 96


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``info`` on the top-level parser's subparsers."""
    parser = subparsers.add_parser(
        "info",
        help="show the model card, integrity and execution provider",
        description=(
            "Show the model card (classes, input, preprocessing, training data, metrics, "
            "licence, intended use), the file's sha256, the execution provider really in use, "
            "the image gate's validated strictness levels, the quality limits and the validated "
            "alert operating points."
        ),
    )
    add_model_options(parser, sensitivity=False)
    parser.add_argument(
        "--json", action="store_true",
        help="print one JSON object instead of text (default: text)",
    )
    parser.set_defaults(func=run)
    return parser


def describe(model_path: str | Path, provider: str = "auto") -> dict[str, Any]:
    """Everything ``info`` reports, as a JSON-ready mapping (raises ``ModelError``)."""
    from .. import __version__
    from ..core.classifier import Classifier
    from ..core.modelcard import file_sha256

    classifier = Classifier(model_path, provider=provider)
    card = classifier.card
    points = {
        name: [dict(p.to_dict(), default=(p is card.operating_point(name))) for p in rows]
        for name, rows in card.operating_points.items()
    }
    flagged = [c.name for c in card.classes if c.flagged]
    return {
        "skindesk_version": __version__,
        "model_file": str(Path(model_path).resolve()),
        "file_sha256": file_sha256(model_path),
        "content_sha256": classifier.sha256,
        "integrity": "verified",
        "requested_provider": provider,
        "provider": classifier.provider,
        "providers": classifier.providers,
        "provider_note": classifier.provider_note,
        "title": card.title,
        "operating_points": points,
        "flagged_without_operating_points": [n for n in flagged if n not in points],
        "available_sensitivities": list(card.available_sensitivities()),
        "gate": {
            "score": gate_score_text(card),
            "threshold": card.ood_threshold,
            "levels": [{"name": lv.name, "threshold": lv.threshold, "default": lv.default,
                        "validation_false_flag_rate": lv.false_flag_rate,
                        "test_false_flag_rate": lv.test_false_flag_rate, "label": lv.label}
                       for lv in gate_levels(card)],
        },
        "quality_limits": [{"reason": reason, "when": when}
                           for reason, when in quality_limit_lines(card.quality_limits)],
        "card": dict(card.raw),
    }


# -- text -----------------------------------------------------------------------------
def _pct(value: Any) -> str:
    return percent(value, 1)


def _ci(figures: Mapping[str, Any], key: str) -> str:
    value, interval = figures.get(key), figures.get(f"{key}_ci")
    text = _pct(value) if value is not None else "–"
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        text += f" [{_pct(interval[0])}–{_pct(interval[1])}]"
    return text


def _wrap(label: str, text: str) -> list[str]:
    """A labelled value wrapped at word boundaries (a word is never broken or shortened)."""
    lines = textwrap.wrap(str(text), _WIDTH - 18, break_long_words=False,
                          break_on_hyphens=False) or ["–"]
    return [f"  {label:<15} {lines[0]}"] + [f"  {'':<15} {line}" for line in lines[1:]]


def _whole(label: str, text: str) -> list[str]:
    """A labelled value on one line, never wrapped (a path or digest a user may copy)."""
    return [f"  {label:<15} {text}"]


def _source_lines(per_source: Mapping[str, Any]) -> list[str]:
    lines = []
    for source, figures in per_source.items():
        if not isinstance(figures, Mapping):
            continue
        parts = []
        nested = {k: v for k, v in figures.items() if isinstance(v, Mapping)}
        for split, values in (nested or {"": figures}).items():
            label = f"{split} " if split else ""
            parts.append(
                f"{label}sens {_ci(values, 'sensitivity')} spec {_ci(values, 'specificity')}"
            )
        lines.append(f"      {source}: " + "; ".join(parts))
    return lines


def _operating_point_lines(info: Mapping[str, Any]) -> list[str]:
    points = info["operating_points"]
    if not points:
        return [
            "Alert operating points",
            "  This model has no validated alert thresholds: SkinDesk shows probabilities only and",
            "  raises no malignancy alert.",
        ]
    lines = [
        "Alert operating points (an alert is raised when a class's probability is at or above its",
        "threshold; * marks the default; sensitivity/specificity with 95 % intervals)",
        f"  {'class':<26}{'target':>7}{'threshold':>10}  {'validation sens':<26}"
        f"{'validation spec':<26}{'test sens':>10}{'test spec':>10}",
    ]
    for name, rows in points.items():
        for row in rows:
            validation, test = row.get("validation", {}), row.get("test", {})
            mark = "*" if row.get("default") else " "
            lines.append(
                f"{mark} {name:<26}{percent(row['target_sensitivity']):>7}{percent(row['threshold'], 1):>10}  "
                f"{_ci(validation, 'sensitivity'):<26}{_ci(validation, 'specificity'):<26}"
                f"{_pct(test.get('sensitivity')) if test else '–':>10}"
                f"{_pct(test.get('specificity')) if test else '–':>10}"
            )
            lines += _source_lines(row.get("per_source") or {})
    for name in info["flagged_without_operating_points"]:
        lines.append(f"  {name}: no validated operating point; this class never raises an alert")
    offered = ", ".join(percent(s) for s in info["available_sensitivities"]) or "none common"
    lines.append(f"  Sensitivities a clinic can choose (--sensitivity): {offered}")
    return lines


def _gate_lines(info: Mapping[str, Any]) -> list[str]:
    """The image gate and the quality checks: when an image is 'not assessed'."""
    gate = info["gate"]
    lines = ["Image gate and quality checks (an image they reject is 'not assessed': no alert)"]
    if gate["threshold"] is None:
        lines += _wrap("image gate", "none: this model cannot tell a dermoscopic image from "
                       "anything else")
    else:
        lines += _wrap("gate score", f"{gate['score']}; not assessed at or above "
                       f"{gate['threshold']:g}")
        if gate["levels"]:
            lines.append("  strictness levels (--gate-strictness, or Settings in the app; * the "
                         "default): share of")
            lines.append("  real dermoscopic images each wrongly flags, on validation / test")
        for level in gate["levels"]:
            lines.append(f"  {'*' if level['default'] else ' '} {level['name']:<13}threshold "
                         f"{level['threshold']:<9g}{_pct(level['validation_false_flag_rate'])} / "
                         f"{_pct(level['test_false_flag_rate'])}")
        if not gate["levels"]:
            lines += _wrap("", "no validated strictness levels: the threshold is fixed")
    if not info["quality_limits"]:
        lines += _wrap("quality", "no quality limits in this model card: image quality is not "
                       "checked")
    if info["quality_limits"]:
        lines.append("  quality checks: not assessed when")
    for limit in info["quality_limits"]:
        lines += _wrap(limit["reason"], limit["when"])
    return lines


def format_text(info: Mapping[str, Any]) -> str:
    """The human-readable ``info`` report."""
    card = info["card"]
    geometry = card.get("input", {})
    spec = card.get("preprocessing", {})
    lines = [f"{card.get('name')} {card.get('version')}"]
    lines += _wrap("architecture", card.get("architecture", "–"))
    lines += _wrap("created", card.get("created", "–"))
    lines += _wrap("licence", card.get("licence", "–"))
    lines += _whole("file", info["model_file"])
    lines += _whole("file sha256", f"{info['file_sha256']} (of the whole file, as sha256sum prints)")
    lines += _whole("content sha256", f"{info['content_sha256']} (model card's content hash, "
                    "recorded inside the model; verified)")
    provider = f"{info['provider']} ({', '.join(info['providers'])})"
    lines += _wrap("provider", provider)
    if info["provider_note"]:
        asked = "CUDA was asked for and not obtained" if info["requested_provider"] == "cuda" \
            else "CUDA not used"
        lines += _wrap("", f"{asked}: {info['provider_note']}")
    lines.append("")
    lines.append("Input and preprocessing")
    lines += _wrap(
        "input",
        f"{geometry.get('name', 'input')}: {geometry.get('layout', 'NHWC')} "
        f"{geometry.get('height')}x{geometry.get('width')}x{geometry.get('channels', 3)}",
    )
    area = spec.get("canonical_area")
    lines += _wrap(
        "preprocessing",
        (f"shrink to about {area} pixels (aspect kept), then " if area else "")
        + f"{spec.get('resize', 'bilinear')} resize ({spec.get('fit', 'squash')}) to "
        f"{spec.get('width')}x{spec.get('height')}, values {spec.get('value_range')}, "
        f"{spec.get('channel_order', 'RGB')}",
    )
    uncertainty = (card.get("uncertainty") or {}).get("top_probability_threshold", 0.5)
    lines += _wrap("uncertain", f"when the top probability is below {_pct(uncertainty)}")
    lines.append("")
    lines.append(f"Classes ({len(card.get('classes', []))}, in output order)")
    for index, entry in enumerate(card.get("classes", []), 1):
        group = "malignant" if entry.get("malignant") else \
            "pre-malignant" if entry.get("premalignant") else "benign"
        lines.append(f"  {index:>2}. {entry.get('display_name') or entry['name']:<30}{group}")
    lines.append("")
    lines.append("Training data")
    for key, value in flatten(card.get("training_data") or {}) or [("", "–")]:
        lines += _wrap(key, value)
    lines.append("Metrics")
    for key, value in flatten(card.get("metrics") or {}) or [("", "none recorded")]:
        lines += _wrap(key, value)
    lines.append("Calibration")
    for key, value in flatten(card.get("calibration") or {}) or [("", "none recorded")]:
        lines += _wrap(key, value)
    lines.append("")
    lines += _gate_lines(info)
    lines.append("")
    lines += _operating_point_lines(info)
    lines.append("")
    lines += _wrap("intended use", card.get("intended_use", "–"))
    lines += _wrap("limitation", LIMITATION.removeprefix("Limitation: "))
    lines += _wrap("disclaimer", card.get("disclaimer", "–"))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the model information; ``SkinDeskError`` propagates to the CLI's one-line error."""
    info = describe(model_path(args), provider=args.provider)
    if args.json:
        json.dump(info, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
    else:
        print(format_text(info))
    return 0
