"""Fixtures for the report tests: a QApplication first (widgets need it), settings in a temp
folder, a synthetic lesion image in a colour nothing else on the page uses, and helpers that read
PDFs back with poppler-utils (pdftotext, pdftoppm, pdfinfo, pdffonts)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from skindesk.core.classes import NINE_CLASSES

NAMES = [row[0] for row in NINE_CLASSES]
# Pure green never appears in a report's own drawing: finding it on the page proves the image is.
LESION_BACKGROUND = (0, 200, 0)


def probabilities(**wanted: float) -> list[float]:
    """Nine probabilities: the wanted ones, the rest sharing what is left."""
    rest = [n for n in NAMES if n not in wanted]
    left = (1.0 - sum(wanted.values())) / len(rest)
    return [wanted.get(n, left) for n in NAMES]


@pytest.fixture(autouse=True)
def _application_and_settings(qapp, tmp_path: Path) -> Path:  # noqa: ANN001
    """pytest-qt's QApplication exists before any report code makes a QGuiApplication."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


@pytest.fixture
def lesion_image(tmp_path: Path) -> Path:
    """A 320x240 JPEG: a brown 'lesion' on a pure green background."""
    image = Image.new("RGB", (320, 240), LESION_BACKGROUND)
    ImageDraw.Draw(image).ellipse((90, 50, 230, 190), fill=(110, 60, 40))
    path = tmp_path / "lesion.jpg"
    image.save(path, quality=95)
    return path


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (Debian/Ubuntu: apt-get install poppler-utils)")
    return found


def pdf_text(path: Path) -> str:
    """The PDF's text (pdftotext, reading order), white space collapsed to single spaces."""
    out = subprocess.run([_tool("pdftotext"), str(path), "-"], capture_output=True, text=True,
                         check=True).stdout
    return " ".join(out.split())


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run([_tool("pdfinfo"), str(path)], capture_output=True, text=True,
                         check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def pdf_fonts(path: Path) -> list[list[str]]:
    out = subprocess.run([_tool("pdffonts"), str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def pdf_words(path: Path, page: int = 1) -> list[tuple[float, float, float, float, str]]:
    """Page ``page``'s words with their boxes in points: (x_min, y_min, x_max, y_max, word)."""
    out = subprocess.run([_tool("pdftotext"), "-bbox", "-f", str(page), "-l", str(page),
                          str(path), "-"], capture_output=True, text=True, check=True).stdout
    pattern = (r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
               r"(.*?)</word>")
    return [(float(a), float(b), float(c), float(d), html.unescape(w))
            for a, b, c, d, w in re.findall(pattern, out)]


def page_png(path: Path, page: int = 1, dpi: int = 40) -> np.ndarray:
    """Page ``page`` rendered to an RGB array (pdftoppm)."""
    prefix = path.with_suffix("")
    subprocess.run([_tool("pdftoppm"), "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
                    "-singlefile", str(path), str(prefix)], check=True)
    return np.asarray(Image.open(f"{prefix}.png").convert("RGB"))


@pytest.fixture
def pdf():  # noqa: ANN201
    """Helpers: ``pdf.text(path)``, ``pdf.info(path)``, ``pdf.fonts(path)``, ``pdf.png(path)``,
    ``pdf.words(path)``, ``pdf.probabilities(**wanted)`` and ``pdf.LESION_BACKGROUND``."""
    from types import SimpleNamespace

    return SimpleNamespace(text=pdf_text, info=pdf_info, fonts=pdf_fonts, png=page_png,
                           words=pdf_words, probabilities=probabilities, LESION_BACKGROUND=LESION_BACKGROUND)
