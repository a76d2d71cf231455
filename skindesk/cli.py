"""The ``skindesk`` command: a verb runs headless, anything else starts the desktop app.

``skindesk`` with no arguments, ``skindesk IMAGE...`` (the first argument is an existing file or
folder, not a verb) and ``python -m skindesk`` open the desktop app
(``skindesk.gui.app.main(paths)``). Verbs live in ``skindesk/commands/<verb>.py``, each with
``add_parser(subparsers)`` and ``run(args) -> int``; a verb module that is not there yet is
simply not offered, one that fails to import is offered and explains why it cannot run. Bad input
ends with one line on stderr and exit status 2, never a traceback (``SKINDESK_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

from . import __version__
from .core.errors import SkinDeskError

__all__ = ["VERBS", "main", "build_parser", "start_app"]

VERBS = ("classify", "info", "report", "case")
EXIT_USAGE = 2


def _error(message: str) -> int:
    print(f"skindesk: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _load_verb(name: str) -> tuple[ModuleType | None, BaseException | None]:
    """Import ``skindesk.commands.<name>``: (module, None), (None, None) if absent, or the error."""
    module_name = f"skindesk.commands.{name}"
    try:
        return importlib.import_module(module_name), None
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None, None
        return None, error
    except Exception as error:  # noqa: BLE001 - a broken verb must not take the others down
        return None, error


def _unavailable(name: str, error: BaseException) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:  # noqa: ARG001
        return _error(f"the '{name}' command is not available: {type(error).__name__}: {error}")

    return run


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every verb whose module can be found."""
    parser = argparse.ArgumentParser(
        prog="skindesk",
        description=(
            "SkinDesk: a second opinion on dermoscopic skin-lesion images (decision support, "
            "not a diagnosis). Without a command, or with image files, it opens the desktop app."
        ),
        epilog="Run 'skindesk COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in VERBS:
        module, error = _load_verb(name)
        if module is not None:
            module.add_parser(subparsers)
        elif error is not None:
            sub = subparsers.add_parser(name, help=f"(unavailable: {type(error).__name__})")
            sub.set_defaults(func=_unavailable(name, error))
    return parser


def start_app(paths: Sequence[str]) -> int:
    """Open the desktop app on ``paths`` (may be empty)."""
    headless = "headless commands still work: 'skindesk classify', 'skindesk info'"
    try:
        app = importlib.import_module("skindesk.gui.app")
    except ModuleNotFoundError as error:
        if error.name in ("skindesk.gui", "skindesk.gui.app"):
            return _error(f"the desktop app is not part of this installation; {headless}")
        return _error(f"the desktop app cannot start (missing module {error.name}); {headless}")
    except ImportError as error:
        return _error(
            f"the desktop app cannot start ({error}). On Linux, Qt needs system libraries: run "
            f"'bash scripts/setup.sh'; {headless}"
        )
    return int(app.main(list(paths)) or 0)


def _is_app_start(argv: Sequence[str]) -> bool:
    if not argv:
        return True
    first = argv[0]
    return first not in VERBS and not first.startswith("-") and Path(first).exists()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skindesk`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("SKINDESK_DEBUG") == "1"
    try:
        if _is_app_start(argv):
            return start_app(argv)
        first = argv[0]
        if first not in VERBS and not first.startswith("-"):
            return _error(
                f"'{first}' is neither a command ({', '.join(VERBS)}) nor an existing file or "
                "folder"
            )
        parser = build_parser()
        args = parser.parse_args(argv)
        func = getattr(args, "func", None)
        if func is None:
            module, _ = _load_verb(args.command) if args.command else (None, None)
            func = getattr(module, "run", None)
        if func is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("skindesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`, which closed early: not an error worth a message.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except (SkinDeskError, OSError, ValueError) as error:
        if debug:
            raise
        if isinstance(error, OSError) and error.filename and error.strerror:
            return _error(f"{error.filename}: {error.strerror}")
        return _error(str(error) or type(error).__name__)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
