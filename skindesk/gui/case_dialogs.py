"""Small dialogs of the Patients pane: a patient's details, a visit's decision, a histopathology.

Each only gathers values (``values()``); the pane hands them to ``CaseStore`` (which checks them
against ``skindesk.cases.vocab`` and records the change in the audit trail).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout,
                               QLineEdit, QPlainTextEdit, QRadioButton, QSpinBox, QVBoxLayout,
                               QWidget)

from skindesk.cases import PatientRecord
from skindesk.cases.vocab import FITZPATRICK_TYPES, SEXES

__all__ = ["PatientDialog", "DecisionDialog", "HistopathologyDialog"]

_ROMAN = ("I", "II", "III", "IV", "V", "VI")


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class PatientDialog(QDialog):
    """A new patient (``record`` None) or an existing one's details."""

    def __init__(self, record: PatientRecord | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New patient" if record is None else f"Patient {record.clinic_id}")
        self.clinic_id = QLineEdit(record.clinic_id if record else "")
        self.clinic_id.setReadOnly(record is not None)
        self.name = QLineEdit(record.name or "" if record else "")
        self.birth_year = QSpinBox()
        self.birth_year.setRange(1899, date.today().year)
        self.birth_year.setSpecialValueText("not given")
        self.birth_year.setValue(record.birth_year if record and record.birth_year else 1899)
        self.sex = QComboBox()
        self.sex.addItem("not given", None)
        for value in SEXES:
            self.sex.addItem(value, value)
        self.sex.setCurrentIndex(max(0, self.sex.findData(record.sex if record else None)))
        self.fitzpatrick = QComboBox()
        self.fitzpatrick.addItem("not given", None)
        for number, roman in zip(FITZPATRICK_TYPES, _ROMAN):
            self.fitzpatrick.addItem(f"type {roman}", number)
        self.fitzpatrick.setCurrentIndex(max(0, self.fitzpatrick.findData(
            record.fitzpatrick if record else None)))
        self.notes = QPlainTextEdit(record.notes if record else "")
        self.notes.setMaximumHeight(90)
        form = QFormLayout()
        form.addRow("Patient ID", self.clinic_id)
        form.addRow("Name", self.name)
        form.addRow("Birth year", self.birth_year)
        form.addRow("Sex", self.sex)
        form.addRow("Fitzpatrick skin type", self.fitzpatrick)
        form.addRow("Notes", self.notes)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self))

    def values(self) -> dict[str, Any]:
        year = self.birth_year.value()
        return {"name": self.name.text().strip() or None,
                "birth_year": None if year == self.birth_year.minimum() else year,
                "sex": self.sex.currentData(), "fitzpatrick": self.fitzpatrick.currentData(),
                "notes": self.notes.toPlainText().strip()}


class DecisionDialog(QDialog):
    """Excise, follow up in N months, or discharge."""

    def __init__(self, when: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Decision for the visit of {when}")
        self.excise = QRadioButton("Excise")
        self.follow_up = QRadioButton("Follow up in")
        self.discharge = QRadioButton("Discharge")
        self.follow_up.setChecked(True)
        self.months = QSpinBox()
        self.months.setRange(1, 60)
        self.months.setValue(3)
        self.months.setSuffix(" months")
        self.follow_up.toggled.connect(self.months.setEnabled)
        layout = QVBoxLayout(self)
        for widget in (self.excise, self.follow_up, self.months, self.discharge):
            layout.addWidget(widget)
        layout.addWidget(_buttons(self))

    def values(self) -> tuple[str, int | None]:
        if self.excise.isChecked():
            return "excise", None
        if self.discharge.isChecked():
            return "discharge", None
        return "follow-up", self.months.value()


class HistopathologyDialog(QDialog):
    """The histopathology diagnosis of a lesion and the report's date."""

    def __init__(self, current: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Histopathology")
        self.diagnosis = QLineEdit(current)
        self.diagnosis.setPlaceholderText("e.g. melanoma in situ, compound naevus")
        self.date = QDateEdit(QDate.currentDate())
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        self.date.setMaximumDate(QDate.currentDate())
        form = QFormLayout()
        form.addRow("Diagnosis", self.diagnosis)
        form.addRow("Report date", self.date)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self))

    def values(self) -> tuple[str, date]:
        return self.diagnosis.text().strip(), self.date.date().toPython()
