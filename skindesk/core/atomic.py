"""Writing an output file so that an error never leaves half of it, without replacing devices.

``write_atomically(path, produce)`` lets ``produce(temporary_path)`` write a temporary file in the
destination folder and then renames it over ``path``, but only where ``path`` is missing or a
regular file: a device (``/dev/null``), a FIFO or a socket is written directly (the finished
temporary file is copied into it), so it stays what it was. The temporary file is removed on any
error.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["is_special_file", "write_atomically", "write_text_atomically"]


def is_special_file(path: str | Path) -> bool:
    """True for an existing path that is not a regular file or a folder (a device, FIFO, socket)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would race other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_atomically(path: str | Path, produce: Callable[[str], None], *,
                     prefix: str = ".skindesk-", suffix: str = ".part") -> Path:
    """Run ``produce(temporary)``, then put the result at ``path`` (see the module docstring).

    Raises:
        OSError: the folder cannot be written, or copying into a special file failed; whatever
            ``produce`` raises propagates. No temporary file is left behind either way.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    special = is_special_file(path)
    handle, temporary = tempfile.mkstemp(prefix=prefix, suffix=suffix,
                                         dir=tempfile.gettempdir() if special else folder)
    os.close(handle)
    try:
        produce(temporary)
        if special or is_special_file(path):
            with open(temporary, "rb") as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
            os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def write_text_atomically(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """``write_atomically`` for a text."""
    return write_atomically(path, lambda temporary: Path(temporary).write_text(text, encoding))
