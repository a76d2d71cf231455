"""Privacy: owner-only store folder, erasure that really erases, no personal data in logs."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from skindesk.cases import CaseStore
from skindesk.cases.transfer import export_patients


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_store_folder_and_file_are_owner_only(tmp_path: Path, make_image) -> None:
    path = tmp_path / "new" / "store" / "cases.sqlite"
    with CaseStore(URL.create("sqlite", database=str(path))) as store:
        store.add_image("P", make_image(), lesion="L")
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_erasure_removes_rows_and_image_bytes_and_keeps_an_anonymous_audit_line(
        store, make_image, result, tmp_path) -> None:
    image = make_image("secret.png", colour=(13, 200, 77), size=(97, 61))
    store.save_patient("ERASE-ME-42", name="Zelda Quartermain", notes="very private note")
    store.add_image("ERASE-ME-42", image, lesion="nose", result=result())
    store.add_image("KEEP", make_image("other.png"), lesion="arm")
    uid = store.patient("ERASE-ME-42").uid
    assert store.delete_patient("ERASE-ME-42") == 1
    assert [p.clinic_id for p in store.search()] == ["KEEP"]
    with store.reading() as session:
        from sqlalchemy import text

        counts = {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("patients", "lesions", "visits", "results", "images")}
    assert counts == {"patients": 1, "lesions": 1, "visits": 1, "results": 0, "images": 1}
    entries = store.audit_entries()
    assert entries[-1].action == "delete" and entries[-1].ref == uid
    everything = repr(entries)
    for personal in ("ERASE-ME-42", "Zelda", "private", "nose", "secret.png"):
        assert personal not in everything
    if store.is_sqlite:  # the bytes are gone from the file and its log, not just unlinked
        store.close()
        path = Path(str(store.url.database))
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert image.read_bytes()[-200:] not in raw
        assert b"Zelda Quartermain" not in raw and b"ERASE-ME-42" not in raw


def test_no_personal_data_reaches_the_logs(store, make_image, result, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    store.save_patient("LOG-ID-77", name="Walter Privatename")
    store.add_image("LOG-ID-77", make_image(), lesion="left ear", result=result())
    store.search("Privatename")
    export_patients(store, tmp_path / "e.zip", ["LOG-ID-77"])
    store.delete_patient("LOG-ID-77")
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    for personal in ("LOG-ID-77", "Privatename", "left ear"):
        assert personal not in text
