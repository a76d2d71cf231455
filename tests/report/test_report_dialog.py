"""The Export report dialog, offscreen: fields, remembered clinic/clinician, overwrite question."""

from __future__ import annotations

from datetime import datetime

import pytest
from PySide6.QtWidgets import QMessageBox

from skindesk.core.classifier import Classifier
from skindesk.core.imaging import load_image
from skindesk.gui import report_dialog
from skindesk.gui.report_dialog import ReportDialog, report_settings


@pytest.fixture
def result(fixed_probabilities_model, lesion_image, pdf):  # noqa: ANN001
    model = fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.23))
    classifier = Classifier(model, provider="cpu")
    image = load_image(lesion_image)
    return classifier.predict_image(image, str(lesion_image)), image, classifier


def test_dialog_writes_the_report_and_remembers_clinic_not_patient(qtbot, result, tmp_path, pdf) -> None:  # noqa: ANN001
    prediction, image, classifier = result
    dialog = ReportDialog(prediction, image, image, classifier)
    qtbot.addWidget(dialog)
    dialog.patient_id.setText("P 7/ü")
    assert dialog.file_edit.text().endswith(f"P_7_ü_{datetime.now():%Y-%m-%d}_skindesk.pdf")
    dialog.file_edit.setText(str(tmp_path / "out.pdf"))
    dialog.patient_name.setText("Łucja Ström")
    dialog.clinic.setText("Praxis Nord")
    dialog.clinician.setText("Dr. Ø")
    dialog.save()
    assert dialog.result() == ReportDialog.DialogCode.Accepted
    text = pdf.text(tmp_path / "out.pdf")
    assert "P 7/ü" in text and "Łucja Ström" in text and "REVIEW ADVISED" in text
    settings = report_settings()
    assert settings.value("report/clinic") == "Praxis Nord"
    assert settings.value("report/clinician") == "Dr. Ø"
    stored = " ".join(str(settings.value(k)) for k in settings.allKeys())
    assert "P 7/ü" not in stored and "Łucja" not in stored
    again = ReportDialog(prediction, image, None, classifier)
    qtbot.addWidget(again)
    assert again.clinic.text() == "Praxis Nord" and again.clinician.text() == "Dr. Ø"
    assert not again.include_heatmap.isEnabled()


def test_dialog_asks_before_overwriting(qtbot, result, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    prediction, image, classifier = result
    target = tmp_path / "existing.pdf"
    target.write_bytes(b"old")
    answers = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: answers.append(a) or QMessageBox.StandardButton.No)
    dialog = ReportDialog(prediction, image, None, classifier)
    qtbot.addWidget(dialog)
    dialog.patient_id.setText("X")
    dialog.file_edit.setText(str(target))
    dialog.save()
    assert answers and target.read_bytes() == b"old"
    assert dialog.result() != ReportDialog.DialogCode.Accepted
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog.save()
    assert target.read_bytes().startswith(b"%PDF-")


def test_dialog_requires_a_patient_id(qtbot, result, tmp_path) -> None:  # noqa: ANN001
    prediction, image, classifier = result
    dialog = ReportDialog(prediction, image, None, classifier)
    qtbot.addWidget(dialog)
    dialog.file_edit.setText(str(tmp_path / "r.pdf"))
    dialog.save()
    assert "patient identifier" in dialog.problem.text()
    assert not (tmp_path / "r.pdf").exists()


def test_export_batch_report(qtbot, tmp_path, monkeypatch, pdf) -> None:  # noqa: ANN001
    csv_path = tmp_path / "results.csv"
    csv_path.write_text("file,top_class,top_probability,review_advised\nx.jpg,melanoma,0.8,true\n",
                        encoding="utf-8")
    out = tmp_path / "batch.pdf"
    monkeypatch.setattr(report_dialog.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), "PDF files (*.pdf)"))
    assert report_dialog.export_batch_report(None, csv_path) == str(out)
    assert "x.jpg" in pdf.text(out)


def test_every_saved_report_offers_open_and_show_in_folder(qtbot, result, tmp_path,  # noqa: ANN001
                                                           monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QPushButton, QWidget

    prediction, image, classifier = result
    parent = QWidget()
    qtbot.addWidget(parent)
    out = tmp_path / "P-9.pdf"

    def fill_and_save(dialog: ReportDialog) -> int:
        dialog.patient_id.setText("P-9")
        dialog.file_edit.setText(str(out))
        dialog.save()
        return dialog.result()

    monkeypatch.setattr(ReportDialog, "exec", fill_and_save)
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    assert report_dialog.export_report(parent, prediction, image, None, classifier) == str(out)
    box = next(b for b in parent.findChildren(QMessageBox) if b.objectName() == "reportSavedBox")
    assert box.isVisible() and "P-9.pdf" in box.text() and str(tmp_path) in box.text()
    box.findChild(QPushButton, "openReport").click()
    assert opened == [str(out)]


def test_a_not_assessed_image_offers_no_heat_map(qtbot, fixed_probabilities_model, lesion_image,  # noqa: ANN001
                                                 pdf) -> None:
    import numpy as np

    gated = fixed_probabilities_model(pdf.probabilities(nevus=0.6, melanoma=0.23), name="gated.onnx",
                                      out_of_distribution=True)
    classifier = Classifier(gated, provider="cpu")
    image = load_image(lesion_image)
    prediction = classifier.predict_image(image, str(lesion_image))
    assert not prediction.assessed
    dialog = ReportDialog(prediction, image, np.zeros((4, 4, 3), np.uint8), classifier)
    qtbot.addWidget(dialog)
    assert not dialog.include_heatmap.isEnabled() and not dialog.include_heatmap.isChecked()
    assert "not assessed" in dialog.include_heatmap.toolTip()
