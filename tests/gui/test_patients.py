"""The Patients menu, pane and Compare view on real widgets offscreen, over a real SQLite store."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from skindesk.cases import CaseStore, StoredResult
from skindesk.core.classifier import Classifier

NAMES9 = ("melanoma", "nevus", "seborrheic keratosis")


@pytest.fixture
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cases" / "cases.sqlite"
    monkeypatch.setenv("SKINDESK_DATABASE", str(path))
    return path


def _result(melanoma: float, version: str = "1.0", alert: bool = False) -> StoredResult:
    rest = (1 - melanoma) / 2
    probabilities = {"melanoma": melanoma, "nevus": rest, "seborrheic keratosis": rest}
    return StoredResult("SkinDesk", version, "c" * 64, max(probabilities, key=probabilities.get),
                        probabilities,
                        [{"class": "melanoma", "probability": melanoma, "threshold": 0.3}] if alert else [],
                        "melanoma 90 %", {"uncertain": False})


def _image(path: Path, size: tuple[int, int], shade: int) -> Path:
    pixels = np.full((size[1], size[0], 3), shade, np.uint8)
    pixels[size[1] // 3: 2 * size[1] // 3, size[0] // 3: 2 * size[0] // 3] = (90, 50, 40)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def followed(store_path: Path, tmp_path: Path) -> CaseStore:
    """A patient whose back lesion was seen three times, the last by a newer model."""
    store = CaseStore.open(str(store_path))
    store.save_patient("P-100", name="Ada Lovelace", birth_year=1961, fitzpatrick=2)
    for index, (size, melanoma, version, alert, month) in enumerate((
            ((200, 150), 0.12, "1.0", False, 1), ((300, 225), 0.2, "1.0", False, 4),
            ((400, 300), 0.41, "2.0", True, 7))):
        store.add_image("P-100", _image(tmp_path / f"v{index}.png", size, 180 + index),
                        lesion="back", site="posterior torso", taken_on=date(2025, month, 1),
                        result=_result(melanoma, version, alert))
    store.add_image("P-200", _image(tmp_path / "other.png", (64, 48), 20), lesion="arm")
    return store


def test_patients_pane_searches_and_shows_lesions_and_timeline(qtbot, followed) -> None:
    from skindesk.gui.patients_view import PatientsWindow

    window = PatientsWindow(followed)
    qtbot.addWidget(window)
    window.show()
    assert window.patients.count() == 2
    qtbot.keyClicks(window.search, "lovelace")
    qtbot.waitUntil(lambda: window.patients.count() == 1, timeout=3000)
    window.patients.setCurrentRow(0)
    assert window.header.text() == "P-100 — Ada Lovelace, born 1961, Fitzpatrick 2"
    assert window.lesions.count() == 1 and "posterior torso" in window.lesions.item(0).text()
    assert not window.lesions.item(0).icon().isNull()
    lines = [window.timeline.item(i).text() for i in range(window.timeline.count())]
    assert [line[:10] for line in lines] == ["2025-01-01", "2025-04-01", "2025-07-01"]
    assert "melanoma 12 %" in lines[0] and "ALERT: melanoma" in lines[2] and "SkinDesk 2.0" in lines[2]
    assert [round(p.probability, 2) for p in window.plot.points()] == [0.12, 0.2, 0.41]
    assert [p.other_model for p in window.plot.points()] == [True, True, False]
    assert window.compare_pair() == tuple(v.id for v in followed.patient("P-100").lesions[0].visits[::2])


def test_compare_shows_both_visits_at_one_scale_and_the_change_in_words(qtbot, followed) -> None:
    from skindesk.gui.compare_view import CompareDialog

    lesion = followed.patient("P-100").lesion("back")
    first, second, third = (v.id for v in lesion.visits)
    dialog = CompareDialog(followed, lesion, first, third)
    qtbot.addWidget(dialog)
    dialog.show()
    text_ = dialog.change.text()
    assert "melanoma 12 % → 41 %, alert now raised" in text_
    assert "different models (SkinDesk 1.0 → SkinDesk 2.0)" in text_
    small, large = (side.image.pixmap() for side in dialog.sides)
    assert large.width() == pytest.approx(2 * small.width(), abs=1)  # 200 vs 400 px: same scale
    assert "another model version" in dialog.sides[0].model.text()
    assert dialog.sides[1].alerts.text().startswith("Alert: ")
    assert dialog.sides[0].alerts.text() == "No alert raised."
    assert dialog.sides[1].chart.values()["melanoma"] == pytest.approx(0.41)
    dialog.select(first, second)
    assert "melanoma 12 % → 20 %" in dialog.change.text() and "different models" not in dialog.change.text()


def test_a_damaged_image_is_reported_in_compare_not_drawn(qtbot, followed) -> None:
    from skindesk.gui.compare_view import CompareDialog

    lesion = followed.patient("P-100").lesion("back")
    with followed.writing() as session:
        session.execute(text("UPDATE images SET data = :d WHERE sha256 = :s"),
                        {"d": b"\x89PNG damaged", "s": lesion.visits[0].image_sha256})
    dialog = CompareDialog(followed, lesion, lesion.visits[0].id, lesion.visits[1].id)
    qtbot.addWidget(dialog)
    assert dialog.sides[0].image.pixmap().isNull()
    assert "damaged" in dialog.sides[0].image.text()


def test_add_the_shown_result_to_a_patient(qtbot, make_window, make_fixed_model, images,
                                           wait_for_result, store_path) -> None:
    model = make_fixed_model("mel40", melanoma=0.4, nevus=0.3)
    window = make_window(model)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    menu = window.patients_menu
    menu.update_actions()
    assert menu.add_action.isEnabled() and not menu.batch_action.isEnabled()
    dialog = menu.add_dialog()
    dialog.patient.setCurrentText("P-NEW")
    dialog.lesion.setCurrentText("left shoulder")
    dialog.site.setCurrentIndex(dialog.site.findData("posterior torso"))
    assert menu.add_current(dialog) == "Added to the patient's record."
    assert "already in the patient's record" in menu.add_current(dialog)
    store = CaseStore.open(str(store_path))
    visit = store.patient("P-NEW").lesion("left shoulder").visits[0]
    assert visit.latest.probabilities == pytest.approx(prediction.as_dict())
    assert visit.latest.model_sha256 == Classifier(model).sha256
    assert store.image_data(visit.image_sha256) == images["lesion"].read_bytes()
    pane = menu.show_patients()
    qtbot.addWidget(pane)
    assert pane.patients.count() == 1


def test_add_batch_results_with_a_mapping_file(qtbot, make_window, colour_model, tmp_path,
                                               store_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    from skindesk.gui.batch_view import BatchWindow

    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, message, *a: told.append(message))

    folder = tmp_path / "batch"
    folder.mkdir()
    for index in range(3):
        _image(folder / f"img{index}.png", (60, 40), 60 + 40 * index)
    window = make_window(colour_model)
    batch = BatchWindow(window.classifier_provider, window)
    qtbot.addWidget(batch)
    window.batch_windows.append(batch)
    with qtbot.waitSignal(batch.run_finished, timeout=20000):
        assert batch.start(str(folder), str(tmp_path / "results.csv"))
    menu = window.patients_menu
    menu.update_actions()
    assert menu.batch_action.isEnabled()
    mapping = tmp_path / "map.csv"
    mapping.write_text("file,patient_id,lesion\nimg0.png,P-A,back\nimg1.png,P-B,arm\n")
    dialog = menu.add_dialog(batch=True, count=3)
    assert not dialog.choose_mapping(str(tmp_path / "missing.csv"))
    assert "missing.csv" in dialog.mapping_label.text()
    assert dialog.choose_mapping(str(mapping))
    assert menu.add_batch(dialog) == "Batch results filed: 2 added, 1 not in the mapping."
    assert told and "img2.png: not in the mapping" in told[0]
    store = CaseStore.open(str(store_path))
    assert [p.clinic_id for p in store.search()] == ["P-A", "P-B"]
    assert store.patient("P-B").lesion("arm").visits[0].latest.model_sha256 == window.classifier.sha256


def test_the_dialog_refuses_a_missing_patient_id(qtbot, store_path) -> None:
    from skindesk.gui.add_to_patient import AddToPatientDialog

    store = CaseStore.open(str(store_path))
    dialog = AddToPatientDialog(store)
    qtbot.addWidget(dialog)
    dialog.accept()
    assert dialog.result() != AddToPatientDialog.DialogCode.Accepted
    assert dialog.error.text() == "enter the patient's clinic ID"


def test_delete_from_the_pane_erases_the_patient(qtbot, followed) -> None:
    from skindesk.gui.patients_view import PatientsWindow

    window = PatientsWindow(followed)
    qtbot.addWidget(window)
    window.patients.setCurrentRow(0)
    assert window.delete(confirmed=True)
    assert [p.clinic_id for p in followed.search()] == ["P-200"]
    assert window.patients.count() == 1 and window.timeline.count() == 0


def test_an_unopenable_store_is_explained(qtbot, make_window, colour_model, tmp_path, monkeypatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database " * 100)
    monkeypatch.setenv("SKINDESK_DATABASE", str(bad))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, message, *a: shown.append(message))
    window = make_window(colour_model)
    assert window.patients_menu.show_patients() is None
    assert shown and str(bad) in shown[0] and "damaged" in shown[0]


def test_edit_details_decision_and_histopathology_from_the_pane(qtbot, followed) -> None:
    from skindesk.gui.case_dialogs import DecisionDialog, HistopathologyDialog, PatientDialog
    from skindesk.gui.patients_view import PatientsWindow

    window = PatientsWindow(followed)
    qtbot.addWidget(window)
    window.patients.setCurrentRow(0)
    details = PatientDialog(window.record)
    qtbot.addWidget(details)
    assert details.clinic_id.isReadOnly() and details.name.text() == "Ada Lovelace"
    details.sex.setCurrentIndex(details.sex.findData("female"))
    details.notes.setPlainText("atypical naevus syndrome")
    assert window.edit_patient(dialog=details)
    assert window.header.text() == "P-100 — Ada Lovelace, born 1961, female, Fitzpatrick 2"
    assert not window.decision_button.isEnabled()
    window.timeline.setCurrentRow(2)
    assert window.decision_button.isEnabled()
    decision = DecisionDialog("2025-07-01")
    qtbot.addWidget(decision)
    decision.excise.setChecked(True)
    assert window.record_decision(decision)
    assert "Decision: excise" in window.timeline.item(2).text()
    histology = HistopathologyDialog()
    qtbot.addWidget(histology)
    histology.diagnosis.setText("melanoma in situ")
    assert window.record_histopathology(histology)
    assert "Histopathology: melanoma in situ" in window.lesions.item(0).text()
    new = PatientDialog()
    qtbot.addWidget(new)
    new.clinic_id.setText("P-300")
    new.fitzpatrick.setCurrentIndex(new.fitzpatrick.findData(5))
    assert window.edit_patient(dialog=new)
    assert followed.patient("P-300").fitzpatrick == 5
    actions = [(e.action, e.entity) for e in followed.audit_entries()]
    assert ("change", "visit") in actions and ("change", "lesion") in actions
