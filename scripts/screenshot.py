"""Start the real SkinDesk window under Xvfb on a sample image and save a PNG screenshot.

Usage: ``.venv/bin/python scripts/screenshot.py [--window main|batch|about] [--image IMG]
[--model ONNX] [--out PNG]`` (defaults: the main window on a melanoma from
../shared/data/dermoscopy, the shipped model or, while none is installed, a tiny untrained test
model, and docs/screenshot.png; ``batch`` classifies a folder of pool images in the batch window
and writes docs/screenshot-batch.png, ``about`` shows About and writes
docs/screenshot-about.png). ``--dark`` shows a 'not assessed' image: the image underexposed to
15 % and, while the shipped model has no quality limits, a copy of it whose card holds the
training pool's limits (``tests/data/pool_quality_limits.json``); ``--show-anyway`` reveals its
probabilities. Needs ``Xvfb``
(``apt-get install xvfb``); the window is drawn by the xcb platform plugin, as on a desktop.
Settings go to a temporary folder, so the user's own are never touched.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dermoscopy"


def sample_image() -> Path:
    """A melanoma from the shared pool (the first one listed), else a drawn stand-in."""
    labels = DATA / "labels.csv"
    if labels.is_file():
        with open(labels, newline="") as handle:
            for row in csv.DictReader(handle):
                if row["diagnosis"] == "melanoma" and (DATA / row["image"]).is_file():
                    return DATA / row["image"]
    from PIL import Image, ImageDraw

    path = Path(tempfile.mkdtemp()) / "sample.png"
    image = Image.new("RGB", (600, 450), (214, 160, 140))
    ImageDraw.Draw(image).ellipse((180, 110, 430, 340), fill=(92, 58, 44))
    image.save(path)
    return path


def batch_folder(parent: Path, count: int = 40) -> Path:
    """A folder of pool images (links) with one unreadable file, for the batch window."""
    folder = parent / "clinic-2025-03"
    folder.mkdir(parents=True, exist_ok=True)
    labels = DATA / "labels.csv"
    if labels.is_file():
        with open(labels, newline="") as handle:
            rows = [r for r in csv.DictReader(handle) if (DATA / r["image"]).is_file()]
        step = max(1, len(rows) // count)
        for row in rows[::step][:count]:
            source = DATA / row["image"]
            (folder / source.name).symlink_to(source)
    else:
        sample_image_path = sample_image()
        for index in range(count):
            (folder / f"lesion_{index:03d}{sample_image_path.suffix}").symlink_to(sample_image_path)
    (folder / "IMG_0001_scan_truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return folder


def darkened(image: Path, folder: Path) -> Path:
    """``image`` underexposed to 15 % of its brightness (a JPEG the quality check rejects)."""
    from PIL import Image, ImageEnhance

    path = folder / "IMG_0002_underexposed.jpg"
    ImageEnhance.Brightness(Image.open(image).convert("RGB")).enhance(0.15).save(path, quality=92)
    return path


def with_quality_limits(model: Path, folder: Path) -> Path:
    """``model`` itself when its card has quality limits, else a copy whose card has the pool's."""
    import json

    import onnx

    from skindesk.core.modelcard import embed_card, read_model

    card = read_model(model)[0]
    if card.quality_limits is not None:
        return model
    raw = dict(card.raw)
    raw["quality"] = json.loads((ROOT / "tests" / "data" / "pool_quality_limits.json").read_text())
    proto = onnx.load_model(str(model))
    embed_card(proto, raw)
    copy = folder / "model-with-quality-limits.onnx"
    onnx.save_model(proto, str(copy))
    return copy


def settle(app: object, rounds: int = 20) -> None:
    for _ in range(rounds):
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def start_xvfb(display: str) -> subprocess.Popen:
    if shutil.which("Xvfb") is None:
        sys.exit("Xvfb is not installed: apt-get install xvfb")
    process = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    time.sleep(0.8)
    if process.poll() is not None:
        sys.exit(f"Xvfb {display} did not start")
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=None, help="image to open (default: a pool melanoma)")
    parser.add_argument("--model", type=Path, default=None,
                        help="model (default: the shipped one, else a tiny test model)")
    parser.add_argument("--window", choices=("main", "batch", "about"), default="main",
                        help="what to show (default: main)")
    parser.add_argument("--out", type=Path, default=None,
                        help="PNG to write (default: docs/screenshot.png, docs/screenshot-batch.png "
                             "or docs/screenshot-about.png)")
    parser.add_argument("--heatmap", action="store_true", help="show the heat map (default: off)")
    parser.add_argument("--dark", action="store_true",
                        help="show an underexposed image, not assessed (default: off)")
    parser.add_argument("--show-anyway", action="store_true",
                        help="reveal a not-assessed image's probabilities (default: off)")
    parser.add_argument("--size", default="1360x860", help="window size (default: 1360x860)")
    args = parser.parse_args()
    if args.out is None:
        suffix = "" if args.window == "main" else f"-{args.window}"
        args.out = ROOT / "docs" / f"screenshot{suffix}.png"

    display = ":97"
    xvfb = start_xvfb(display)
    os.environ["DISPLAY"] = display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    sys.path.insert(0, str(ROOT))
    try:
        return shoot(args)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=5)


def shoot(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    settings_dir = tempfile.mkdtemp(prefix="skindesk-shot-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    from skindesk.gui.app import create_application
    from skindesk.gui.main_window import MainWindow, resolve_model_path
    from skindesk.gui.settings import AppSettings

    app = create_application()
    model = args.model or resolve_model_path(None, AppSettings())
    if not Path(model).is_file():
        from skindesk.core.testmodels import build_test_model, test_card

        model = build_test_model(Path(settings_dir) / "test-model.onnx", test_card(size=64))
        print(f"no shipped model yet: using an untrained test model ({model})")
    image = args.image or sample_image()
    if args.dark:
        image = darkened(image, Path(settings_dir))
        model = with_quality_limits(Path(model), Path(settings_dir))
    window = MainWindow(model_path=model)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(20, 20)
    window.show()
    window.open_paths([str(image)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and window.result_panel.prediction is None and not window.model_error:
        app.processEvents()
        time.sleep(0.02)
    if window.result_panel.prediction is None:
        print(f"no result to show: {window.model_error or 'timed out'}", file=sys.stderr)
    if args.show_anyway:
        window.result_panel.show_anyway_button.setChecked(True)
    if args.heatmap:
        window.result_panel.heatmap_check.setChecked(True)
    settle(app)
    shown = window
    if args.window == "about":
        from skindesk.gui.dialogs import AboutDialog

        shown = AboutDialog(window.classifier, window.sensitivity, window)
        shown.move(40, 30)
        shown.show()
    elif args.window == "batch":
        from skindesk.gui.batch_view import BatchWindow

        shown = BatchWindow(lambda: window.classifier, window)
        shown.resize(width, height - 120)
        shown.move(20, 20)
        shown.show()
        folder = batch_folder(Path(settings_dir))
        if args.dark:
            image.rename(folder / image.name)
        shown.start(str(folder), str(Path(settings_dir) / "batch.csv"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and shown.running:
            app.processEvents()
            time.sleep(0.02)
    settle(app)
    shot = QApplication.primaryScreen().grabWindow(0, shown.x(), shown.y(),
                                                   shown.frameGeometry().width(),
                                                   shown.frameGeometry().height())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not shot.save(str(args.out), "PNG"):
        print(f"could not write {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} ({shot.width()}x{shot.height()}) from {image} with {model}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
