"""``skindesk-train gate-check MODEL [FOLDER...]``: how often the app declines to assess an image.

For each kind of input, the share of images that the app (its own ``Classifier``, so the same
gate threshold and quality checks) marks "not assessed", split into "gate" (not a dermoscopic
image) and "quality" (with the reasons). Kinds are the sub-folders of each FOLDER (or the folder
itself when it holds images directly), plus ``--generated N`` images of every generated kind of
non-dermoscopy (``negatives.py``, a seed no training run uses). For wrong inputs the share should
be near 100 %; for real dermoscopy (a folder of another clinic's images) it is the false-flag rate.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PIL import Image

__all__ = ["gate_check", "add_parser", "run"]

EVALUATION_SEED = 4242  # generated negatives here never overlap a training run's (seeds 1-3)


def _kinds(folders: Iterable[Path]) -> dict[str, list[Path]]:
    from skindesk.core.imaging import IMAGE_EXTENSIONS

    kinds: dict[str, list[Path]] = {}
    for folder in folders:
        if not folder.is_dir():
            raise ValueError(f"{folder}: no such folder")
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise ValueError(f"{folder}: no images found")
        for file in files:
            relative = file.relative_to(folder)
            kind = f"{folder.name}/{relative.parts[0]}" if len(relative.parts) > 1 else folder.name
            kinds.setdefault(kind, []).append(file)
    return kinds


def gate_check(classifier: Any, kinds: dict[str, list[Path | Image.Image]]) -> dict[str, Any]:
    """Per kind: images, share not assessed, by the gate and by quality, and the reasons."""
    from skindesk.core.errors import ImageLoadError

    report: dict[str, Any] = {}
    for kind, items in kinds.items():
        gate = quality = declined = unreadable = 0
        reasons: Counter[str] = Counter()
        for item in items:
            try:
                prediction = (classifier.predict_file(item) if isinstance(item, Path)
                              else classifier.predict_image(item))
            except ImageLoadError:
                unreadable += 1
                continue
            gate += bool(prediction.out_of_distribution)
            quality += bool(prediction.quality)
            declined += not prediction.assessed
            reasons.update(q.code for q in prediction.quality)
            if prediction.out_of_distribution:
                reasons["not dermoscopy"] += 1
        scored = len(items) - unreadable
        share = (lambda n: n / scored if scored else None)  # noqa: E731
        report[kind] = {"images": scored, "unreadable": unreadable, "not_assessed": share(declined),
                        "gate": share(gate), "quality": share(quality), "reasons": dict(reasons)}
    return report


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate-check", help="share of images per kind that the app declines to assess",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    parser.add_argument("model", type=Path, help="the SkinDesk .onnx model (required)")
    parser.add_argument("folders", type=Path, nargs="*",
                        help="folders of images; each sub-folder is one kind (default: none)")
    parser.add_argument("--generated", type=int, default=40,
                        help="generated images of every non-dermoscopy kind; 0 for none (default: 40)")
    parser.add_argument("--strictness", default=None,
                        help="one of the model's validated gate levels (default: the card's default)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here (default: none)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from skindesk.core.classifier import Classifier

    from .negatives import GENERATED_KINDS, generate

    if args.generated < 0:
        raise ValueError("--generated must be 0 or more")
    classifier = Classifier(args.model, provider="cpu", gate_strictness=args.strictness)
    kinds: dict[str, list] = dict(_kinds(args.folders))
    for kind in GENERATED_KINDS if args.generated else ():
        kinds[f"generated {kind}"] = [generate(kind, i, EVALUATION_SEED) for i in range(args.generated)]
    if not kinds:
        raise ValueError("nothing to check: give image folders or --generated N")
    report = gate_check(classifier, kinds)
    print(f"{'kind':<40} {'images':>6} {'not assessed':>13} {'gate':>6} {'quality':>8}")
    for kind, row in report.items():
        if not row["images"]:
            print(f"{kind:<40} {0:>6}   (all unreadable)")
            continue
        print(f"{kind:<40} {row['images']:>6} {row['not_assessed']:>13.0%} "
              f"{row['gate']:>6.0%} {row['quality']:>8.0%}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0
