"""``skindesk-train model-doc RUN_DIR``: the shipped model's document, written from a run's files.

Every figure in ``resources/models/README.md`` comes from files the training and evaluation code
wrote (the model card, ``eval_*/summary.txt``, ``train.log``, ``docs/seed-reproduction.json``,
``docs/paper-table-shipped.json``, ``docs/quantization.json``); nothing is typed in by hand, so
the document cannot drift from the model. Hand-written context goes in ``NOTES``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path
from typing import Any

__all__ = ["write_model_doc", "add_parser", "run"]

ROOT = Path(__file__).resolve().parents[1]


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f} %"


LEGACY_COMMIT = "cb5c9cc"  # the last commit with model 1.0's cached-feature pipeline


def _reproduce_command(run_dir: Path) -> list[str]:
    """The ``skindesk-train train`` command of the run: only the flags that differ from defaults."""
    from .config import TrainConfig

    config_file = run_dir / "config.json"
    if config_file.exists():
        config = TrainConfig.from_json(config_file.read_text(encoding="utf-8"))
        default = TrainConfig(data=config.data, out=config.out)
        command = ["skindesk-train train", f"--data {config.data}", f"--out {config.out}"]
        for name, value in vars(config).items():
            if name in ("data", "out", "resume", "stop_after_steps") or value == getattr(default, name):
                continue
            flag = name.replace("_", "-")
            if isinstance(value, bool):
                command.append(f"--{flag}" if value else f"--no-{flag}")
            else:
                command.append(f"--{flag} {value}")
        return command
    args = json.loads((run_dir / "run_args.json").read_text()) if (run_dir / "run_args.json").exists() else {}
    command = [f"git checkout {LEGACY_COMMIT} && skindesk-train train --arch mobilenetv2",
               f"--data {args.get('data', '../shared/data/dermoscopy')}",
               f"--weights {args.get('weights')}", f"--out {args.get('out', 'runs/ship')}"]
    for option in ("cut_layer", "fine_tune_epochs", "head_epochs", "views", "learning_rate", "seed"):
        if args.get(option) is not None:
            command.append(f"--{option.replace('_', '-')} {args[option]}")
    return command


def _training_time(run_dir: Path, card: dict[str, Any]) -> str:
    """Training wall time: the run's own clock (card) or, for older runs, the log."""
    log = run_dir / "train.log"
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    epochs = [int(s) for s in re.findall(r"(\d+) s/epoch", text)]
    parts = []
    seconds = (card.get("training") or {}).get("training_seconds")
    if seconds:
        trained = text.split("training done")[0]  # an export later resumes only to finish
        sittings = trained.count("resumed at epoch") + 1
        parts.append(f"{seconds / 3600:.1f} h of training in {sittings} sitting{'s' * (sittings > 1)} "
                     "(resumed from checkpoints), not counting the finish step")
    caching = re.findall(r"feature cache ready \(([\d:]+)\)", text)
    if caching:
        parts.append(f"feature cache {caching[0]} (min:s)")
    if epochs:
        parts.append(f"{len(epochs)} epochs at {min(epochs)}–{max(epochs)} s each")
    return "; ".join(parts) or "not recorded"


