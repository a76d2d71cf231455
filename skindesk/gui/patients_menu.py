"""The main window's Patients menu: the Patients pane, "Add to patient…" and the store in use.

``install(window)`` adds the menu to a ``MainWindow`` (it is called by the window when this
module is present) and returns the ``PatientsMenu`` that holds the open store. Actions: open
the Patients pane; add the shown result to a patient; add the newest batch window's shown
results to patients (one chosen patient and lesion, or a CSV mapping file); choose the store
(a SQLite file or a PostgreSQL URL, kept in the ``cases/database`` setting;
``$SKINDESK_DATABASE`` wins over it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox

from skindesk.cases import CaseStore
from skindesk.cases.location import ENV_VARIABLE, default_store_dir

from .add_to_patient import AddToPatientDialog, add_prediction, add_rows
from .case_widgets import DATABASE_SETTING, open_case_store
from .patients_view import PatientsWindow

__all__ = ["PatientsMenu", "install"]


class PatientsMenu(QObject):
    """The Patients menu of one main window and the case store it opened (lazily)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self._store: CaseStore | None = None
        self.patients_window: PatientsWindow | None = None
        menu = window.menuBar()
        self.menu = menu.addMenu("&Patients")
        help_menu = next((a for a in menu.actions() if a.text() == "&Help"), None)
        if help_menu is not None:  # keep Help last
            menu.insertMenu(help_menu, self.menu)
        self.show_action = self._add("&Patients…", self.show_patients, "Ctrl+Shift+P",
                                     "Find a patient; their lesions, timelines and comparisons")
        self.add_action = self._add("&Add result to patient…", self.add_current, "Ctrl+Shift+A",
                                    "File the shown image and its result under a patient")
        self.batch_action = self._add("Add &batch results to patient…", self.add_batch, None,
                                      "File the batch window's shown results under patients")
        self.menu.addSeparator()
        self.store_action = self._add("Case &store…", self.choose_store, None,
                                      "Use another case store (SQLite file or PostgreSQL URL)")
        self.menu.aboutToShow.connect(self.update_actions)
        self.update_actions()

    def _add(self, text: str, slot: Any, shortcut: str | None, tip: str) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.window.addAction(action)
        self.menu.addAction(action)
        return action

    # -- state --------------------------------------------------------------------------
    def store(self) -> CaseStore | None:
        if self._store is None:
            self._store = open_case_store(self.window.settings, self.window)
        return self._store

    def batch_rows(self) -> list[Any]:
        for batch in reversed(getattr(self.window, "batch_windows", [])):
            rows = [row for row in batch.visible_rows() if row.ok]
            if rows:
                return rows
        return []

    def update_actions(self) -> None:
        self.add_action.setEnabled(self.window.current_prediction() is not None)
        self.batch_action.setEnabled(bool(self.batch_rows()))

    def _say(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 10000)
        if self.patients_window is not None:
            self.patients_window.refresh()

    # -- actions ------------------------------------------------------------------------
    def show_patients(self) -> PatientsWindow | None:
        store = self.store()
        if store is None:
            return None
        if self.patients_window is None or self.patients_window.store is not store:
            self.patients_window = PatientsWindow(store, self.window)
        self.patients_window.refresh()
        self.patients_window.show()
        self.patients_window.raise_()
        return self.patients_window

    def add_dialog(self, batch: bool = False, count: int = 1) -> AddToPatientDialog | None:
        store = self.store()
        return None if store is None else AddToPatientDialog(store, batch=batch, count=count,
                                                             parent=self.window)

    def add_current(self, dialog: AddToPatientDialog | None = None) -> str:
        prediction = self.window.current_prediction()
        if prediction is None or self.window.classifier is None:
            return ""
        if dialog is None:  # a dialog handed in is already filled in (tests, scripting)
            dialog = self.add_dialog()
            if dialog is None or dialog.exec() != AddToPatientDialog.DialogCode.Accepted:
                return ""
        message = add_prediction(dialog, prediction, self.window.classifier)
        self._say(message)
        return message

    def add_batch(self, dialog: AddToPatientDialog | None = None) -> str:
        rows = self.batch_rows()
        if not rows:
            return ""
        if dialog is None:
            dialog = self.add_dialog(batch=True, count=len(rows))
            if dialog is None or dialog.exec() != AddToPatientDialog.DialogCode.Accepted:
                return ""
        classifier = self.window.classifier
        same = classifier is not None and all(
            (r.model, r.model_version) == (classifier.card.name, classifier.card.version) for r in rows)
        report = add_rows(dialog, rows, classifier.sha256 if same else "")
        message = f"Batch results filed: {report.describe()}."
        if report.problems or report.unassigned:
            details = report.problems[:10] + [f"{f}: not in the mapping" for f in report.unassigned[:10]]
            QMessageBox.information(self.window, "Add batch results to patient",
                                    message + "\n\n" + "\n".join(details))
        self._say(message)
        return message

    def choose_store(self, value: str | None = None) -> bool:
        """Use another store (empty: the default); True when it opened."""
        settings = self.window.settings.store
        if value is None:
            current = str(settings.value(DATABASE_SETTING, "") or "")
            value, ok = QInputDialog.getText(
                self.window, "Case store",
                f"SQLite file or PostgreSQL URL (postgresql://user@host/db).\nEmpty: "
                f"{default_store_dir() / 'cases.sqlite'}. ${ENV_VARIABLE}, when set, wins.",
                QLineEdit.EchoMode.Normal, current)
            if not ok:
                return False
        previous = settings.value(DATABASE_SETTING, "")
        settings.setValue(DATABASE_SETTING, value.strip())
        store = open_case_store(self.window.settings, self.window)
        if store is None:
            settings.setValue(DATABASE_SETTING, previous)
            return False
        if self._store is not None:
            self._store.close()
        self._store = store
        if self.patients_window is not None:
            self.patients_window.close()
            self.patients_window = None
        self._say(f"Case store: {store.label}")
        return True


def install(window: Any) -> PatientsMenu:
    """Add the Patients menu to ``window``."""
    return PatientsMenu(window)
