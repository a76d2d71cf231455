"""#15 in the app, offscreen on real models and real dermoscopy: a gated or too-dark image is 'not
assessed' (banner, no alert, chart and heat map behind "Show anyway"), the batch window filters
and counts it, and Settings chooses the gate's strictness among the card's validated levels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from skindesk.core.wording import NOT_DERMOSCOPY
from skindesk.gui.batch_view import BatchWindow
from skindesk.gui.dialogs import AboutDialog, SettingsDialog
from skindesk.gui.settings import AppSettings

MELANOMA_ALERT = [0.02, 0.02, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.01]  # melanoma 60 %: alert


@pytest.fixture
def gate_model(fixed_probabilities_model, gate_card) -> Path:
    return fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="gate.onnx")


def _collapsed(panel) -> bool:
    return (panel.not_assessed_banner.isVisible() and not panel.details.isVisible()
            and not panel.summary.isVisible() and not panel.alert_banner.isVisible()
            and not panel.heatmap_check.isEnabled())


def test_a_gated_image_shows_the_banner_and_nothing_else_until_show_anyway(
        make_window, qtbot, wait_for_result, fixed_probabilities_model, gate_card,
        dermoscopy_images) -> None:
    gated = fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="gated.onnx",
                                      out_of_distribution=True)
    window = make_window(gated)
    window.open_paths([str(dermoscopy_images[0])])
    prediction = wait_for_result(window, dermoscopy_images[0])
    panel = window.result_panel
    assert prediction.status == "not assessed" and prediction.alerts == ()
    assert _collapsed(panel)
    assert panel.not_assessed_title.text() == "Not assessed"
    assert panel.not_assessed_text.text().splitlines() == [
        NOT_DERMOSCOPY + ".", "No alert is raised from it; take a new dermoscopic image."]
    assert window.image_list.item(0).text().endswith("\nnot assessed")
    plain = window.image_view.rendered()
    qtbot.keyClick(window, Qt.Key.Key_H)  # the heat-map shortcut does nothing while collapsed
    assert not window.image_view.overlay_visible() and window.image_view.rendered() == plain

    qtbot.mouseClick(panel.show_anyway_button, Qt.MouseButton.LeftButton)
    assert panel.details.isVisible() and panel.shown_anyway_note.isVisible()
    assert panel.show_anyway_button.text() == "Hide again"
    note = panel.shown_anyway_note.text()
    assert "may be meaningless" in note
    assert "Alerts withheld: melanoma 60 % ≥ alert threshold 12 %." in note
    assert panel.chart.values()["melanoma"] == pytest.approx(0.6, abs=1e-4)
    assert not panel.alert_banner.isVisible() and panel.not_assessed_banner.isVisible()
    assert panel.heatmap_check.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_H)
    assert window.image_view.overlay_visible()
    qtbot.mouseClick(panel.show_anyway_button, Qt.MouseButton.LeftButton)  # collapse again
    assert _collapsed(panel) and not window.image_view.overlay_visible()


def test_a_too_dark_photo_says_so_and_a_normal_one_is_unchanged(
        make_window, wait_for_result, gate_model, dermoscopy_images, dark_photo) -> None:
    window = make_window(gate_model)
    window.open_paths([str(dark_photo), str(dermoscopy_images[1])])
    panel = window.result_panel
    window.image_list.setCurrentRow(0)
    dark = wait_for_result(window, dark_photo)
    assert [q.code for q in dark.quality] == ["too_dark"] and dark.withheld_alerts
    assert _collapsed(panel)
    assert panel.not_assessed_text.text().startswith("The image is too dark to assess.\n")

    window.image_list.setCurrentRow(1)
    normal = wait_for_result(window, dermoscopy_images[1])
    assert normal.status == "review advised"
    assert not panel.not_assessed_banner.isVisible() and not panel.shown_anyway_note.isVisible()
    assert panel.alert_banner.isVisible() and panel.details.isVisible()
    assert panel.summary.isVisible() and panel.summary.text().startswith("Most likely: ")
    assert window.image_list.item(1).text().startswith("⚠ ")


def test_settings_offers_the_cards_gate_levels_and_the_choice_is_applied_and_kept(
        make_window, wait_for_result, gate_model, dermoscopy_images) -> None:
    window = make_window(gate_model)
    window.open_paths([str(dermoscopy_images[0])])
    assert wait_for_result(window, dermoscopy_images[0]).assessed
    dialog = SettingsDialog(window.classifier.card, None, "auto", window,
                            gate_strictness=window.classifier.gate_strictness)
    combo = dialog.gate_combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert [label.split(":")[0] for label in labels] == ["lenient", "standard (default)", "strict"]
    assert "flags 2.0 % of real dermoscopic images (validation; 2.5 % on the test split)" in labels[2]
    assert combo.isEnabled() and combo.currentText() == labels[1] and dialog.gate_strictness() is None
    combo.setCurrentIndex(2)
    window.apply_settings(dialog.sensitivity(), dialog.provider(), dialog.gate_strictness())
    assert window.classifier.gate_strictness == "strict"
    prediction = wait_for_result(window, dermoscopy_images[0])
    assert prediction.status == "not assessed" and window.result_panel.not_assessed_banner.isVisible()
    assert AppSettings().gate_strictness() == "strict"
    window.close()
    again = make_window(gate_model)  # a new session keeps the clinic's choice
    assert again.classifier.gate_strictness == "strict"
    reopened = SettingsDialog(again.classifier.card, None, "cpu", again, gate_strictness="strict")
    assert reopened.gate_strictness() == "strict"
    about = AboutDialog(again.classifier, None, again).overview.toPlainText()
    assert "in use: strict: flags 2.0 % of real dermoscopic images" in about
    assert "too dark" in about and "mean brightness under 77 of 255" in about


def test_settings_explains_a_model_without_levels(make_window, fixed_probabilities_model,
                                                  gate_card) -> None:
    window = make_window(fixed_probabilities_model(MELANOMA_ALERT, gate_card(levels=None)))
    dialog = SettingsDialog(window.classifier.card, None, "cpu", window)
    assert not dialog.gate_combo.isEnabled() and dialog.gate_strictness() is None
    assert "validates no strictness levels" in dialog.gate_note.text()


def test_batch_window_filters_and_counts_not_assessed_and_follows_the_strictness(
        qtbot, tmp_path, make_window, gate_model, dermoscopy_images, dark_photo) -> None:
    folder = tmp_path / "clinic"
    folder.mkdir()
    for image in dermoscopy_images[:3]:
        shutil.copy(image, folder)
    shutil.copy(dark_photo, folder / "dark.jpg")
    main = make_window(gate_model)
    batch = BatchWindow(main.classifier_provider)
    qtbot.addWidget(batch)
    batch.show()
    with qtbot.waitSignal(batch.run_finished, timeout=20000):
        assert batch.start(str(folder), str(tmp_path / "run1.csv")), batch.last_message
    assert batch.not_assessed_label.text() == "Not assessed: 1"
    assert batch.review_label.text() == "Review advised: 3"
    batch.set_filter(flag="not_assessed")
    (row,) = batch.visible_rows()
    assert Path(row.file).name == "dark.jpg" and row.quality == ("too_dark",)
    status = batch.model.column_of("assessment")
    index = batch.proxy.index(0, status)
    assert batch.proxy.data(index) == "not assessed: the image is too dark to assess"
    assert batch.model.headerData(status, Qt.Orientation.Horizontal) == "Status"
    top = batch.proxy.index(0, batch.model.column_of("top_class"))
    assert batch.proxy.data(top) == ""  # no diagnosis shown for it
    assert batch.proxy.data(top, Qt.ItemDataRole.ToolTipRole).startswith("not assessed: the image")
    assert "not assessed 1" in batch.counts_label.text()

    main.apply_settings(None, "auto", "strict")  # the clinic's choice reaches the batch lanes
    with qtbot.waitSignal(batch.run_finished, timeout=20000):
        assert batch.start(str(folder), str(tmp_path / "run2.csv")), batch.last_message
    assert batch.not_assessed_label.text() == "Not assessed: 4"
    assert len(batch.visible_rows()) == 4 and batch.review_label.text() == "Review advised: 0"
