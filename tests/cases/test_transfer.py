"""Export, import and backup: zip round trips between SQLite and PostgreSQL, refusals."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from skindesk.cases import CaseStore, PatientNotFound
from skindesk.cases.transfer import TransferError, export_patients, import_file, patient_to_json


def _fill(store: CaseStore, make_image, result) -> None:
    store.save_patient("P-1", name="Ann Example", birth_year=1950, fitzpatrick=2)
    one = store.add_image("P-1", make_image("1.jpg"), lesion="back", site="posterior torso",
                          taken_on=date(2025, 1, 5), result=result(0.1))
    store.add_image("P-1", make_image("2.jpg"), lesion="back", taken_on=date(2025, 6, 5),
                    result=result(0.5, alerts=("melanoma",)))
    store.set_decision(one.visit_id, "follow-up", 6)
    store.set_histopathology(one.lesion_id, "melanoma in situ", date(2025, 7, 1))
    store.add_image("P-2", make_image("3.jpg"), lesion="arm")


def test_export_then_import_elsewhere_keeps_everything(store, tmp_path, make_image, result) -> None:
    _fill(store, make_image, result)
    output = tmp_path / "p1.zip"
    assert export_patients(store, output, ["P-1"]) == 1
    before = patient_to_json(store.patient("P-1"))
    with CaseStore(URL.create("sqlite", database=str(tmp_path / "other" / "c.sqlite"))) as other:
        assert import_file(other, output) == ["P-1"]
        after = other.patient("P-1")
        assert patient_to_json(after) == before
        sha = after.lesions[0].visits[0].image_sha256
        assert other.image_data(sha) == store.image_data(sha)
        assert [e.action for e in other.audit_entries()] == ["import"]
    assert [e.action for e in store.audit_entries()][-1] == "export"


def test_backup_restores_every_patient(store, tmp_path, make_image, result) -> None:
    _fill(store, make_image, result)
    backup = tmp_path / "backup.zip"
    assert export_patients(store, backup) == 2
    with zipfile.ZipFile(backup) as archive:
        assert len([n for n in archive.namelist() if n.startswith("images/")]) == 3
    with CaseStore(URL.create("sqlite", database=str(tmp_path / "restore" / "c.sqlite"))) as other:
        assert import_file(other, backup) == ["P-1", "P-2"]
        assert [p.clinic_id for p in other.search()] == ["P-1", "P-2"]
        assert other.check() == []


def test_export_never_overwrites_and_names_missing_patients(store, tmp_path, make_image) -> None:
    store.add_image("P", make_image(), lesion="L")
    existing = tmp_path / "there.zip"
    existing.write_text("mine")
    with pytest.raises(TransferError, match="already exists"):
        export_patients(store, existing, ["P"])
    assert existing.read_text() == "mine"
    with pytest.raises(PatientNotFound):
        export_patients(store, tmp_path / "x.zip", ["nobody"])
    assert not (tmp_path / "x.zip").exists()


def _rewrite(source: Path, target: Path, change) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change(name, old.read(name)))


def test_a_damaged_image_or_clash_imports_nothing(store, tmp_path, make_image, result) -> None:
    _fill(store, make_image, result)
    backup = tmp_path / "all.zip"
    export_patients(store, backup)
    damaged = tmp_path / "damaged.zip"
    last_image = max(n for n in zipfile.ZipFile(backup).namelist() if n.startswith("images/"))
    _rewrite(backup, damaged, lambda name, data: data[:-9] + b"tampered!" if name == last_image else data)
    target = URL.create("sqlite", database=str(tmp_path / "t" / "c.sqlite"))
    with CaseStore(target) as other:
        with pytest.raises(TransferError, match=r"damaged\.zip: image .* damaged"):
            import_file(other, damaged)
        assert other.search() == [] and other.audit_entries() == []
        other.save_patient("P-2")
        with pytest.raises(TransferError, match="'P-2' is already in case store"):
            import_file(other, backup)
        assert [p.clinic_id for p in other.search()] == ["P-2"]


@pytest.mark.parametrize("content, problem", [
    (b"not a zip at all", "not a SkinDesk case export"),
    (None, "not a SkinDesk case export"),
    ({"format": "skindesk-cases", "version": 99, "patients": []}, "export format version 99"),
    ({"format": "skindesk-cases", "version": 1, "patients": [{"clinic_id": "P", "sex": "x"}]},
     "invalid record.*unknown sex"),
])
def test_unreadable_transfer_files_are_named(store, tmp_path, content, problem) -> None:
    path = tmp_path / "in.zip"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("records.json" if content else "other.txt", json.dumps(content or {}))
    with pytest.raises(TransferError, match=rf"in\.zip: {problem}"):
        import_file(store, path)
