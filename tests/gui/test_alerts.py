"""Malignancy alert in the window: banner above the chart, threshold markers, operating point."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from skindesk.gui.dialogs import SettingsDialog
from skindesk.gui.result_panel import NO_THRESHOLDS_TEXT


def _hidden_melanoma(make_window, wait_for_result, make_fixed_model, images):  # noqa: ANN001, ANN202
    """A window showing nevus 61 % on top with melanoma 23 % above its 12 % alert threshold."""
    model = make_fixed_model("hidden-melanoma", {"ood_threshold": None}, nevus=0.61, melanoma=0.23)
    window = make_window(model)
    window.open_paths([str(images["lesion"])])
    return window, wait_for_result(window, images["lesion"])


def test_banner_for_benign_top_class_with_melanoma_above_threshold(
    make_window, qtbot, wait_for_result, make_fixed_model, images
):
    window, prediction = _hidden_melanoma(make_window, wait_for_result, make_fixed_model, images)
    panel = window.result_panel
    assert prediction.top_class.name == "nevus" and prediction.review_advised
    banner = panel.alert_banner
    assert banner.isVisible()
    words = panel.alert_text.text()
    assert words.startswith("Review advised: melanoma 23 % ≥ alert threshold 12 %")
    assert "Most likely: nevus 61 %" in words
    assert "91 % sensitivity on validation" in words  # the card's validated figure
    shown = [label.text() for label in panel.findChildren(QLabel) if label.isVisible()]
    assert sum("melanoma 90 %" in text for text in shown) == 1  # the operating point, said once
    assert panel.operating_point.text().startswith("Alert operating point: ")
    # above the chart, in the malignant colour
    assert banner.geometry().bottom() < panel.chart.mapTo(panel, panel.chart.rect().topLeft()).y()
    assert "#c62828" in banner.styleSheet().lower()
    colour = banner.grab().toImage().pixelColor(3, banner.height() // 2)
    assert (colour.red(), colour.green(), colour.blue()) == (0xC6, 0x28, 0x28)
    rows = {r.name: r for r in panel.chart.rows()}
    assert rows["melanoma"].threshold == pytest.approx(0.12) and rows["melanoma"].alerted
    assert rows["nevus"].threshold is None and rows["nevus"].top
    # every flagged class shows its threshold marker, reached or not
    for name in ("basal cell carcinoma", "squamous cell carcinoma", "actinic keratosis"):
        assert rows[name].threshold == pytest.approx(0.2) and not rows[name].alerted
    assert "alert threshold 12 % reached" in panel.chart.accessibleDescription()
    assert "see the alert above" in panel.summary.text()
    assert not panel.no_thresholds.isVisible()
    assert window.image_list.item(0).text().startswith("⚠")

    # a stricter operating point the card offers (80 %: threshold 30 %) clears the alert
    window.apply_settings(0.8, "auto")
    assert not banner.isVisible() and not window.current_prediction().review_advised
    assert {r.name: r for r in panel.chart.rows()}["melanoma"].threshold == pytest.approx(0.3)
    assert "80 % target sensitivity" in panel.operating_point.text()
    assert window.settings.sensitivity() == pytest.approx(0.8)


def test_no_banner_below_threshold(make_window, qtbot, wait_for_result, make_fixed_model, images):
    model = make_fixed_model("low-melanoma", {"ood_threshold": None}, nevus=0.8, melanoma=0.05)
    window = make_window(model)
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    assert not prediction.review_advised
    assert not window.result_panel.alert_banner.isVisible()
    assert window.result_panel.alert_text.text() == ""
    rows = {r.name: r for r in window.result_panel.chart.rows()}
    assert rows["melanoma"].threshold == pytest.approx(0.12) and not rows["melanoma"].alerted


def test_model_without_operating_points_says_so_plainly(
    make_window, qtbot, wait_for_result, make_fixed_model, images
):
    model = make_fixed_model(
        "no-points", {"ood_threshold": None, "operating_points": False}, nevus=0.61, melanoma=0.23
    )
    window = make_window(model)
    panel = window.result_panel
    assert panel.no_thresholds.isVisible()  # said as soon as the model is loaded
    assert panel.no_thresholds.text() == NO_THRESHOLDS_TEXT
    window.open_paths([str(images["lesion"])])
    prediction = wait_for_result(window, images["lesion"])
    assert not prediction.alerts_available
    assert not panel.alert_banner.isVisible()
    assert all(r.threshold is None for r in panel.chart.rows())
    assert panel.no_thresholds.isVisible()
    dialog = SettingsDialog(window.classifier.card, None, "auto", window)
    assert not dialog.operating_combo.isEnabled()
    assert "no validated alert threshold" in dialog.operating_details.text()


def test_settings_offers_only_the_cards_operating_points(make_window, make_fixed_model):
    model = make_fixed_model("points", {"ood_threshold": None}, nevus=0.61, melanoma=0.23)
    window = make_window(model)
    card = window.classifier.card
    dialog = SettingsDialog(card, 0.95, "cpu", window)
    offered = [dialog.operating_combo.itemData(i) for i in range(dialog.operating_combo.count())]
    assert offered == [None, *card.available_sensitivities()]
    assert dialog.sensitivity() == pytest.approx(0.95)
    assert dialog.provider() == "cpu"
    assert "Melanoma" in dialog.operating_details.text() and "5 %" in dialog.operating_details.text()
    dialog.operating_combo.setCurrentIndex(0)
    assert dialog.sensitivity() is None



def test_list_marker_follows_the_operating_point(make_window, wait_for_result, make_fixed_model,
                                                 images):
    """Review finding: the ⚠ in the image list stayed after a stricter operating point."""
    window, _ = _hidden_melanoma(make_window, wait_for_result, make_fixed_model, images)
    entry = window._current_entry()
    assert entry.item.text().startswith("⚠")
    window.set_sensitivity(0.8)  # melanoma threshold 0.30 > 0.23
    assert not entry.item.text().startswith("⚠")
    window.set_sensitivity(0.9)
    assert entry.item.text().startswith("⚠")


def test_heatmap_starts_on_the_alert_class_not_the_benign_top_class(
    make_window, qtbot, wait_for_result, make_fixed_model, images
):
    window, prediction = _hidden_melanoma(make_window, wait_for_result, make_fixed_model, images)
    panel = window.result_panel
    assert prediction.top_class.name == "nevus" and prediction.review_advised
    assert panel.chart.selected_class() == "melanoma"
    assert panel.heatmap_class_label.text().startswith(
        "Heat map: where the model looked for melanoma (alert: review advised)")
    assert window._heatmap_index(prediction) == prediction.class_index("melanoma")
    # the default follows the operating point: no alert at 80 %, so the top class
    window.apply_settings(0.8, "auto")
    assert panel.chart.selected_class() == "nevus"
    assert panel.heatmap_class_label.text().startswith("Heat map: where the model looked for nevus (top class)")
    window.apply_settings(0.9, "auto")
    assert panel.chart.selected_class() == "melanoma"
    # the user can still pick any class, and the choice stays
    rows = panel.chart.rows()
    nevus = next(i for i, r in enumerate(rows) if r.name == "nevus")
    qtbot.mouseClick(panel.chart, Qt.MouseButton.LeftButton,
                     pos=panel.chart.bar_rect(nevus).center().toPoint())
    assert panel.chart.selected_class() == "nevus"
    assert window._heatmap_index(prediction) == prediction.class_index("nevus")
    assert panel.heatmap_class_label.text().startswith("Heat map: where the model looked for nevus (top class)")


def test_an_operating_point_the_card_lacks_is_said_not_drawn(
    make_window, qtbot, wait_for_result, make_fixed_model, images
):
    """The chart once swallowed a card error that the report raised: both now refuse."""
    window, prediction = _hidden_melanoma(make_window, wait_for_result, make_fixed_model, images)
    panel = window.result_panel
    panel.sensitivity = 0.42  # not an operating point of the card
    panel.show_prediction(prediction)
    assert panel.chart.rows() == []
    assert "no validated operating point at sensitivity 0.42" in panel.summary.text()


def test_the_chart_legend_wraps_between_entries_never_inside_one():
    from skindesk.gui.result_panel import legend_html

    entries = legend_html().split(" &nbsp; ")
    assert len(entries) == 5
    for entry in entries:  # inside an entry every space is non-breaking (bar the tag's own)
        assert " " not in entry.replace("<span style", "<span_style")
