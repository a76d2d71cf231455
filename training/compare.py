"""``skindesk-train compare NAME=EVAL_DIR ...``: models side by side, from their evaluations.

Each EVAL_DIR is what ``skindesk-train evaluate --shortcut --out EVAL_DIR`` wrote for one model on
the same images (``metrics.json`` and ``predictions.csv``). The rows are the issue's yardsticks:
balanced accuracy overall and per source, melanoma AUC, ECE, the default melanoma alert
(sensitivity, share of nevi spared), source probe and leakage, leave-one-source-out AUC, the worst
re-encoding/rescaling/illuminant change and balanced accuracy per skin tone. ``--out`` keeps the
table as JSON for ``model-doc --comparison``; ``--card MODEL`` also records it in that model's card
(``metrics.comparison``), weights untouched.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["model_figures", "comparison_table", "record_in_card", "add_parser", "run"]


def _alert(folder: Path, metrics: dict[str, Any]) -> dict[str, float]:
    """Melanoma sensitivity and nevi spared at the card's default melanoma threshold."""
    chosen = ((metrics.get("chosen_operating_point") or {}).get("classes") or {}).get("melanoma")
    path = folder / "predictions.csv"
    if not chosen or not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([r["label"] for r in rows])
    melanoma = np.array([float(r["melanoma"]) for r in rows])
    fires = melanoma >= float(chosen["threshold"])
    out = {"threshold": float(chosen["threshold"])}
    if (labels == "melanoma").any():
        out["melanoma_sensitivity"] = float(fires[labels == "melanoma"].mean())
    if (labels == "nevus").any():
        out["nevi_spared"] = float(1 - fires[labels == "nevus"].mean())
    return out


def model_figures(folder: Path) -> dict[str, Any]:
    """The comparison's figures for one evaluation folder."""
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    overall = metrics["overall"]
    shortcut = metrics.get("shortcut") or {}
    figures: dict[str, Any] = {
        "images": overall["samples"],
        "balanced_accuracy": overall["balanced_accuracy"],
        "melanoma_auc": (overall.get("melanoma") or {}).get("auc"),
        "ece": overall["ece"],
        "per_source_balanced_accuracy": {s: r["balanced_accuracy"]
                                         for s, r in (metrics.get("per_source") or {}).items()},
        "alert": _alert(folder, metrics),
        "source_probe_auc": (shortcut.get("source_probe_auc") or {}).get("macro"),
        "source_leakage": shortcut.get("source_leakage") or {},
        "leave_one_source_out": {s: r["melanoma_vs_nevus_auc"]
                                 for s, r in (shortcut.get("leave_one_source_out") or {}).items()},
        "worst_view_change": shortcut.get("invariance_worst_balanced_accuracy_change"),
        "views": {v: r["balanced_accuracy_change"] for v, r in (shortcut.get("invariance") or {}).items()
                  if v != "original"},
        "per_skin_tone": {t: r["balanced_accuracy"] for t, r in (shortcut.get("per_skin_tone") or {}).items()},
        "keratoses_milk10k_auc": (shortcut.get("keratoses_milk10k") or {}).get("seborrheic_vs_pigmented_auc"),
    }
    return figures


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _auc(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _points(value: Any) -> str:
    return "–" if value is None else f"{100 * value:+.1f}"


def comparison_table(models: dict[str, dict[str, Any]]) -> list[str]:
    """A Markdown table, one column per model, one row per yardstick."""
    names = list(models)
    rows: list[tuple[str, list[str]]] = [
        ("images", [str(m["images"]) for m in models.values()]),
        ("balanced accuracy", [_pct(m["balanced_accuracy"]) for m in models.values()]),
    ]
    sources = sorted({s for m in models.values() for s in m["per_source_balanced_accuracy"]})
    rows += [(f"balanced accuracy, {s}", [_pct(m["per_source_balanced_accuracy"].get(s))
                                          for m in models.values()]) for s in sources]
    rows += [("melanoma AUC", [_auc(m["melanoma_auc"]) for m in models.values()]),
             ("ECE", [_auc(m["ece"]) for m in models.values()]),
             ("default melanoma alert: melanomas caught",
              [_pct(m["alert"].get("melanoma_sensitivity")) for m in models.values()]),
             ("default melanoma alert: nevi spared", [_pct(m["alert"].get("nevi_spared")) for m in models.values()]),
             ("source probe AUC (lower is better)", [_auc(m["source_probe_auc"]) for m in models.values()])]
    leaks = sorted({k for m in models.values() for k in m["source_leakage"]})
    rows += [(f"leakage: {k.replace('_', ' ')}", [_pct(m["source_leakage"].get(k)) for m in models.values()])
             for k in leaks]
    held = sorted({s for m in models.values() for s in m["leave_one_source_out"]})
    rows += [(f"leave {s} out: melanoma-vs-nevus AUC", [_auc(m["leave_one_source_out"].get(s))
                                                        for m in models.values()]) for s in held]
    views = [v for v in next(iter(models.values()))["views"]]
    rows += [(f"balanced accuracy change, {v} (points)", [_points(m["views"].get(v)) for m in models.values()])
             for v in views]
    tones = sorted({t for m in models.values() for t in m["per_skin_tone"]})
    rows += [(f"balanced accuracy, skin tone {t}", [_pct(m["per_skin_tone"].get(t)) for m in models.values()])
             for t in tones]
    rows.append(("seborrheic vs pigmented benign keratosis AUC (MILK10k)",
                 [_auc(m["keratoses_milk10k_auc"]) for m in models.values()]))
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    return lines


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "compare", help="models side by side from their 'evaluate --shortcut' folders",
        description="Print a Markdown table comparing models evaluated on the same images.")
    parser.add_argument("models", nargs="+", metavar="NAME=EVAL_DIR",
                        help="a label and the folder 'skindesk-train evaluate --out' wrote")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON (default: none)")
    parser.add_argument("--card", type=Path, default=None,
                        help="an .onnx model whose card should record the comparison (default: none)")
    parser.add_argument("--images", default="",
                        help="how the compared images were chosen, for the card (default: empty)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    models: dict[str, dict[str, Any]] = {}
    for item in args.models:
        name, sep, folder = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{item!r}: give NAME=EVAL_DIR, e.g. '2.0=runs/eval'")
        path = Path(folder)
        if not (path / "metrics.json").is_file():
            raise ValueError(f"{path}: no metrics.json (run 'skindesk-train evaluate --out {path}' first)")
        models[name] = model_figures(path)
    print("\n".join(comparison_table(models)))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(models, indent=1), encoding="utf-8")
    if getattr(args, "card", None):
        record_in_card(args.card, models, getattr(args, "images", ""))
    return 0


def record_in_card(model_path: Path, models: dict[str, dict[str, Any]], images: str) -> None:
    """Write the comparison into ``model_path``'s card (``metrics.comparison``), atomically."""
    import os
    import tempfile

    import onnx

    from skindesk.core.modelcard import embed_card, read_model

    card, _, _ = read_model(model_path)
    raw = json.loads(json.dumps(card.raw))
    raw.setdefault("metrics", {})["comparison"] = {  # a list: the card's JSON sorts keys
        "images": images, "models": [{"name": name, **figures} for name, figures in models.items()]}
    proto = onnx.load(str(model_path))
    embed_card(proto, raw)
    handle, tmp = tempfile.mkstemp(suffix=".onnx", dir=model_path.parent)
    os.close(handle)
    onnx.save_model(proto, tmp)
    os.replace(tmp, model_path)
