"""'Not assessed' in the results: rows, CSV, JSON, table text, counts, old files, gate levels."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from skindesk.core.assessment import gate_levels, quality_limit_lines
from skindesk.core.classifier import Classifier
from skindesk.core.modelcard import ModelCard
from skindesk.core.result_schema import current_schema
from skindesk.core.results import (
    ModelInfo,
    ResultsFileError,
    TableRenderer,
    columns_for,
    count_rows,
    open_results_csv,
    row_from_csv_fields,
    row_from_prediction,
    row_to_csv_fields,
    rows_to_json,
)
from skindesk.core.wording import NOT_DERMOSCOPY

MELANOMA_ALERT = [0.02, 0.02, 0.02, 0.6, 0.3, 0.01, 0.01, 0.01, 0.01]


def _rows(classifier: Classifier, files: list[Path]):
    model = ModelInfo.from_classifier(classifier)
    return model, [row_from_prediction(str(f), classifier.predict_file(f), model) for f in files]


def test_gated_dark_and_normal_images_in_csv_json_and_table(
        fixed_probabilities_model, gate_card, dermoscopy_images, dark_photo) -> None:
    normal = Classifier(fixed_probabilities_model(MELANOMA_ALERT, gate_card()), provider="cpu")
    gated = Classifier(fixed_probabilities_model(MELANOMA_ALERT, gate_card(), name="gated.onnx",
                                                 out_of_distribution=True), provider="cpu")
    model, (plain, dark) = _rows(normal, [dermoscopy_images[0], dark_photo])
    _, (off,) = _rows(gated, [dermoscopy_images[0]])
    cells = {name: dict(zip(columns_for(model.class_names),
                            row_to_csv_fields(row, model.class_names)))
             for name, row in (("plain", plain), ("dark", dark), ("off", off))}
    assert [cells["off"][k] for k in ("out_of_distribution", "quality", "status",
                                          "review_advised", "alerts")] == [
        "true", "", "not assessed", "false", ""]
    assert [cells["dark"][k] for k in ("out_of_distribution", "quality", "status", "alerts")] == [
        "false", "too_dark", "not assessed", ""]
    assert [cells["plain"][k] for k in ("out_of_distribution", "quality", "status")] == [
        "false", "", "review advised"]
    assert cells["plain"]["alerts"].startswith("melanoma 60 %")

    document = json.loads(rows_to_json([plain, dark, off], model))["results"]
    assert [(r["out_of_distribution"], r["quality"], r["status"]) for r in document] == [
        (False, [], "review advised"), (False, ["too_dark"], "not assessed"),
        (True, [], "not assessed")]

    table = TableRenderer([r.file for r in (plain, dark, off)])
    assert "not assessed: the image is too dark to assess" in table.line(dark)
    assert "not assessed: this does not look like a dermoscopic image" in table.line(off)
    assert "melanoma" not in table.line(dark) and "nevus" not in table.line(off)
    assert "review advised: melanoma 60 %" in table.line(plain) and "YES" in table.line(plain)
    counts = count_rows([plain, dark, off])
    assert (counts.not_assessed, counts.review_advised) == (2, 1)
    assert "not assessed 2" in counts.describe(model.class_names)


def test_a_row_reads_back_with_its_quality_and_status(fixed_probabilities_model, gate_card,
                                                      dark_photo) -> None:
    classifier = Classifier(fixed_probabilities_model(MELANOMA_ALERT, gate_card()), provider="cpu")
    model, (row,) = _rows(classifier, [dark_photo])
    back = row_from_csv_fields(row_to_csv_fields(row, model.class_names), model.class_names)
    assert back.quality == ("too_dark",) and back.assessment.status == "not assessed"
    assert (back.out_of_distribution, back.alerts, back.review_advised) == (False, (), False)


def test_an_old_csv_without_the_new_columns_is_read_and_never_resumed(tmp_path: Path,
                                                                        test_model_path) -> None:
    classifier = Classifier(test_model_path, provider="cpu")
    model = ModelInfo.from_classifier(classifier)
    old_header = [c for c in columns_for(model.class_names) if c not in ("quality", "status")]
    record = {name: "" for name in old_header}
    record.update(file="a.jpg", top_class="nevus", top_probability="0.9", review_advised="false",
                  out_of_distribution="true", nevus="0.9", model=model.name,
                  model_version=model.version, operating_point=model.operating_point)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, old_header, lineterminator="\n")
    writer.writeheader()
    writer.writerow(record)
    row = current_schema().parse_record(record, model.class_names)
    assert row.quality == () and row.assessment.text == (
        "not assessed: " + NOT_DERMOSCOPY[0].lower() + NOT_DERMOSCOPY[1:])
    old = tmp_path / "old.csv"
    old.write_text(buffer.getvalue(), encoding="utf-8")
    with pytest.raises(ResultsFileError, match="earlier SkinDesk .*quality, status"):
        open_results_csv(old, model, resume=True)


def test_gate_levels_lenient_first_with_their_rates_and_quality_limits_in_words(gate_card) -> None:
    card = ModelCard.from_dict(gate_card())
    levels = gate_levels(card)
    assert [(lv.name, lv.default) for lv in levels] == [
        ("lenient", False), ("standard", True), ("strict", False)]
    assert levels[1].label == ("standard (default): flags 0.5 % of real dermoscopic images "
                               "(validation; 0.6 % on the test split)")
    assert gate_levels(ModelCard.from_dict(gate_card(levels=None))) == []
    lines = dict(quality_limit_lines(card.quality_limits))
    assert lines["too small"] == "the shorter side is under 64 pixels"
    assert "under 77 of 255" in lines["too dark"] and "12 %" in lines["too dark"]
    assert quality_limit_lines(None) == []
