"""The results table of the batch window: model, filter and view, driven by the results schema.

``ResultsTableModel`` shows ``ResultRow``s in the schema's table columns
(``skindesk.core.result_schema``; ``Column.show`` gives the text, ``Qt.UserRole`` the raw value for
sorting; a not-assessed row is tinted, its status says why and its top class, probability and
flags are left blank: they mean nothing, and its result opens on a double-click); ``ResultsFilter`` keeps rows of
one top class and/or one flag (not assessed among them); ``ResultsTable`` sizes the columns to
their content (the file name, the status and the error within a share of the width, the file
name elided in the middle; the alerts take the room left and are elided at the end; the full
text is in each tooltip) and draws the sort arrow the common way: ▲ for ascending (A to Z, 0 to 100 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QProxyStyle,
    QStyle,
    QStyledItemDelegate,
    QStyleOption,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from skindesk.core import palette
from skindesk.core.result_schema import Column, ResultRow, current_schema

__all__ = ["FLAG_FILTERS", "ResultsTableModel", "ResultsFilter", "ResultsTable"]
FLAG_FILTERS: tuple[tuple[str, str], ...] = (
    ("", "All flags"),
    ("review", "Review advised"),
    ("malignant", "Malignant top class"),
    ("uncertain", "Uncertain"),
    ("not_assessed", "Not assessed"),
    ("error", "Could not be read"),
)
_REVIEW_BACKGROUND = QColor(palette.ALERT_FILL)
_ERROR_FOREGROUND = QColor(palette.WARNING_TEXT)
_NOT_ASSESSED_BACKGROUND = QColor(palette.WARNING_FILL)
# Left blank for a not-assessed image (the main window shows them behind "Show anyway").
_NOT_ASSESSED_BLANK = frozenset({"top_class", "top_probability", "malignant", "uncertain"})


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
        hidden = column.attribute in _NOT_ASSESSED_BLANK and row.ok and not row.assessment.assessed
        if hidden and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return "" if role == Qt.ItemDataRole.DisplayRole else (
                f"{row.assessment.text}; double-click to open it")
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
        if role == Qt.ItemDataRole.BackgroundRole and row.ok and not row.assessment.assessed:
            return QBrush(_NOT_ASSESSED_BACKGROUND)
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
        if self.flag == "not_assessed":
            return row.ok and not row.assessment.assessed
        if self.flag == "error":
            return bool(row.error)
        return True




class _MiddleElide(QStyledItemDelegate):
    """Elides its column's text in the middle (file names differ at their ends)."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:  # noqa: N802
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class _AscendingUpStyle(QProxyStyle):
    """Qt draws the ascending sort indicator pointing down; this draws ▲ for ascending, ▼ for
    descending, as file managers and spreadsheets do."""

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802
                      painter: Any, widget: QWidget | None = None) -> None:
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(
                option, QStyleOptionHeader):
            flipped = QStyleOptionHeader(option)
            up, down = QStyleOptionHeader.SortIndicator.SortUp, QStyleOptionHeader.SortIndicator.SortDown
            if option.sortIndicator == up:
                flipped.sortIndicator = down
            elif option.sortIndicator == down:
                flipped.sortIndicator = up
            option = flipped
        super().drawPrimitive(element, option, painter, widget)


class ResultsTable(QTableView):
    """The batch table view (see the module docstring)."""

    FILE_SHARE = 0.3  # at most these shares of the width
    STATUS_SHARE = 0.16
    ERROR_SHARE = 0.12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self._delegate = _MiddleElide(self)
        self._header_style = _AscendingUpStyle()
        self.horizontalHeader().setStyle(self._header_style)

    def _source(self) -> ResultsTableModel:
        model = self.model()
        return model.sourceModel() if isinstance(model, QSortFilterProxyModel) else model

    def start_sorted_by(self, column: int) -> None:
        """Set the column modes and sort by ``column``, A to Z."""
        source = self._source()
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for attribute in ("file", "assessment", "error"):
            header.setSectionResizeMode(source.column_of(attribute), QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(source.column_of("alerts"), QHeaderView.ResizeMode.Stretch)
        self.setItemDelegateForColumn(source.column_of("file"), self._delegate)
        self.sortByColumn(column, Qt.SortOrder.AscendingOrder)
        self.fit_columns()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.model() is not None:
            self.fit_columns()

    def fit_columns(self) -> None:
        """File, status and error columns as wide as their content, within their share of the
        width (the alerts column takes what is left; every cell's full text is in its tooltip)."""
        source = self._source()
        width = max(400, self.viewport().width())
        header = self.horizontalHeader()
        for attribute, share in (("file", self.FILE_SHARE), ("assessment", self.STATUS_SHARE),
                                 ("error", self.ERROR_SHARE)):
            column = source.column_of(attribute)
            wanted = max(self.sizeHintForColumn(column), header.sectionSizeHint(column)) + 8
            header.resizeSection(column, int(min(wanted, width * share)))
