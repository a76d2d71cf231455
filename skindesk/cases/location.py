"""Where the case store lives: the default SQLite file, and turning what a user typed into a URL.

The database is, in order: an explicit ``--database`` value, ``$SKINDESK_DATABASE``, the app's
setting, else ``cases.sqlite`` in the store folder of the user's data folder (Linux:
``$XDG_DATA_HOME/skindesk/cases``, ``~/.local/share/skindesk/cases``; Windows:
``%LOCALAPPDATA%\\SkinDesk\\Cases``; macOS: ``~/Library/Application Support/SkinDesk/Cases``).
A value is a SQLAlchemy URL (``sqlite:///...``, ``postgresql://user@host/db``) or a file path.
The store folder is created owner-only (0700), since it holds personal data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["ENV_VARIABLE", "default_store_dir", "resolve_url", "display_name", "make_private_dir"]

ENV_VARIABLE = "SKINDESK_DATABASE"
DEFAULT_FILENAME = "cases.sqlite"


def default_store_dir() -> Path:
    """The per-user folder of the default SQLite store (see the module docstring)."""
    home = Path.home()
    if sys.platform.startswith("win"):
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "SkinDesk" / "Cases"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "SkinDesk" / "Cases"
    value = os.environ.get("XDG_DATA_HOME", "")
    base = Path(value) if value and Path(value).is_absolute() else home / ".local" / "share"
    return base / "skindesk" / "cases"


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(path, 0o700)


def resolve_url(explicit: str | None = None, setting: str | None = None) -> URL:
    """The store's URL from ``--database``, the environment, the setting or the default.

    Raises:
        ValueError: the value is neither a database URL SkinDesk supports nor a file path.
    """
    value = (explicit or os.environ.get(ENV_VARIABLE) or setting or "").strip()
    if not value:
        return URL.create("sqlite", database=str(default_store_dir() / DEFAULT_FILENAME))
    if "://" not in value:
        return URL.create("sqlite", database=str(Path(value).expanduser().absolute()))
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"{value!r} is not a database URL (e.g. postgresql://user@host/db)") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError(f"{value!r}: the case store needs a file, not an in-memory database")
        return url
    raise ValueError(
        f"database {url.render_as_string(hide_password=True)!r}: only SQLite and PostgreSQL "
        "are supported"
    )


def display_name(url: URL) -> str:
    """How messages name a store: the file path for SQLite, the URL without password otherwise."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.set(drivername="postgresql").render_as_string(hide_password=True)
