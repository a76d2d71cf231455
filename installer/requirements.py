"""Print the pip requirements of one bundle variant, derived from ``pyproject.toml``.

``python installer/requirements.py cpu`` swaps ``onnxruntime-gpu`` for plain ``onnxruntime`` (same
version bounds); ``gpu`` keeps ``onnxruntime-gpu`` and drops plain ``onnxruntime`` on Linux and
Windows. The two packages install the same ``onnxruntime`` module and must never share one
environment (FACTS.md), which is why each variant has its own build venv. ``PySide6-Addons`` is
left out: SkinDesk imports only QtCore, QtGui and QtWidgets (all in ``PySide6-Essentials``), and
the frozen-GUI test fails if that ever changes. PyInstaller itself is pinned to the release the
bundle was verified with. The dependency list itself stays in ``pyproject.toml``, in one place.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

__all__ = ["PYINSTALLER", "requirements"]

PYINSTALLER = "pyinstaller==6.22.*"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _name(requirement: str) -> str:
    match = _NAME.match(requirement)
    return match.group(1).lower().replace("_", "-") if match else ""


def requirements(variant: str, pyproject: str | Path | None = None) -> list[str]:
    """The requirement lines for ``variant`` ('cpu' or 'gpu')."""
    if variant not in ("cpu", "gpu"):
        raise ValueError(f"unknown variant {variant!r} (use cpu or gpu)")
    pyproject = Path(pyproject or Path(__file__).resolve().parent.parent / "pyproject.toml")
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = []
    for requirement in project["dependencies"]:
        name = _name(requirement)
        if name == "pyside6-addons":
            continue
        if name == "onnxruntime-gpu" and variant == "cpu":
            requirement = re.sub(r"(?i)^\s*onnxruntime-gpu", "onnxruntime", requirement)
        elif name == "onnxruntime" and variant == "gpu" and "Darwin" not in requirement:
            continue
        lines.append(requirement.strip())
    lines.append(PYINSTALLER)
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python installer/requirements.py cpu|gpu")
    try:
        print("\n".join(requirements(sys.argv[1])))
    except ValueError as error:
        sys.exit(f"requirements.py: {error}")
