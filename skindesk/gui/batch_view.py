"""The batch window: classify a whole folder, watch results arrive, filter, export, resume.

``BatchWindow(classifier_provider)`` runs the core batch engine (``skindesk.core.batch``) in a
``QThread`` so the window never freezes. Every row is written to a results CSV as it arrives
(the file the caller names, or an autosaved one per run), so a crash loses nothing and "Continue
previous run" finishes the last run where it stopped. The table is sortable and filterable by
top class and by flag (review advised, malignant, uncertain, out of distribution, error); its
columns are the results schema's (``skindesk.core.result_schema``), sized to their content, with
file names elided in the middle (the full path in the tooltip). Double-clicking a row emits
``open_image(path)``. Cancel stops within a second and keeps the rows. "Export CSV…" and
"Export PDF…" (the batch report of ``skindesk.gui.report_dialog``) save the run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QSortFilterProxyModel,
    QStandardPaths,
    Qt,
    QThread,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from skindesk.core.batch import Progress, classify_files, find_images
from skindesk.core.formatting import duration
from skindesk.core.result_schema import Column, current_schema
from skindesk.core.results import (
    ModelInfo,
    ResultCounts,
    ResultRow,
    ResultsFileError,
    open_results_csv,
)
from skindesk.core import palette
from skindesk.gui.settings import AppSettings

__all__ = ["BatchWindow", "ResultsTableModel", "ResultsFilter", "FLAG_FILTERS"]

# (key, label) of the flag filter; "" shows everything.
FLAG_FILTERS: tuple[tuple[str, str], ...] = (
    ("", "All flags"),
    ("review", "Review advised"),
    ("malignant", "Malignant top class"),
    ("uncertain", "Uncertain"),
    ("ood", "Out of distribution"),
    ("error", "Could not be read"),
)
_EMIT_SECONDS = 0.1
_REVIEW_BACKGROUND = QColor(palette.ALERT_FILL)
_ERROR_FOREGROUND = QColor(palette.WARNING_TEXT)


class ResultsTableModel(QAbstractTableModel):
    """Rows of ``ResultRow`` in the results schema's table columns (``Column.show`` for the
    text); ``Qt.UserRole`` gives raw values for sorting."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.columns: list[Column] = current_schema().table_columns()

    @property
    def COLUMNS(self) -> tuple[str, ...]:  # noqa: N802 - the labels, as the header shows them
        return tuple(str(c.label) for c in self.columns)

    def column_of(self, attribute: str) -> int:
        """The position of the column showing ``attribute`` (-1 when not shown)."""
        return next((i for i, c in enumerate(self.columns) if c.attribute == attribute), -1)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def add_rows(self, rows: Sequence[ResultRow]) -> None:
        if not rows:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self.rows.extend(rows)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows = []
        self.endResetModel()

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = self.columns[index.column()]
        value = getattr(row, column.attribute)
        if role == Qt.ItemDataRole.DisplayRole:
            return column.show(value)
        if role == Qt.ItemDataRole.UserRole:
            if isinstance(value, bool) or value is None:
                return -1 if value is None else int(value)
            if isinstance(value, (int, float)):
                return float(value)
            return column.show(value).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.attribute == "file":
                return row.file
            text = column.show(value)
            return text or (row.error or None)
        if role == Qt.ItemDataRole.BackgroundRole and row.review_advised:
            return QBrush(_REVIEW_BACKGROUND)
        if role == Qt.ItemDataRole.ForegroundRole and row.error:
            return QBrush(_ERROR_FOREGROUND)
        return None


