"""GUI speed: process start → window shown (goal ≤ 1.5 s), image opened → chart drawn (≤ 150 ms).

Also: the longest event-loop stall while a 40-megapixel JPEG opens (the UI must not freeze).
Medians over several runs. Runs under Xvfb when it is installed (the xcb plugin, as on a desktop),
else offscreen. Model: the shipped one, or a 224-pixel untrained test model while none is
installed (its inference is ~1 ms; a MobileNet adds ~10 ms on this CPU, see FACTS.md).

Usage: ``.venv/bin/python benchmarks/bench_gui.py [--runs 7] [--images 12]``
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "dermoscopy"

CHILD = r"""
import sys, time
t_import = time.perf_counter()
from PySide6.QtCore import QSettings, QTimer
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, sys.argv[1])
from skindesk.gui.app import create_application
app = create_application()
from skindesk.gui.main_window import MainWindow
window = MainWindow()
window.show()
def check():
    handle = window.windowHandle()
    if handle is not None and handle.isExposed():
        print(f"SHOWN {time.time():.6f}", flush=True)
        app.quit()
    else:
        QTimer.singleShot(1, check)
QTimer.singleShot(0, check)
app.exec()
"""


def start_display() -> tuple[subprocess.Popen | None, str]:
    if shutil.which("Xvfb"):
        display = ":98"
        process = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.8)
        if process.poll() is None:
            os.environ["DISPLAY"] = display
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            return process, "xcb (Xvfb)"
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    return None, "offscreen"


def pick_model(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from skindesk.paths import default_model_path

    shipped = Path(default_model_path())
    if shipped.is_file():
        return shipped
    from skindesk.core.testmodels import build_test_model, test_card

    return build_test_model(folder / "bench-model.onnx", test_card(size=224))


def sample_images(count: int, folder: Path) -> list[Path]:
    paths: list[Path] = []
    labels = DATA / "labels.csv"
    if labels.is_file():
        with open(labels, newline="") as handle:
            for row in csv.DictReader(handle):
                if (DATA / row["image"]).is_file():
                    paths.append(DATA / row["image"])
                if len(paths) >= count:
                    return paths
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    while len(paths) < count:
        path = folder / f"sample-{len(paths)}.jpg"
        Image.fromarray(rng.integers(0, 255, (450, 600, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def bench_start(runs: int, model: Path, folder: Path) -> list[float]:
    env = dict(os.environ, SKINDESK_MODEL=str(model), PYTHONPATH=str(ROOT))
    times = []
    for run in range(runs + 1):
        settings = folder / f"start-settings-{run}"
        settings.mkdir()
        start = time.time()
        output = subprocess.run([sys.executable, "-c", CHILD, str(settings)], env=env, capture_output=True,
                                text=True, timeout=60, cwd=ROOT).stdout
        shown = [line for line in output.splitlines() if line.startswith("SHOWN ")]
        if not shown:
            raise SystemExit(f"child did not report: {output}")
        if run:  # the first run warms the disk cache
            times.append(float(shown[0].split()[1]) - start)
    return times


def bench_in_process(images: list[Path], model: Path, folder: Path) -> tuple[list[float], float, float]:
    from PySide6.QtCore import QSettings, QTimer

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder / "settings"))
    from skindesk.gui.app import create_application
    from skindesk.gui.main_window import MainWindow

    app = create_application()
    window = MainWindow(model_path=model)
    window.resize(1360, 860)
    window.show()
    deadline = time.monotonic() + 60
    while window.classifier is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    if window.classifier is None:
        raise SystemExit(f"model did not load: {window.model_error}")

    def wait_for(path: Path, done: dict) -> None:
        target = str(path.absolute())
        while target not in done and time.monotonic() < deadline + 120:
            app.processEvents()
            time.sleep(0.0005)

    shown: dict[str, float] = {}
    window.result_shown.connect(lambda p: shown.setdefault(p, time.perf_counter()))
    latencies = []
    for path in images:
        start = time.perf_counter()
        window.open_paths([str(path)])
        wait_for(path, shown)
        latencies.append(shown[str(path.absolute())] - start)

    # 40 megapixels: measure the longest gap between 5 ms ticks while it opens
    from PIL import Image

    big = folder / "forty-megapixels.jpg"
    Image.new("RGB", (7300, 5480), (170, 110, 90)).save(big, quality=85)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    window.open_paths([str(big)])
    wait_for(big, shown)
    big_latency = shown[str(big.absolute())] - start
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])] or [0.0]
    window.close()
    return latencies, big_latency, max(gaps)


def main() -> int:
    parser = argparse.ArgumentParser(description="SkinDesk GUI timings")
    parser.add_argument("--runs", type=int, default=7, help="process starts to time (default: 7)")
    parser.add_argument("--images", type=int, default=12, help="images to open in one window (default: 12)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="skindesk-bench-gui-"))
    xvfb, platform = start_display()
    try:
        model = pick_model(folder)
        images = sample_images(args.images, folder)
        starts = bench_start(args.runs, model, folder)
        latencies, big, stall = bench_in_process(images, model, folder)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"platform: {platform}; model: {model.name}; cores: {len(os.sched_getaffinity(0))}")
    print(f"process start -> window shown: median {statistics.median(starts):.3f} s "
          f"(min {min(starts):.3f}, max {max(starts):.3f}, {len(starts)} runs; goal <= 1.5 s)")
    print(f"image opened -> chart drawn:   median {statistics.median(latencies) * 1000:.0f} ms "
          f"(min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}, {len(latencies)} images "
          "of the pool; goal <= 150 ms)")
    print(f"40-megapixel JPEG opened -> chart drawn: {big * 1000:.0f} ms; longest UI stall meanwhile "
          f"{stall * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
