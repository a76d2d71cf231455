"""What SkinDesk remembers between sessions, stored with ``QSettings`` (INI format, user scope).

Organisation and application are both ``SkinDesk``; tests redirect the storage with
``QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tmp_dir)``. Keys: window geometry
and state, last folder, recent files, heat-map opacity, provider preference (auto/cuda/cpu),
operating point (a target sensitivity, or empty for the card's defaults), the image gate's
strictness (a level the card validated, or empty for the card's default), the model path, the
last batch run (folder, results file, recursion) and the report's remembered fields (clinic,
clinician, paper, folder; never patient data). Every part of the app reads them through
``AppSettings``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

__all__ = ["ORGANISATION", "APPLICATION", "AppSettings", "MAX_RECENT"]

# Lower case so the INI file lands in the same folder as ``skindesk.paths.user_config_dir()``
# (Linux: ~/.config/skindesk/skindesk.ini); the display name stays "SkinDesk".
ORGANISATION = "skindesk"
APPLICATION = "skindesk"
MAX_RECENT = 10


class AppSettings:
    """Typed access to SkinDesk's ``QSettings``; every getter has a safe default."""

    def __init__(self) -> None:
        self.store = QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
        )

    def sync(self) -> None:
        self.store.sync()

    # -- window ------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self.store.value("window/geometry")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, value: QByteArray) -> None:
        self.store.setValue("window/geometry", value)

    def window_state(self) -> QByteArray | None:
        value = self.store.value("window/state")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_window_state(self, value: QByteArray) -> None:
        self.store.setValue("window/state", value)

    # -- files -------------------------------------------------------------------------
    def last_folder(self) -> str:
        folder = str(self.store.value("files/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def set_last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", folder)

    def recent_files(self) -> list[str]:
        value = self.store.value("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent_file(self, path: str) -> list[str]:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.store.setValue("files/recent", recent)
        return recent

    def clear_recent_files(self) -> None:
        self.store.setValue("files/recent", [])

    # -- view --------------------------------------------------------------------------
    def heatmap_opacity(self) -> int:
        """Heat-map opacity in percent (0-100), default 50."""
        try:
            value = int(self.store.value("view/heatmap_opacity", 50))
        except (TypeError, ValueError):
            value = 50
        return max(0, min(100, value))

    def set_heatmap_opacity(self, value: int) -> None:
        self.store.setValue("view/heatmap_opacity", int(value))

    # -- model -------------------------------------------------------------------------
    def provider(self) -> str:
        value = str(self.store.value("model/provider", "auto") or "auto")
        return value if value in ("auto", "cuda", "cpu") else "auto"

    def set_provider(self, value: str) -> None:
        self.store.setValue("model/provider", value)

    def sensitivity(self) -> float | None:
        """The chosen operating point (target sensitivity), or None for the card's defaults."""
        value = self.store.value("model/sensitivity", "")
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    def set_sensitivity(self, value: float | None) -> None:
        self.store.setValue("model/sensitivity", "" if value is None else float(value))

    def gate_strictness(self) -> str | None:
        """The chosen image-gate level (e.g. 'strict'), or None for the card's default."""
        value = str(self.store.value("model/gate_strictness", "") or "").strip()
        return value or None

    def set_gate_strictness(self, value: str | None) -> None:
        self.store.setValue("model/gate_strictness", value or "")

    def model_path(self) -> str:
        return str(self.store.value("model/path", "") or "")

    def set_model_path(self, value: str) -> None:
        self.store.setValue("model/path", value)

    # -- batch -------------------------------------------------------------------------
    def last_batch_run(self) -> tuple[str, str, bool]:
        """(folder, results CSV, include subfolders) of the last batch run; '' when none."""
        folder = str(self.store.value("batch/last_folder", "") or "")
        csv_path = str(self.store.value("batch/last_csv", "") or "")
        recursive = str(self.store.value("batch/last_recursive", "true")).lower() != "false"
        return folder, csv_path, recursive

    def set_last_batch_run(self, folder: str, csv_path: str, recursive: bool) -> None:
        self.store.setValue("batch/last_folder", folder)
        self.store.setValue("batch/last_csv", csv_path)
        self.store.setValue("batch/last_recursive", bool(recursive))

    # -- reports -------------------------------------------------------------------------
    def report_value(self, key: str) -> str:
        """A remembered report field: 'clinic', 'clinician', 'paper' or 'folder' ('' if unset)."""
        return str(self.store.value(f"report/{key}", "") or "")

    def set_report_values(self, **values: str) -> None:
        """Remember report fields (never patient data) and write them to disk."""
        for key, value in values.items():
            self.store.setValue(f"report/{key}", value)
        self.store.sync()
