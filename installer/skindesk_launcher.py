"""Entry script of the frozen app: the same ``skindesk.cli.main`` as the ``skindesk`` command.

No arguments (or image paths) open the desktop app, a verb runs headless. In a windowed Windows or
macOS executable there is no console, so ``sys.stdout``/``sys.stderr`` are None: they are sent to
``skindesk.log`` in the user's log folder (``skindesk.paths.user_log_dir``), never next to the
executable, so warnings are kept and nothing is written inside the install folder.
"""

from __future__ import annotations

import multiprocessing
import sys

__all__: list[str] = []


def _attach_missing_streams() -> None:
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        from skindesk.paths import user_log_dir

        log = open(user_log_dir(create=True) / "skindesk.log", "a", encoding="utf-8", buffering=1)
    except OSError:
        import os

        log = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = log
    if sys.stderr is None:
        sys.stderr = log


if __name__ == "__main__":
    multiprocessing.freeze_support()
    _attach_missing_streams()
    from skindesk.cli import main

    sys.exit(main())
