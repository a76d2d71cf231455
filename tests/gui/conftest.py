"""Fixtures for the GUI tests: offscreen Qt, settings in a temp folder, tiny real models."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.testmodels import build_test_model, test_card

NAMES = [row[0] for row in NINE_CLASSES]


def fixed_bias(**wanted: float) -> np.ndarray:
    """Logits whose softmax gives the wanted probabilities; the rest share what is left.

    Shifted by +5 so the energy score is -5, inside the test card's threshold 0: an ordinary
    image the gate lets through (at 0 exactly it would be gated, 'not assessed').
    """
    rest = [n for n in NAMES if n not in wanted]
    left = (1.0 - sum(wanted.values())) / len(rest)
    probabilities = np.array([wanted.get(n, left) for n in NAMES], dtype=np.float64)
    return (np.log(probabilities) + 5.0).astype(np.float32)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from PySide6.QtCore import QSettings

    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    monkeypatch.delenv("SKINDESK_MODEL", raising=False)
    return folder


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def colour_model(model_dir: Path) -> Path:
    """Probabilities follow the image's colours; CAMs vary over the image."""
    return build_test_model(model_dir / "colour.onnx", test_card(ood_threshold=None))


@pytest.fixture(scope="session")
def make_fixed_model(model_dir: Path):
    """Build (once per argument set) a model whose probabilities are fixed by its bias."""
    cache: dict[tuple, Path] = {}

    def make(name: str, card_args: dict | None = None, **wanted: float) -> Path:
        key = (name, tuple(sorted((card_args or {}).items())), tuple(sorted(wanted.items())))
        if key not in cache:
            weights = np.zeros((3, len(NAMES)), dtype=np.float32)
            cache[key] = build_test_model(
                model_dir / f"{name}.onnx", test_card(**(card_args or {})),
                weights=weights, bias=fixed_bias(**wanted),
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    paths = {}
    y, x = np.mgrid[0:240, 0:320]
    lesion = np.zeros((240, 320, 3), dtype=np.uint8)
    lesion[..., 0] = 200 - (x / 4).astype(np.uint8)
    lesion[..., 1] = (120 + y / 3).astype(np.uint8)
    lesion[..., 2] = 90
    blob = (x - 160) ** 2 + (y - 120) ** 2 < 70**2
    lesion[blob] = (90, 50, 40)
    paths["lesion"] = folder / "lesion.png"
    Image.fromarray(lesion).save(paths["lesion"])
    paths["noise"] = folder / "noise.jpg"
    Image.fromarray(rng.integers(0, 255, (180, 240, 3), dtype=np.uint8)).save(paths["noise"], quality=90)
    paths["bad"] = folder / "broken.jpg"
    paths["bad"].write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    paths["text"] = folder / "notes.png"
    paths["text"].write_text("not an image at all")
    return paths


@pytest.fixture
def wait_for_result(qtbot):
    """``wait(window, path)``: wait until ``path`` is current and its result is on screen."""
    return lambda window, path, timeout=8000: _wait_for_result(qtbot, window, path, timeout)


def _wait_for_result(qtbot, window, path: Path | str, timeout: int = 8000):
    path = str(Path(path).absolute())

    def shown() -> bool:
        entry = window._current_entry()
        return (entry is not None and entry.path == path and entry.prediction is not None
                and window.result_panel.prediction is entry.prediction)

    qtbot.waitUntil(shown, timeout=timeout)
    return window.current_prediction()


@pytest.fixture
def make_window(qtbot):
    """A shown MainWindow on ``model``, its model loaded (or failed) before returning."""
    from skindesk.gui.main_window import MainWindow

    def make(model: Path | str, wait: bool = True) -> MainWindow:
        window = MainWindow(model_path=model)
        qtbot.addWidget(window)
        window.resize(1100, 720)
        window.show()
        if wait:
            qtbot.waitUntil(lambda: window.classifier is not None or bool(window.model_error), timeout=8000)
        return window

    return make
