"""Entry point of the desktop app: ``main(paths)`` builds the QApplication and the main window.

High-DPI scaling is on (Qt 6 default; fractional factors passed through), the window shows before
the model has loaded, and the given image paths open as soon as the event loop runs.
``SKINDESK_SMOKE_TEST=SECONDS`` (for the packaged-app test, tests/installer) closes the window once
the model has loaded, printing one line, and exits 1 if that has not happened within SECONDS.
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
    from skindesk.paths import resource_path

    icon = resource_path("icons", "skindesk.png")
    if icon.is_file():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    return app


def _arm_smoke_test(app, window, seconds: float) -> None:  # noqa: ANN001 - Qt objects
    """Close ``window`` once its model has loaded; exit status 1 if not within ``seconds``."""
    from PySide6.QtCore import QTimer

    done: list[bool] = []

    def finish(ok: bool, message: str) -> None:
        if done:
            return
        done.append(ok)
        print(f"skindesk smoke test: {message}", flush=True)
        window.close()
        app.exit(0 if ok else 1)

    window.model_ready.connect(
        lambda: finish(True, f"window shown, model loaded: {window.model_label.text()}"))
    QTimer.singleShot(int(seconds * 1000), lambda: finish(
        False, f"no model loaded within {seconds:g} s: {window.model_error or window.model_label.text()}"))


def main(paths: list[str], model_path: str | os.PathLike[str] | None = None) -> int:
    """Run the desktop app, opening ``paths`` (images, or a folder for a batch); exit status."""
    from PySide6.QtCore import QTimer

    app = create_application()
    from .main_window import MainWindow

    window = MainWindow(model_path=model_path)
    window.show()
    if paths:
        QTimer.singleShot(0, lambda: window.open_paths([str(p) for p in paths]))
    smoke = os.environ.get("SKINDESK_SMOKE_TEST", "")
    if smoke:
        _arm_smoke_test(app, window, float(smoke) if smoke.replace(".", "", 1).isdigit() else 60.0)
    return int(app.exec())


if __name__ == "__main__":  # pragma: no cover - python -m skindesk.gui.app IMAGE...
    sys.exit(main(sys.argv[1:]))
