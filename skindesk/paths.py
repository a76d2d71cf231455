"""Where SkinDesk finds its bundled files and where it may write.

Read-only resources (the shipped model, icons) live in ``resources/`` at the source tree's root,
or under PyInstaller's unpack folder (``sys._MEIPASS``) in a frozen app; ``SKINDESK_RESOURCES``
overrides both and ``SKINDESK_MODEL`` names another default model (site deployments, tests).
The app never writes inside its install folder: settings go to ``user_config_dir()`` and logs to
``user_log_dir()``, the usual per-user places of each OS, found without extra dependencies:

- Linux: ``$XDG_CONFIG_HOME/skindesk`` (``~/.config/skindesk``) and
  ``$XDG_STATE_HOME/skindesk/log`` (``~/.local/state/skindesk/log``);
- Windows: ``%APPDATA%\\SkinDesk`` and ``%LOCALAPPDATA%\\SkinDesk\\Logs``;
- macOS: ``~/Library/Application Support/SkinDesk`` and ``~/Library/Logs/SkinDesk``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = [
    "APP_NAME",
    "MODEL_FILENAME",
    "is_frozen",
    "resources_dir",
    "resource_path",
    "default_model_path",
    "user_config_dir",
    "user_log_dir",
]

APP_NAME = "SkinDesk"
MODEL_FILENAME = "skindesk.onnx"


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resources_dir() -> Path:
    """The folder holding ``models/`` and the other bundled, read-only files."""
    override = os.environ.get("SKINDESK_RESOURCES")
    if override:
        return Path(override)
    if is_frozen():
        return Path(sys._MEIPASS) / "resources"  # type: ignore[attr-defined]
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """A path inside ``resources_dir()`` (it may not exist)."""
    return resources_dir().joinpath(*parts)


def default_model_path() -> Path:
    """The bundled model: ``resources/models/skindesk.onnx`` (or ``$SKINDESK_MODEL``)."""
    override = os.environ.get("SKINDESK_MODEL")
    if override:
        return Path(override)
    return resource_path("models", MODEL_FILENAME)


def _home() -> Path:
    return Path.home()


def _xdg(variable: str, fallback: Path) -> Path:
    """An XDG base directory; relative values are ignored, as the specification says."""
    value = os.environ.get(variable, "")
    return Path(value) if value and Path(value).is_absolute() else fallback


def user_config_dir(create: bool = False) -> Path:
    """Per-user settings folder (see the module docstring); made when ``create``."""
    if sys.platform.startswith("win"):
        base = os.environ.get("APPDATA") or str(_home() / "AppData" / "Roaming")
        path = Path(base) / APP_NAME
    elif sys.platform == "darwin":
        path = _home() / "Library" / "Application Support" / APP_NAME
    else:
        path = _xdg("XDG_CONFIG_HOME", _home() / ".config") / APP_NAME.lower()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def user_log_dir(create: bool = False) -> Path:
    """Per-user log folder (see the module docstring); made when ``create``."""
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(_home() / "AppData" / "Local")
        path = Path(base) / APP_NAME / "Logs"
    elif sys.platform == "darwin":
        path = _home() / "Library" / "Logs" / APP_NAME
    else:
        path = _xdg("XDG_STATE_HOME", _home() / ".local" / "state") / APP_NAME.lower() / "log"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
