"""Opening the case store's database: engine set-up, migrations on open, plain-words errors.

SQLite runs in WAL mode with foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for
writing transactions, so two app instances on one file queue instead of failing or corrupting
it. The schema is brought to the newest Alembic revision on open (``migrate``). Any database
failure becomes a ``CaseStoreError`` whose message names the store and the problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..core.errors import SkinDeskError
from .location import display_name, make_private_dir

__all__ = [
    "CaseStoreError",
    "BUSY_TIMEOUT_S",
    "make_engine",
    "translate_errors",
    "migrate",
    "schema_revision",
    "head_revision",
    "MIGRATIONS_DIR",
]

BUSY_TIMEOUT_S = 15.0
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x5D_CA5E  # advisory lock key of SkinDesk's schema migrations


class CaseStoreError(SkinDeskError):
    """The case store cannot do what was asked; the message names the store and the reason."""


def _problem(error: BaseException) -> str:
    """A short plain-words reason for a database failure."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    lowered = text.lower()
    if "file is not a database" in lowered or "malformed" in lowered:
        return "is damaged (not a readable SQLite database); restore it from a backup"
    if "database is locked" in lowered or "database table is locked" in lowered:
        return (f"is locked by another program (waited {BUSY_TIMEOUT_S:.0f} s); close the other "
                "program or try again")
    if "unable to open database file" in lowered:
        return "cannot be opened (its folder is missing or not writable)"
    if "readonly database" in lowered or "read-only" in lowered:
        return "is read-only; SkinDesk needs to write to it"
    if any(word in lowered for word in ("connection refused", "could not connect", "connection failed",
                                        "name or service not known", "timeout expired",
                                        "no such file or directory")):
        return f"cannot be reached ({text})"
    if "password authentication failed" in lowered or "authentication" in lowered:
        return f"refused the login ({text})"
    if "does not exist" in lowered and "database" in lowered:
        return f"does not exist on the server ({text})"
    return text


@contextmanager
def translate_errors(url: URL, doing: str = "") -> Iterator[None]:
    """Turn SQLAlchemy/driver errors inside the block into ``CaseStoreError`` naming the store."""
    try:
        yield
    except CaseStoreError:
        raise
    except (SQLAlchemyError, DBAPIError) as error:
        what = f" while {doing}" if doing else ""
        problem = _problem(error)
        if getattr(error, "connection_invalidated", False):
            # The server went away (restart, network): the pool drops the dead connection and
            # the next call connects afresh, so saying "try again" is the truth.
            problem = f"lost its connection to the server ({problem}); nothing was saved — try again"
        raise CaseStoreError(f"case store {display_name(url)}{what}: {problem}") from error


def _sqlite_setup(engine: Engine, path: Path) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin event issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA secure_delete = ON")  # erased rows are overwritten
        mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode and str(mode[0]).lower() != "wal":
            raise CaseStoreError(f"case store {path}: cannot switch to WAL journal mode ({mode[0]})")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()
        if os.name == "posix":
            for suffix in ("", "-wal", "-shm"):
                candidate = Path(f"{path}{suffix}")
                if candidate.exists():
                    os.chmod(candidate, 0o600)

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: URL, *, create: bool = True) -> Engine:
    """An engine for ``url``; for SQLite the store folder is made owner-only first.

    Raises:
        CaseStoreError: the file does not exist and ``create`` is False.
    """
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        if not path.exists():
            if not create:
                raise CaseStoreError(f"case store {path}: no such file (nothing has been stored there yet)")
            try:
                make_private_dir(path.parent)
            except OSError as error:
                raise CaseStoreError(f"case store {path}: its folder cannot be created "
                                     f"({error.strerror or error})") from error
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})
        _sqlite_setup(engine, path)
        return engine
    # No pool_pre_ping: it costs a round trip per call; a connection found dead is reported
    # once ("try again", see translate_errors) and replaced.
    return create_engine(url, connect_args={"connect_timeout": 10})


def _alembic_config(connection: Connection):  # noqa: ANN202 - alembic type, imported lazily
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this SkinDesk knows."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)  # type: ignore[arg-type]
    return str(ScriptDirectory.from_config(config).get_current_head())


def schema_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: no SkinDesk schema yet)."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, url: URL, target: str = "head") -> str:
    """Bring the schema to ``target`` (default: the newest); returns the revision reached.

    Raises:
        CaseStoreError: the database has tables but no SkinDesk schema, was written by a newer
            SkinDesk, or cannot be read or written.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    name = display_name(url)
    with translate_errors(url, "opening it"):
        with engine.connect() as probe:
            current = schema_revision(probe)
            tables = set(inspect(probe).get_table_names())
        known = {s.revision for s in ScriptDirectory.from_config(_alembic_config(None)).walk_revisions()}  # type: ignore[arg-type]
        if current is None and tables - {"alembic_version"}:
            raise CaseStoreError(
                f"case store {name}: this database holds other tables and no SkinDesk case "
                "store; give SkinDesk its own database"
            )
        if current is not None and current not in known:
            raise CaseStoreError(
                f"case store {name}: its schema ({current}) is newer than this SkinDesk knows; "
                "update SkinDesk to open it"
            )
        wanted = head_revision() if target == "head" else target
        if current == wanted:
            return current
        with engine.connect().execution_options(write=True) as connection:
            with connection.begin():  # SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock,
                if connection.dialect.name == "postgresql":  # so two instances migrate in turn
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                command.upgrade(_alembic_config(connection), target)
            return schema_revision(connection) or ""
