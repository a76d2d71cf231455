"""Schema migrations: the newest revision equals the models; an old store is migrated on open."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

from skindesk.cases import CaseStore, CaseStoreError
from skindesk.cases.database import head_revision
from skindesk.cases.schema import Base

V1_STORE = Path(__file__).parent / "data" / "store-v1.sqlite"


def test_migrations_build_exactly_the_models(store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert store.revision == head_revision() != "0001"


def test_a_store_from_the_first_schema_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copy(V1_STORE, path)
    assert sqlite3.connect(path).execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    with CaseStore(URL.create("sqlite", database=str(path))) as store:
        assert store.revision == head_revision()
        record = store.patient("V1-0001")
        assert (record.name, record.birth_year, record.sex, record.fitzpatrick) == (
            "Old Store Patient", 1961, "female", 2)
        visit = record.lesion("left shoulder").visits[0]
        assert (visit.taken_on, visit.dermatoscope, visit.decision) == (date(2025, 3, 1),
                                                                       "DermLite DL4", None)
        assert visit.latest.probabilities["melanoma"] == pytest.approx(0.12)
        assert store.image_data(visit.image_sha256)[:4] == b"\x89PNG"  # verified on read
        # the new schema's columns work on the migrated store
        store.set_decision(visit.id, "excise")
        store.set_histopathology(record.lesions[0].id, "melanoma in situ")
        assert store.patient("V1-0001").lesions[0].visits[0].decision == "excise"
        assert store.check() == []
        assert [e.os_user for e in store.audit_entries()][0] == "clinician"


def test_a_store_from_a_newer_skindesk_is_refused_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    CaseStore(URL.create("sqlite", database=str(path))).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(CaseStoreError, match=r"new\.sqlite.*newer than this SkinDesk"):
        CaseStore(URL.create("sqlite", database=str(path)))


def test_a_database_of_something_else_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(CaseStoreError, match="other tables and no SkinDesk case store"):
        CaseStore(URL.create("sqlite", database=str(path)))
    engine = create_engine(URL.create("sqlite", database=str(path)))
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is None
    engine.dispose()


def test_the_packaged_migrations_are_package_data() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    from skindesk.cases.database import MIGRATIONS_DIR

    versions = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("r*.py"))
    assert versions[:2] == ["r0001_first_schema.py", "r0002_decisions_histopathology.py"]
    assert "cases/migrations/versions/*.py" in data["skindesk"]
