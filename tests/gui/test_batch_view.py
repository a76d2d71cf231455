"""The batch window, offscreen: rows arrive, filters and sorting, open_image, export, cancel, resume."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from skindesk.core.classifier import Classifier
from skindesk.core.results import read_results_csv
from skindesk.core.testmodels import build_test_model, test_card
from skindesk.gui.batch_view import BatchWindow


def _fill(folder: Path, count: int, size=(64, 48), seed=0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        # different mean colours, so the colour model spreads them over several classes
        base = rng.integers(0, 256, size=3)
        pixels = np.clip(base + rng.integers(-20, 20, size=(size[1], size[0], 3)), 0, 255)
        path = folder / f"img_{index:04d}.jpg"
        Image.fromarray(pixels.astype(np.uint8)).save(path)
        paths.append(path)
    return paths


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, int, int]:
    """(folder, number of files, number of files that cannot be classified)."""
    folder = tmp_path / "clinic"
    _fill(folder, 8)
    _fill(folder / "nested ü", 3, seed=1)
    Image.fromarray(np.full((30, 30, 3), 50, np.uint8)).save(folder / "läsion 病变.png")
    (folder / "zero.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image")
    (folder / ".hidden.jpg").write_bytes(b"x")
    return folder, 15, 3


def _window(qtbot, classifier) -> BatchWindow:
    window = BatchWindow(lambda: classifier)
    qtbot.addWidget(window)
    window.show()
    return window


def _run(qtbot, window: BatchWindow, *args, timeout: int = 15000, **kwargs) -> str:
    with qtbot.waitSignal(window.run_finished, timeout=timeout) as blocker:
        assert window.start(*args, **kwargs), window.last_message
    return blocker.args[0]


def test_run_fills_table_and_csv_filters_sorts_and_opens(qtbot, tmp_path, colour_model, mixed_folder):
    folder, files, bad = mixed_folder
    classifier = Classifier(colour_model, provider="cpu", threads=1)
    window = _window(qtbot, classifier)
    output = tmp_path / "out.csv"
    assert _run(qtbot, window, str(folder), str(output)) == "done"

    rows = window.model.rows
    assert len(rows) == files and len({r.file for r in rows}) == files
    assert [r.file for r in read_results_csv(output).rows] == [r.file for r in rows]
    assert "Done: 15 files" in window.last_message
    assert "3 could not be read" in window.counts_label.text()

    window.set_filter(flag="error")
    assert len(window.visible_rows()) == bad and all(r.error for r in window.visible_rows())
    top = next(r.top_class for r in rows if r.ok)
    window.set_filter(class_name=top)
    shown = window.visible_rows()
    assert shown and all(r.top_class == top for r in shown)
    assert len(shown) == sum(r.top_class == top for r in rows)
    assert f"{top} {len(shown)}" in window.counts_label.text()

    window.set_filter()
    window.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    probabilities = [r.top_probability for r in window.visible_rows() if r.ok]
    assert probabilities == sorted(probabilities, reverse=True)

    index = window.proxy.index(0, 0)
    rect = window.table.visualRect(index)
    with qtbot.waitSignal(window.open_image, timeout=2000) as opened:
        qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened.args == [window.visible_rows()[0].file]

    exported = tmp_path / "export.csv"
    assert window.export_csv(str(exported))
    assert len(read_results_csv(exported).rows) == files
    assert not window.export_csv(str(exported))  # never silently replaced
    assert "already exists" in window.last_message


def test_review_advised_count_and_filter(qtbot, tmp_path, make_fixed_model):
    folder = tmp_path / "benign"
    _fill(folder, 4)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    model = make_fixed_model("review", nevus=0.70, melanoma=0.16)  # 0.16 >= 0.12 (90 %)
    classifier = Classifier(model, provider="cpu", threads=1)
    window = _window(qtbot, classifier)
    _run(qtbot, window, str(folder), str(tmp_path / "r.csv"))
    assert all(r.top_class == "nevus" for r in window.model.rows if r.ok)
    assert window.review_label.text() == "Review advised: 4"
    assert "melanoma 90 %" in window.operating_point_label.text()
    window.set_filter(flag="review")
    assert len(window.visible_rows()) == 4
    assert all(r.alert_text == "melanoma 16 % ≥ alert threshold 12 %" for r in window.visible_rows())

    classifier.set_sensitivity(0.8)  # melanoma threshold 0.30: no alert
    window2 = _window(qtbot, classifier)
    _run(qtbot, window2, str(folder), str(tmp_path / "r80.csv"))
    assert window2.review_label.text() == "Review advised: 0"
    assert "80 % target sensitivity" in window2.operating_point_label.text()
    window2.set_filter(flag="review")
    assert window2.visible_rows() == []


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("skindesk-decode")]


def test_cancel_stops_quickly_keeps_rows_and_continue_finishes(qtbot, tmp_path):
    folder = tmp_path / "archive"
    paths = _fill(folder, 160, size=(320, 240))
    model = build_test_model(tmp_path / "m224.onnx", test_card(size=224))
    classifier = Classifier(model, provider="cpu", threads=1)
    window = _window(qtbot, classifier)
    output = tmp_path / "run.csv"
    assert window.start(str(folder), str(output))
    assert window.running and window.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: len(window.model.rows) >= 10, timeout=10000)

    with qtbot.waitSignal(window.run_finished, timeout=5000) as blocker:
        cancelled_at = time.monotonic()
        qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - cancelled_at < 1.0
    assert blocker.args == ["cancelled"]
    assert not window.running and "Continue previous run" in window.last_message
    kept = window.model.rows
    assert 10 <= len(kept) < len(paths)
    assert [r.file for r in read_results_csv(output).rows] == [r.file for r in kept]
    qtbot.waitUntil(lambda: not _decode_threads(), timeout=1000)

    assert window.continue_button.isEnabled()
    with qtbot.waitSignal(window.run_finished, timeout=20000) as blocker:
        qtbot.mouseClick(window.continue_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["done"]
    files = [r.file for r in read_results_csv(output).rows]
    assert files == [str(p) for p in paths]  # every file once, in order
    assert [r.file for r in window.model.rows] == files


def test_start_refusals_are_explained(qtbot, tmp_path, colour_model):
    window = _window(qtbot, None)
    assert not window.start(str(tmp_path))
    assert "No model" in window.last_message
    classifier = Classifier(colour_model, provider="cpu", threads=1)
    window = _window(qtbot, classifier)
    existing = tmp_path / "existing.csv"
    existing.write_text("keep me\n")
    _fill(tmp_path / "f", 1)
    assert not window.start(str(tmp_path / "f"), str(existing))
    assert "already exists" in window.last_message and existing.read_text() == "keep me\n"
    assert not window.start(str(tmp_path / "missing"))
    assert "not a folder" in window.last_message


def test_double_clicked_row_opens_with_the_alert_class_heat_map(
    qtbot, tmp_path, monkeypatch, make_window, make_fixed_model, wait_for_result
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the autosaved results CSV
    folder = tmp_path / "day"
    _fill(folder, 2)
    window = make_window(make_fixed_model("review", nevus=0.70, melanoma=0.16))
    window.open_folder(str(folder))
    batch = window.batch_windows[-1]
    qtbot.waitUntil(lambda: not batch.running and len(batch.model.rows) == 2, timeout=15000)
    rect = batch.table.visualRect(batch.proxy.index(0, 0))
    qtbot.mouseClick(batch.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(batch.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    prediction = wait_for_result(window, batch.visible_rows()[0].file)
    assert prediction.top_class.name == "nevus" and prediction.review_advised
    assert window.result_panel.chart.selected_class() == "melanoma"


def _arrow_points_up(header, column: int) -> bool:  # noqa: ANN001
    """Whether the sort arrow drawn on ``column`` is wider at its bottom (▲) than at its top."""
    image = header.grab().toImage()
    x0 = header.sectionViewportPosition(column)
    dark = np.array([[image.pixelColor(x, y).lightness() < 110
                      for x in range(x0, x0 + header.sectionSize(column))]
                     for y in range(image.height())])
    text_end = header.fontMetrics().horizontalAdvance(header.model().headerData(
        column, Qt.Orientation.Horizontal)) + 10
    centre = header.sectionSize(column) // 2
    columns = [c for c in range(dark.shape[1]) if dark[:, c].any() and abs(c - centre) > text_end // 2]
    arrow = dark[:, min(columns):max(columns) + 1]
    rows = [r for r in range(arrow.shape[0]) if arrow[r].any()]
    return arrow[rows[-1]].sum() > arrow[rows[0]].sum()


def test_columns_fit_names_elide_in_the_middle_and_sorting_is_ascending(qtbot, tmp_path,
                                                                        colour_model):
    folder = tmp_path / "clinic"
    names = [f"ISIC_00258{i:02d}_{'dermoscopy_follow_up_' * 3}{i}.jpg" for i in range(4)]
    folder.mkdir()
    for i, name in enumerate(names):
        Image.fromarray(np.full((30, 30, 3), 40 * i, np.uint8)).save(folder / name)
    (folder / "broken.jpg").write_bytes(b"")
    window = _window(qtbot, Classifier(colour_model, provider="cpu", threads=1))
    window.resize(1300, 600)
    assert _run(qtbot, window, str(folder), str(tmp_path / "out.csv")) == "done"
    header = window.table.horizontalHeader()
    file_col = window.model.column_of("file")
    error_col = window.model.column_of("error")
    assert not header.stretchLastSection()
    assert header.sectionResizeMode(window.model.column_of("alerts")) == header.ResizeMode.Stretch
    # the error column is as wide as its text, not all the room there is
    error_text = window.fontMetrics().horizontalAdvance("empty file (0 bytes)")
    assert header.sectionSize(error_col) < error_text + 80
    # every column is on screen; the long file names are elided in the middle
    assert header.length() <= window.table.viewport().width() + 2
    assert header.sectionSize(file_col) <= 0.3 * window.table.viewport().width() + 1
    assert header.sectionSize(file_col) < window.fontMetrics().horizontalAdvance(names[0])
    from PySide6.QtWidgets import QStyleOptionViewItem

    option = QStyleOptionViewItem()
    index = window.proxy.index(1, file_col)
    window.table.itemDelegateForColumn(file_col).initStyleOption(option, index)
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle
    # the full path is in the tooltip; rows start A to Z and the header says so
    index = window.proxy.index(0, file_col)
    assert window.proxy.data(index, Qt.ItemDataRole.ToolTipRole) == window.visible_rows()[0].file
    assert header.sortIndicatorSection() == file_col
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert _arrow_points_up(header, file_col)  # ▲ for A to Z
    window.table.sortByColumn(file_col, Qt.SortOrder.DescendingOrder)
    assert not _arrow_points_up(header, file_col)
    window.table.sortByColumn(file_col, Qt.SortOrder.AscendingOrder)
    shown = [Path(r.file).name for r in window.visible_rows()]
    assert shown == sorted(shown, key=str.lower)
    # probabilities read in the one percent style
    prob_col = window.model.column_of("top_probability")
    text = window.proxy.data(window.proxy.index(1, prob_col))
    assert text.endswith(" %") and text[:-2].isdigit()


def test_a_new_schema_column_shows_in_the_table(qtbot, sharpness_column):
    from skindesk.gui.batch_view import ResultsTableModel

    model = ResultsTableModel()
    assert "Sharpness" in model.COLUMNS
    model.add_rows([sharpness_column.row_type(file="/x/a.jpg", top_class="nevus", sharpness=0.5)])
    column = model.column_of("sharpness")
    assert model.data(model.index(0, column)) == "0.50"
    assert model.data(model.index(0, model.column_of("file"))) == "a.jpg"


def test_export_pdf_writes_the_batch_report_and_offers_to_open_it(qtbot, tmp_path, colour_model,
                                                                 monkeypatch):
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWidgets import QMessageBox

    from skindesk.gui import report_dialog

    folder = tmp_path / "clinic"
    _fill(folder, 3)
    window = _window(qtbot, Classifier(colour_model, provider="cpu", threads=1))
    assert not window.export_pdf_button.isEnabled()
    assert _run(qtbot, window, str(folder), str(tmp_path / "out.csv")) == "done"
    buttons = [window.export_button, window.export_pdf_button]
    assert [b.text() for b in buttons] == ["Export CSV…", "Export PDF…"]
    assert window.export_pdf_button.isEnabled()
    out = tmp_path / "batch.pdf"
    monkeypatch.setattr(report_dialog.QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(out), "PDF files (*.pdf)"))
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    window.export_pdf_button.click()
    assert out.read_bytes().startswith(b"%PDF-")
    assert "Batch report saved" in window.last_message
    box = next(w for w in window.findChildren(QMessageBox) if w.objectName() == "reportSavedBox")
    assert box.isVisible() and "batch.pdf" in box.text()
    box.findChild(type(window.export_button), "showReportFolder").click()
    assert opened == [str(tmp_path)]
    box = report_dialog.show_saved(window, out, "Report saved")
    box.findChild(type(window.export_button), "openReport").click()
    assert opened[-1] == str(out)


def test_the_run_names_the_image_gate_strictness_it_judges_at(qtbot, tmp_path, make_test_model, gate_card):
    folder = tmp_path / "images"
    _fill(folder, 2)
    classifier = Classifier(make_test_model(card=gate_card()), provider="cpu", threads=1)
    classifier.set_gate_strictness("strict")
    window = _window(qtbot, classifier)
    _run(qtbot, window, str(folder), str(tmp_path / "r.csv"))
    assert window.operating_point_label.text().endswith("· image gate: strict")
    assert {r.gate_level for r in read_results_csv(tmp_path / "r.csv").rows} == {"strict"}
