"""A throwaway PostgreSQL server for tests and benchmarks (never used by the app itself).

``PostgresCluster`` runs the installed server's own ``initdb`` and ``pg_ctl`` (Debian's
``postgresql`` package: ``/usr/lib/postgresql/<version>/bin``) in a temporary folder, listening
only on a unix socket in that folder, with trust authentication for the local user. PostgreSQL
refuses to run as root, so under root the cluster belongs to the ``postgres`` system account
(made by the package) and its commands run through ``runuser``.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

__all__ = ["server_binaries", "PostgresCluster", "ClusterUnavailable"]

_SUPERUSER = "skindesk"
_PORT = 5432


class ClusterUnavailable(RuntimeError):
    """No PostgreSQL server can be started here; the message says why."""


def server_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


class PostgresCluster:
    """Start with ``start()``, stop (and delete every file) with ``stop()``; or use ``with``.

    Args:
        durable: keep fsync on (benchmarks); tests turn it off for speed.
    """

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.root: Path | None = None
        self._owner: str | None = None

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self._owner, "--"] if self._owner else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120,
                              cwd="/")

    def start(self) -> PostgresCluster:
        binaries = server_binaries()
        if binaries is None:
            raise ClusterUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                "'postgresql' package (bash scripts/setup.sh --dev does)")
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                raise ClusterUnavailable("running as root and 'runuser' is missing")
            try:
                import pwd

                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise ClusterUnavailable("running as root and there is no 'postgres' account "
                                         "to own a test cluster") from None
            self._owner = "postgres"
        self.root = Path(tempfile.mkdtemp(prefix="skindesk-pg-"))
        atexit.register(self.stop)  # never leave a server behind, even if the caller forgets
        if self._owner:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        data = self.root / "data"
        result = self._run(str(binaries / "initdb"), "-D", str(data), "-U", _SUPERUSER,
                           "-A", "trust", "-E", "UTF8", "--no-sync", "--locale=C")
        if result.returncode != 0:
            self.stop()
            raise ClusterUnavailable(f"initdb failed: {result.stderr.strip()[-500:]}")
        options = f"-k {self.root} -c listen_addresses='' -p {_PORT}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                           "-l", str(self.root / "server.log"), "start")
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-800:] \
                if (self.root / "server.log").exists() else ""
            self.stop()
            raise ClusterUnavailable(f"pg_ctl start failed: {result.stderr.strip()} {log}")
        return self

    def url(self, database: str = "postgres") -> URL:
        """A SQLAlchemy URL for ``database`` on this cluster (over its unix socket)."""
        assert self.root is not None, "cluster not started"
        return URL.create("postgresql+psycopg", username=_SUPERUSER, database=database,
                          query={"host": str(self.root), "port": str(_PORT)})

    def create_database(self, name: str) -> URL:
        """Create an empty database and return its URL."""
        import psycopg

        assert self.root is not None, "cluster not started"
        with psycopg.connect(host=str(self.root), port=_PORT, user=_SUPERUSER,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self) -> None:
        """Restart the server (same data and options): open connections are cut."""
        binaries = server_binaries()
        assert self.root is not None and binaries is not None, "cluster not started"
        result = self._run(str(binaries / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                           "-l", str(self.root / "server.log"), "-w", "restart")
        if result.returncode != 0:
            raise ClusterUnavailable(f"pg_ctl restart failed: {result.stderr.strip()}")

    def stop(self) -> None:
        if self.root is None:
            return
        binaries = server_binaries()
        data = self.root / "data"
        if binaries is not None and (data / "postmaster.pid").exists():
            self._run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
