"""Crash and concurrency: a killed import, two instances on one SQLite file, bad databases."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from skindesk import cli
from skindesk.cases import CaseStore
from skindesk.cases import database as database_module

ROOT = Path(__file__).resolve().parents[2]


def _case(*args: str) -> list[str]:
    return [sys.executable, "-m", "skindesk", "case", *args]


def _kill_after(command: list[str], stream: str, marker: str, count: int) -> int:
    """Run ``command``, SIGKILL it once ``count`` lines containing ``marker`` were printed."""
    process = subprocess.Popen(command, cwd=ROOT, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seen = 0
    for line in getattr(process, stream):
        seen += marker in line
        if seen >= count:
            process.kill()
            break
    process.wait(timeout=60)
    process.stdout.close()
    process.stderr.close()
    return seen


def _stored(path: Path) -> dict[str, tuple[int, int, bool]]:
    """sha256 → (visits, results, bytes match) for every image the store has a row of."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT i.sha256, i.data, (SELECT count(*) FROM visits v WHERE v.image_sha256 = i.sha256),"
            " (SELECT count(*) FROM results r JOIN visits v ON r.visit_id = v.id"
            "  WHERE v.image_sha256 = i.sha256) FROM images i").fetchall()
        orphans = db.execute("SELECT count(*) FROM visits WHERE image_sha256 NOT IN "
                             "(SELECT sha256 FROM images)").fetchone()[0]
    assert orphans == 0
    return {sha: (visits, results, hashlib.sha256(data).hexdigest() == sha)
            for sha, data, visits, results in rows}


def test_a_killed_import_leaves_every_image_fully_in_or_absent(
        tmp_path: Path, image_folder, test_model_path: Path) -> None:
    images = sorted(image_folder(count=200).iterdir())
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in images}
    database = tmp_path / "store" / "cases.sqlite"
    add = _case("add", "P-KILL", *map(str, images), "--lesion", "back", "--model",
                str(test_model_path), "--database", str(database))

    assert _kill_after(add, "stdout", ": added", 40) == 40
    stored = _stored(database)
    assert 40 <= len(stored) < 200 and set(stored) <= shas
    assert all(entry == (1, 1, True) for entry in stored.values())  # visit, result, exact bytes
    with CaseStore(URL.create("sqlite", database=str(database))) as store:
        assert store.check() == []
    # running it again finishes the job without doubling anything
    finished = subprocess.run(add, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.count("already in the store") == len(stored)
    assert set(_stored(database)) == shas

    # the same for an import of a 200-image backup: one transaction, so all or nothing
    backup = tmp_path / "backup.zip"
    assert subprocess.run(_case("backup", "--output", str(backup), "--database", str(database)),
                          cwd=ROOT, capture_output=True, timeout=120).returncode == 0
    target = tmp_path / "restore" / "cases.sqlite"
    restore = _case("import", str(backup), "--database", str(target))
    assert _kill_after(restore, "stderr", "importing:", 100) == 100
    assert _stored(target) == {}
    with CaseStore(URL.create("sqlite", database=str(target))) as store:
        assert store.check() == [] and store.search() == []
    assert subprocess.run(restore, cwd=ROOT, capture_output=True, timeout=300).returncode == 0
    assert set(_stored(target)) == shas


def test_two_instances_on_one_sqlite_file(tmp_path: Path, image_folder, test_model_path) -> None:
    images = sorted(image_folder(count=24).iterdir())
    database = tmp_path / "shared" / "cases.sqlite"
    halves = (images[:12], images[12:])
    processes = [subprocess.Popen(
        _case("add", "P-SHARED", *map(str, half), "--lesion", "left calf", "--model",
              str(test_model_path), "--database", str(database)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for half in halves]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    with CaseStore(URL.create("sqlite", database=str(database))) as store:
        record = store.patient("P-SHARED")
        assert [l.label for l in record.lesions] == ["left calf"]
        assert len(record.lesions[0].visits) == 24
        assert store.check() == []
        with store.reading() as session:
            assert session.execute(text("SELECT count(*) FROM patients")).scalar() == 1


# -- bad databases: a message naming the store, never a traceback ---------------------------
def _cli_error(capsys, *args: str) -> str:
    status = cli.main(["case", *args])
    captured = capsys.readouterr()
    assert status == 2, captured
    assert "Traceback" not in captured.err
    return captured.err


def test_a_corrupt_database_is_named(tmp_path: Path, capsys) -> None:
    path = tmp_path / "corrupt.sqlite"
    path.write_bytes(b"this is no database " * 400)
    err = _cli_error(capsys, "list", "--database", str(path))
    assert f"case store {path}" in err and "damaged" in err


def test_a_locked_database_is_named(tmp_path: Path, capsys, monkeypatch, make_image) -> None:
    path = tmp_path / "locked.sqlite"
    CaseStore(URL.create("sqlite", database=str(path))).close()
    monkeypatch.setattr(database_module, "BUSY_TIMEOUT_S", 0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        store = CaseStore(URL.create("sqlite", database=str(path)))
        started = time.monotonic()
        with pytest.raises(database_module.CaseStoreError, match=r"locked\.sqlite.*locked by another"):
            store.save_patient("P")
        assert time.monotonic() - started < 5
        store.close()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("database, problem", [
    ("postgresql://skindesk@127.0.0.1:1/cases", "cannot be reached"),
    ("mysql://someone@localhost/cases", "only SQLite and PostgreSQL"),
    ("/proc/no-such-folder/cases.sqlite", "cannot be created"),
])
def test_unreachable_or_unsupported_databases_are_named(capsys, database, problem) -> None:
    err = _cli_error(capsys, "add", "P", "x.jpg", "--database", database)
    assert problem in err
    assert database.split("/")[-1] in err


def test_a_missing_store_is_not_created_by_reading_commands(tmp_path: Path, capsys) -> None:
    path = tmp_path / "nothing-here.sqlite"
    err = _cli_error(capsys, "show", "P", "--database", str(path))
    assert "no such file" in err and not path.exists()


def test_a_postgresql_restart_costs_one_call_at_most(pg_cluster, make_image) -> None:
    store = CaseStore(pg_cluster.create_database("restart_test"))
    store.add_image("P", make_image("1.png"), lesion="L")
    pg_cluster.restart()
    try:
        store.add_image("P", make_image("2.png"), lesion="L")
    except database_module.CaseStoreError as error:
        assert "lost its connection to the server" in str(error) and "try again" in str(error)
    store.add_image("P", make_image("3.png"), lesion="L")
    assert len(store.patient("P").lesion("L").visits) in (2, 3)
    store.close()
