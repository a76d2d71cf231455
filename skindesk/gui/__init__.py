"""SkinDesk's desktop window (PySide6): widgets wired to ``skindesk.core``; long work in workers.

``skindesk.gui.app.main(paths)`` starts the application. Nothing here imports Qt at package
import time, so ``import skindesk.gui`` stays cheap for the command line.
"""

__all__: list[str] = []