class ResultsFilter(QSortFilterProxyModel):
    """Shows rows of one top class (``class_name``) and/or one flag (see ``FLAG_FILTERS``)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.class_name = ""
        self.flag = ""
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filters(self, class_name: str | None = None, flag: str | None = None) -> None:
        begin = getattr(self, "beginFilterChange", None)  # Qt >= 6.9; invalidateFilter before
        if begin is not None:
            begin()
        if class_name is not None:
            self.class_name = class_name
        if flag is not None:
            self.flag = flag
        if begin is not None:
            self.endFilterChange()
        else:  # pragma: no cover - older Qt
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:  # noqa: N802
        row: ResultRow = self.sourceModel().rows[source_row]
        if self.class_name and row.top_class != self.class_name:
            return False
        if self.flag == "review":
            return bool(row.review_advised)
        if self.flag == "malignant":
            return bool(row.malignant)
        if self.flag == "uncertain":
            return bool(row.uncertain)
        if self.flag == "ood":
            return bool(row.out_of_distribution)
        if self.flag == "error":
            return bool(row.error)
        return True


class _BatchWorker(QObject):
    """Runs in a QThread: finds files, classifies them, writes each row, reports in batches."""

    rows_ready = Signal(list)
    progressed = Signal(object)
    finished = Signal(str, str)  # outcome ("done", "cancelled", "failed"), message

    def __init__(self, classifier: Any, folder: str, recursive: bool, writer: Any,
                 done_files: set[str], cancel: threading.Event) -> None:
        super().__init__()
        self.classifier = classifier
        self.folder = folder
        self.recursive = recursive
        self.writer = writer
        self.done_files = done_files
        self.cancel = cancel

    @Slot()
    def run(self) -> None:
        outcome, message = "done", ""
        buffer: list[ResultRow] = []
        last = time.monotonic()
        last_progress = 0.0

        def progress(p: Progress) -> None:
            nonlocal last_progress
            now = time.monotonic()
            if now - last_progress >= _EMIT_SECONDS or p.done == p.total:
                last_progress = now
                self.progressed.emit(p)

        try:
            items = find_images([self.folder], recursive=self.recursive).items
            items = [i for i in items if i.path not in self.done_files]
            for row in classify_files(self.classifier, items, cancel=self.cancel,
                                      on_progress=progress):
                self.writer.write(row)
                buffer.append(row)
                if time.monotonic() - last >= _EMIT_SECONDS:
                    self.rows_ready.emit(buffer)
                    buffer, last = [], time.monotonic()
            if self.cancel.is_set():
                outcome = "cancelled"
        except Exception as error:  # noqa: BLE001 - the window reports it; rows so far are kept
            outcome, message = "failed", f"{type(error).__name__}: {error}"
        finally:
            try:
                self.writer.close()
            except OSError as error:
                outcome, message = "failed", f"results file could not be closed: {error}"
            if buffer:
                self.rows_ready.emit(buffer)
            self.finished.emit(outcome, message)


class BatchWindow(QWidget):
    """A window that classifies a folder (see the module docstring)."""

    open_image = Signal(str)
    run_finished = Signal(str)  # "done", "cancelled" or "failed"

    def __init__(self, classifier_provider: Callable[[], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.classifier_provider = classifier_provider
        self.setWindowTitle("SkinDesk — batch classification (decision support, not a diagnosis)")
        self.setAcceptDrops(True)
        self.resize(1100, 700)
        self.settings = AppSettings()
        self.folder: str | None = None
        self.output_csv: str | None = None
        self.model_info: ModelInfo | None = None
        self.counts = ResultCounts()
        self.last_message = ""
        self._thread: QThread | None = None
        self._worker: _BatchWorker | None = None
        self._cancel = threading.Event()
        self._previous = 0
        self._build()
        self._update_buttons()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.choose_button = QPushButton("Choose folder…")
        self.choose_button.clicked.connect(self._choose_folder)
        self.recursive_box = QCheckBox("Include subfolders")
        self.recursive_box.setChecked(True)
        self.continue_button = QPushButton("Continue previous run")
        self.continue_button.setToolTip("Finish the last run where it stopped (no file twice)")
        self.continue_button.clicked.connect(self.continue_previous)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._choose_export)
        self.export_pdf_button = QPushButton("Export PDF…")
        self.export_pdf_button.setToolTip("Save a batch report (PDF) of this run")
        self.export_pdf_button.clicked.connect(self.export_pdf)
        for widget in (self.choose_button, self.recursive_box, self.continue_button,
                       self.cancel_button, self.export_button, self.export_pdf_button):
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)

        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m")
        self.progress_label = QLabel("Choose or drop a folder of images.")
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.progress_label)

        filters = QHBoxLayout()
        self.class_filter = QComboBox()
        self.class_filter.addItem("All classes", "")
        self.class_filter.currentIndexChanged.connect(self._apply_filters)
        self.flag_filter = QComboBox()
        for key, label in FLAG_FILTERS:
            self.flag_filter.addItem(label, key)
        self.flag_filter.currentIndexChanged.connect(self._apply_filters)
        self.review_label = QLabel("Review advised: 0")
        self.review_label.setStyleSheet("color: #c62828; font-weight: bold;")
        filters.addWidget(QLabel("Show:"))
        filters.addWidget(self.class_filter)
        filters.addWidget(self.flag_filter)
        filters.addStretch(1)
        filters.addWidget(self.review_label)
        layout.addLayout(filters)
        self.operating_point_label = QLabel("")
        self.operating_point_label.setWordWrap(True)
        self.operating_point_label.setAccessibleName("Alert operating point")
        layout.addWidget(self.operating_point_label)

        self.model = ResultsTableModel(self)
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._size_columns()
        self.table.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 1)

        self.counts_label = QLabel("")
        self.counts_label.setWordWrap(True)
        self.counts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.counts_label)
        note = QLabel("Decision support, not a diagnosis: a clinician makes every decision.")
        note.setStyleSheet("color: gray;")
        layout.addWidget(note)

    # -- state ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def _previous_run(self) -> tuple[str, str, bool] | None:
        folder, csv_path, recursive = self.settings.last_batch_run()
        if folder and csv_path and Path(csv_path).is_file() and Path(folder).is_dir():
            return folder, csv_path, recursive
        return None

    def _update_buttons(self) -> None:
        running = self.running
        self.choose_button.setEnabled(not running)
        self.recursive_box.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.continue_button.setEnabled(not running and self._previous_run() is not None)
        self.export_button.setEnabled(not running and bool(self.model.rows))
        self.export_pdf_button.setEnabled(not running and bool(self.model.rows)
                                          and bool(self.output_csv))

    def _say(self, message: str) -> None:
        self.last_message = message
        self.progress_label.setText(message)

    # -- starting ---------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        start = self.settings.last_batch_run()[0]
        folder = QFileDialog.getExistingDirectory(self, "Folder of images to classify", start)
        if folder:
            self.start(folder)

    def continue_previous(self) -> bool:
        """Resume the last run of this user (folder, results file, recursion) where it stopped."""
        previous = self._previous_run()
        if previous is None:
            self._say("There is no previous run to continue.")
            return False
        folder, csv_path, recursive = previous
        self.recursive_box.setChecked(recursive)
        return self.start(folder, csv_path, resume=True)

    def _autosave_path(self, folder: str) -> Path:
        base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
        base = str(Path(base) / "skindesk") if base else ""
        if not base:
            from skindesk.paths import user_config_dir

            base = str(user_config_dir())
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = Path(folder).name or "folder"
        return Path(base) / "batch results" / f"{name}-{stamp}.csv"

    def start(self, folder: str, output_csv: str | None = None, resume: bool = False) -> bool:
        """Classify ``folder``, writing rows to ``output_csv`` (default: an autosaved file).

        With ``resume``, rows already in ``output_csv`` are shown and their files skipped.
        Returns False (with the reason on screen) when the run cannot start.
        """
        if self.running:
            self._say("A run is in progress; cancel it first.")
            return False
        if not Path(folder).is_dir():
            self._say(f"{folder}: not a folder.")
            return False
        classifier = self.classifier_provider()
        if classifier is None:
            self._say("No model is loaded yet; wait for it (or choose one) and start again.")
            return False
        model = ModelInfo.from_classifier(classifier)
        output = Path(output_csv) if output_csv else self._autosave_path(folder)
        try:
            writer, state = open_results_csv(output, model, resume=resume)
        except ResultsFileError as error:
            self._say(f"Cannot start: {error}")
            return False
        previous = state.rows if state is not None else []
        self.folder, self.output_csv, self.model_info = folder, str(output), model
        self.operating_point_label.setText(f"Alerts at the operating point: {model.operating_point}")
        recursive = self.recursive_box.isChecked()
        self.settings.set_last_batch_run(folder, str(output), recursive)

        self.model.clear()
        self.counts = ResultCounts()
        self._reset_class_filter(model.class_names)
        self._previous = len(previous)
        self._add_rows(previous)
        self.progress_bar.setRange(0, 0)  # busy until the files are counted
        self.counts_label.setText("")
        self._say(f"Finding images in {folder}…"
                  + (f" ({len(previous)} already done in the previous run)" if previous else ""))

        self._cancel = threading.Event()
        done = state.done_files if state is not None else set()
        self._thread = QThread(self)
        self._worker = _BatchWorker(classifier, folder, recursive, writer, done, self._cancel)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.rows_ready.connect(self._add_rows)
        self._worker.progressed.connect(self._show_progress)
        # The thread's event loop ends with the run itself, so wait() never hangs.
        self._worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._worker.finished.connect(self._finished)
        self._thread.start()
        self._update_buttons()
        return True

    def cancel(self) -> None:
        """Stop the run (within a second); rows so far stay in the table and the CSV."""
        if self.running:
            self._cancel.set()
            self._say("Cancelling…")

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Block until the worker thread has ended (for closing and tests)."""
        return self._thread is None or self._thread.wait(timeout_ms)

    # -- results arriving ---------------------------------------------------------------------
    def _reset_class_filter(self, class_names: Sequence[str]) -> None:
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem("All classes", "")
        for name in class_names:
            self.class_filter.addItem(name, name)
        self.class_filter.blockSignals(False)
        self._apply_filters()

    @Slot(list)
    def _add_rows(self, rows: list[ResultRow]) -> None:
        self.model.add_rows(rows)
        for row in rows:
            self.counts.add(row)
        self.review_label.setText(f"Review advised: {self.counts.review_advised}")

    @Slot(object)
    def _show_progress(self, progress: Progress) -> None:
        total = progress.total + self._previous
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(progress.done + self._previous)
        eta = duration(progress.eta)
        self._say(f"{progress.done + self._previous} / {total} files — "
                  f"{progress.rate:.1f} images/s — ETA {eta}")

    @Slot(str, str)
    def _finished(self, outcome: str, message: str) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(2000)
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread, self._worker = None, None
        where = f"Results saved in {self.output_csv}."
        if outcome == "cancelled":
            self._say(f"Cancelled after {self.counts.total} files. {where} "
                      "Use 'Continue previous run' to finish.")
        elif outcome == "failed":
            self._say(f"Stopped by an error: {message}. {where} "
                      "Use 'Continue previous run' once it is fixed.")
        else:
            self.progress_bar.setRange(0, max(self.counts.total, 1))
            self.progress_bar.setValue(self.counts.total)
            self._say(f"Done: {self.counts.total} files. {where}")
        names = self.model_info.class_names if self.model_info else ()
        self.counts_label.setText(self.counts.describe(names))
        self._update_buttons()
        self.run_finished.emit(outcome)

    # -- filtering, opening, exporting ----------------------------------------------------------
    def _apply_filters(self) -> None:
        self.proxy.set_filters(self.class_filter.currentData() or "", self.flag_filter.currentData() or "")

    def set_filter(self, class_name: str = "", flag: str = "") -> None:
        """Select a class and a flag filter as a user would (``""``: all)."""
        self.class_filter.setCurrentIndex(max(0, self.class_filter.findData(class_name)))
        self.flag_filter.setCurrentIndex(max(0, self.flag_filter.findData(flag)))

    def visible_rows(self) -> list[ResultRow]:
        """Rows as the table shows them now (filtered and sorted)."""
        return [self.model.rows[self.proxy.mapToSource(self.proxy.index(i, 0)).row()]
                for i in range(self.proxy.rowCount())]

    def _double_clicked(self, index: QModelIndex) -> None:
        row = self.model.rows[self.proxy.mapToSource(index).row()]
        self.open_image.emit(row.file)

    def _size_columns(self) -> None:
        """Columns as wide as their content; the file name takes the room left and is elided in
        the middle (never the start, so rows stay distinguishable); the header shows the real
        sort order; rows start sorted by file name, A to Z."""
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        file_column = self.model.column_of("file")
        header.setSectionResizeMode(file_column, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.sortByColumn(file_column, Qt.SortOrder.AscendingOrder)

    def export_pdf(self) -> str | None:
        """Ask where to save the batch report (PDF) of this run's results file; its path."""
        if not self.output_csv or not self.model.rows:
            self._say("Nothing to export yet.")
            return None
        from .report_dialog import export_batch_report

        written = export_batch_report(self, self.output_csv)
        if written:
            self._say(f"Batch report saved: {written}")
        return written

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export results", "skindesk-results.csv",
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path, overwrite=True)  # the dialog already asked about replacing

    def export_csv(self, path: str, overwrite: bool = False) -> bool:
        """Write every row (not only the filtered ones) to ``path``."""
        if self.model_info is None or not self.model.rows:
            self._say("Nothing to export yet.")
            return False
        if self.output_csv and Path(path).resolve() == Path(self.output_csv).resolve():
            self._say(f"The results are already in {path}.")
            return True
        try:
            writer, _ = open_results_csv(path, self.model_info, overwrite=overwrite)
            with writer:
                for row in self.model.rows:
                    writer.write(row)
        except (ResultsFileError, OSError) as error:
            self._say(f"Export failed: {error}")
            return False
        self._say(f"Exported {len(self.model.rows)} rows to {path}.")
        return True

    # -- drag and drop, closing --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and Path(urls[0].toLocalFile()).is_dir():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            self.start(urls[0].toLocalFile())

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if self.running:
            self._cancel.set()
            self.wait(3000)
        super().closeEvent(event)