def write_model_doc(run_dir: Path, out: Path, notes: str = "", comparison: Path | None = None) -> Path:
    card = json.loads((run_dir / "model_card.json").read_text(encoding="utf-8"))
    figures = out.parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    lines = [f"# {card['name']} {card['version']} — model card", ""]
    lines += [card["intended_use"], "", f"**{card['disclaimer']}**", ""]
    if notes:
        lines += [notes.strip(), ""]
    data = card["training_data"]
    lines += ["## Training", "",
              f"- Data: {data['description']}; {data['images']} images "
              f"({', '.join(f'{k} {v}' for k, v in data['sources'].items())}) after the audit excluded "
              f"{data.get('excluded_by_audit', 0)} duplicate copies; split "
              f"{data['split']['sizes']} (seed {data['split']['seed']}, grouped by lesion).",
              f"- Data fingerprint (sha256 over sorted image hashes and labels): `{data['fingerprint']}`",
              f"- Configuration: `{json.dumps(card['training'])}`",
              f"- Preprocessing (shared by training and the app): `{json.dumps(card['preprocessing'])}`",
              f"- Calibration: temperature {card['calibration']['temperature']:.3f} fitted on "
              f"{card['calibration']['fitted_on']}; validation ECE "
              f"{card['calibration']['validation_ece_before']:.3f} → "
              f"{card['calibration']['validation_ece_after']:.3f}.",
              f"- Image gate (at or above it an image is not assessed, no alert): {card['ood']['score']} ≥ {card['ood']['threshold']:.3f} "
              f"({card['ood']['chosen_on']}).",
              f"- Training time on this machine (2 CPU cores, shared): {_training_time(run_dir, card)}.",
              f"- Licence: {card['licence']}", ""]
    command = _reproduce_command(run_dir)
    lines += ["Reproduce (then copy `RUN/model.onnx` to `resources/models/skindesk.onnx`):", "",
              "```bash", " ".join(command), "```", ""]
    metrics = card["metrics"]
    lines += ["## Results on the untouched test split", "",
              "| | balanced accuracy | accuracy | melanoma AUC | macro AUC | ECE |",
              "|---|---|---|---|---|---|"]
    for key, label in (("test", "test split as stored"),
                       ("test_rescaled_800x600", "test split, each image upscaled to 800×600 + JPEG q90")):
        if key in metrics:
            m = metrics[key]
            lines.append(f"| {label} | {_pct(m['balanced_accuracy'])} | {_pct(m['accuracy'])} | "
                         f"{m['melanoma_auc']:.3f} | {m['auc_macro']:.3f} | {m['ece']:.3f} |")
    validation = metrics.get("validation", {})
    lines += ["", f"Validation (original + rescaled views, used for every choice): balanced accuracy "
                  f"{_pct(validation.get('balanced_accuracy'))}; frozen-feature baseline (head only) "
                  f"{_pct(metrics.get('frozen_feature_baseline_validation_balanced_accuracy'))}.", ""]
    cross = metrics.get("cross_source_frozen_features") or {}
    if cross:
        lines += ["Cross-source (frozen ImageNet features + logistic regression, melanoma vs nevus, "
                  "trained on one source and scored on the other): " + "; ".join(
                      f"{k} AUC {v['melanoma_vs_nevus_auc']:.3f}" for k, v in cross.items()
                      if isinstance(v, dict)) + ".", ""]
    shortcut = metrics.get("shortcut")
    if shortcut:
        from .evaluate import _shortcut_lines

        lines += ["### Source shortcut, invariance and skin tones (test split)", "",
                  "```", *[line for line in _shortcut_lines(shortcut) if line][1:], "```", ""]
    if comparison is not None:
        from .compare import comparison_table

        models = json.loads(comparison.read_text(encoding="utf-8"))
        lines += ["## Beside the previous model", "",
                  f"Both models scored through the app on the same images (`{comparison.name}`; "
                  "how they were chosen is in the notes above):", "", *comparison_table(models), ""]
    for key in ("test", "test_rescaled_800x600"):
        folder = run_dir / f"eval_{key}"
        if not folder.exists():
            continue
        lines += [f"### `skindesk-train evaluate` on the {key.replace('_', ' ')} split", "",
                  "```", (folder / "summary.txt").read_text(encoding="utf-8").strip(), "```", ""]
        for plot in ("confusion_matrix", "roc", "reliability", "training_curves"):
            source = folder / f"{plot}.png"
            if source.exists():
                target = figures / f"{key}_{plot}.png"
                shutil.copyfile(source, target)
                lines.append(f"![{plot.replace('_', ' ')} ({key})](figures/{target.name})")
        lines.append("")
    seed = ROOT / "docs" / "seed-reproduction.json"
    shipped = ROOT / "docs" / "paper-table-shipped.json"
    if seed.exists():
        s = json.loads(seed.read_text())
        lines += ["## The seed paper's table, side by side", "",
                  "Accuracy on the 9-class folder dataset (`../shared/data/isic-9class-kaggle`), 25 "
                  "epochs, the paper's CNN and settings (`python benchmarks/reproduce_seed.py`):", "",
                  "| | train | validation | test |", "|---|---|---|---|",
                  f"| paper (reported) | {_pct(s['paper']['train'])} | {_pct(s['paper']['validation'])} | {_pct(s['paper']['test'])} |"]
        for key, label in (("as_published", "paper's model, data as published (80/20, random_state 42)"),
                           ("audited", "paper's model, audited leakage-free data")):
            if key in s:
                r = s[key]
                lines.append(f"| {label} | {_pct(r['train'])} | {_pct(r['validation'])} | {_pct(r['test'])} |")
        if shipped.exists():
            p = json.loads(shipped.read_text())
            lines.append(f"| shipped model, the {p['scored_images']} of {p['kaggle_test_images']} Test "
                         f"images it never saw (`python benchmarks/paper_table.py`) | – | – | "
                         f"{_pct(p['accuracy'])} (balanced {_pct(p['balanced_accuracy'])}) |")
        lines.append("")
    quant = ROOT / "docs" / "quantization.json"
    if quant.exists():
        q = json.loads(quant.read_text())
        lines += ["## int8 variant", "", q.get("summary", json.dumps(q)), ""]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "model-doc", help="write the model document (README.md) from a finished run's files")
    parser.add_argument("run_dir", help="a finished mobilenetv2 run folder")
    parser.add_argument("--out", default=str(ROOT / "resources/models/README.md"),
                        help="document to write (default: resources/models/README.md)")
    parser.add_argument("--notes", default=None,
                        help="a Markdown file of hand-written context to include (default: none)")
    parser.add_argument("--comparison", type=Path, default=None,
                        help="a 'skindesk-train compare --out' JSON: the models side by side (default: none)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    notes = Path(args.notes).read_text(encoding="utf-8") if args.notes else ""
    path = write_model_doc(Path(args.run_dir), Path(args.out), notes, args.comparison)
    print(f"wrote {path}")
    return 0
