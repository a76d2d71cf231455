"""CaseStore on real SQLite and real PostgreSQL: patients, lesions, visits, results, audit."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from skindesk.cases import CaseStore, CaseStoreError, ImageIntegrityError, PatientNotFound


def test_add_image_files_patient_lesion_visit_and_result(store, make_image, result) -> None:
    outcome = store.add_image("P-001", make_image("a.jpg"), lesion="left shoulder",
                              site="Posterior torso", taken_on=date(2025, 3, 1),
                              dermatoscope="DermLite DL4", result=result(melanoma=0.12))
    assert outcome.added
    record = store.patient("P-001")
    (lesion,) = record.lesions
    assert (lesion.label, lesion.site) == ("left shoulder", "posterior torso")
    (visit,) = lesion.visits
    assert (visit.taken_on, visit.date_source, visit.dermatoscope, visit.original_name) == (
        date(2025, 3, 1), "entered", "DermLite DL4", "a.jpg")
    assert visit.latest.probabilities["melanoma"] == pytest.approx(0.12)
    assert visit.latest.model_sha256 == "a" * 64


def test_the_stored_image_is_the_original_file(store, make_image) -> None:
    path = make_image("b.png")
    store.add_image("P-1", path, lesion="x")
    sha = store.patient("P-1").lesions[0].visits[0].image_sha256
    assert store.image_data(sha) == path.read_bytes()
    path.unlink()  # the original may go: the store keeps its own copy
    assert len(store.image_data(sha)) > 0
    assert store.thumbnails([sha])[sha][:2] == b"\xff\xd8"  # a JPEG thumbnail


def test_visits_come_oldest_first_and_the_date_comes_from_exif(store, make_image) -> None:
    store.add_image("P", make_image("late.jpg", exif_date=datetime(2025, 9, 2, 10, 0)), lesion="L")
    store.add_image("P", make_image("early.jpg", exif_date=datetime(2025, 3, 1, 9, 0)), lesion="L")
    visits = store.patient("P").lesion("L").visits
    assert [(v.taken_on, v.date_source) for v in visits] == [
        (date(2025, 3, 1), "exif"), (date(2025, 9, 2), "exif")]


def test_an_image_the_patient_has_is_not_added_twice(store, make_image) -> None:
    path = make_image()
    first = store.add_image("P", path, lesion="L")
    again = store.add_image("P", path, lesion="L")
    assert first.added and not again.added and again.visit_id == first.visit_id
    assert len(store.patient("P").lesion("L").visits) == 1


def test_without_a_label_each_image_is_a_new_numbered_lesion(store, make_image) -> None:
    store.add_image("P", make_image("1.jpg"))
    store.add_image("P", make_image("2.jpg"))
    assert [l.label for l in store.patient("P").lesions] == ["lesion 1", "lesion 2"]


def test_search_by_id_or_name_is_case_insensitive_and_literal(store, make_image) -> None:
    store.save_patient("AB-100", name="Maria Gómez", birth_year=1970)
    store.save_patient("AB-200", name="John Smith")
    store.save_patient("X_1%")
    store.add_image("AB-100", make_image(), lesion="L")
    assert [p.clinic_id for p in store.search("gómez")] == ["AB-100"]
    assert [p.clinic_id for p in store.search("ab-")] == ["AB-100", "AB-200"]
    assert [p.clinic_id for p in store.search("_1%")] == ["X_1%"]  # not wildcards
    assert [p.clinic_id for p in store.search("")] == ["AB-100", "AB-200", "X_1%"]
    summary = store.search("AB-100")[0]
    assert (summary.lesion_count, summary.visit_count) == (1, 1)


def test_save_patient_validates_and_records_changes(store) -> None:
    assert store.save_patient("P", name="A", sex="Female", fitzpatrick="IV", birth_year=1980)
    assert not store.save_patient("P", notes="dysplastic naevus syndrome")
    record = store.patient("P")
    assert (record.sex, record.fitzpatrick, record.notes) == ("female", 4,
                                                             "dysplastic naevus syndrome")
    with pytest.raises(ValueError, match="Fitzpatrick"):
        store.save_patient("P", fitzpatrick=7)
    with pytest.raises(ValueError, match="anatomical site"):
        store.add_image("P", "unused.jpg", site="elbow")
    actions = [(e.action, e.entity, e.detail) for e in store.audit_entries()]
    assert ("change", "patient", "changed notes") in actions


def test_decision_and_histopathology(store, make_image, result) -> None:
    outcome = store.add_image("P", make_image(), lesion="L", result=result())
    store.set_decision(outcome.visit_id, "follow-up", 3)
    store.set_histopathology(outcome.lesion_id, "compound naevus", date(2025, 5, 1))
    lesion = store.patient("P").lesion("L")
    assert lesion.visits[0].decision_text() == "follow up in 3 months"
    assert (lesion.histopathology, lesion.histopathology_on) == ("compound naevus", date(2025, 5, 1))
    with pytest.raises(ValueError, match="months"):
        store.set_decision(outcome.visit_id, "follow-up")


def test_a_newer_models_result_is_kept_beside_the_first(store, make_image, result) -> None:
    outcome = store.add_image("P", make_image(), lesion="L", result=result(version="1.0"))
    store.add_result(outcome.visit_id, result(melanoma=0.4, version="2.0"))
    visit = store.patient("P").lesion("L").visits[0]
    assert [r.model_version for r in visit.results] == ["1.0", "2.0"]
    assert visit.latest.model_version == "2.0"


def test_a_damaged_image_is_reported_not_shown(store, make_image) -> None:
    store.add_image("P", make_image(), lesion="L")
    sha = store.patient("P").lesions[0].visits[0].image_sha256
    with store.writing() as session:
        session.execute(text("UPDATE images SET data = :d WHERE sha256 = :s"),
                        {"d": b"\xff\xd8 tampered", "s": sha})
    with pytest.raises(ImageIntegrityError, match="damaged"):
        store.image_data(sha)
    assert any("damaged" in problem for problem in store.check())


def test_a_failed_write_leaves_nothing_behind(store, make_image, result, monkeypatch) -> None:
    from skindesk.cases import store as store_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(store_module, "_result_row", broken)
    with pytest.raises(RuntimeError):
        store.add_image("P", make_image(), lesion="L", result=result())
    assert store.search() == []  # patient, lesion, image and visit all rolled back
    assert store.audit_entries() == []
    assert store.check() == []


def test_the_audit_table_is_append_only(store) -> None:
    store.save_patient("P")
    for statement in ("UPDATE audit SET os_user = 'someone else'", "DELETE FROM audit"):
        with pytest.raises(CaseStoreError, match="append-only"):
            with store.writing() as session:
                session.execute(text(statement))
    assert len(store.audit_entries()) == 1


def test_unknown_patient_is_named(store) -> None:
    with pytest.raises(PatientNotFound, match="no patient with ID 'nobody'"):
        store.patient("nobody")
    with pytest.raises(PatientNotFound):
        store.delete_patient("nobody")


def test_two_stores_on_one_database_see_each_others_writes(store_url, make_image) -> None:
    with CaseStore(store_url) as first, CaseStore(store_url) as second:
        first.add_image("P", make_image("1.jpg"), lesion="L")
        second.add_image("P", make_image("2.jpg"), lesion="L")
        assert len(first.patient("P").lesion("L").visits) == 2


def test_instances_opening_a_new_store_at_once_migrate_it_once(store_url) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from skindesk.cases.database import head_revision

    def open_and_close(_index: int) -> str:
        with CaseStore(store_url) as opened:
            return opened.revision

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_close, range(4))) == [head_revision()] * 4
