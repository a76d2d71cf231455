"""Entry point of the desktop app: ``main(paths)`` builds the QApplication and the main window.

High-DPI scaling is on (Qt 6 default; fractional factors passed through), the window shows before
the model has loaded, and the given image paths open as soon as the event loop runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

__all__ = ["main", "create_application"]


def create_application(argv: Sequence[str] | None = None):  # noqa: ANN201 - QApplication
    """The QApplication (created once), named so QSettings and the desktop know it."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from skindesk import __version__

    from .settings import APPLICATION, ORGANISATION

    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(list(argv) if argv is not None else [sys.argv[0]])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("SkinDesk")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("skindesk")
    return app


def main(paths: list[str], model_path: str | os.PathLike[str] | None = None) -> int:
    """Run the desktop app, opening ``paths`` (images, or a folder for a batch); exit status."""
    from PySide6.QtCore import QTimer

    app = create_application()
    from .main_window import MainWindow

    window = MainWindow(model_path=model_path)
    window.show()
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths([str(p) for p in paths]))
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover - python -m skindesk.gui.app IMAGE...
    sys.exit(main(sys.argv[1:]))
