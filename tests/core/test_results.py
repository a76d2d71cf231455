"""Result rows: CSV round trip, crash-safe writing, resume repair, refusal to overwrite, renderers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.classifier import Classifier
from skindesk.core.results import (
    AlertMark,
    HEAD_COLUMNS,
    ModelInfo,
    ResultRow,
    ResultsFileError,
    TableRenderer,
    columns_for,
    count_rows,
    error_row,
    open_results_csv,
    read_results_csv,
    row_from_csv_fields,
    row_from_prediction,
    row_to_csv_fields,
    row_to_json,
    rows_to_json,
)

CLASSES = tuple(row[0] for row in NINE_CLASSES)
MODEL = ModelInfo(CLASSES, "Test model", "1.0", "melanoma 90 %, others 85 % target sensitivity")


def _row(name: str, top: str = "nevus", review: bool = False) -> ResultRow:
    probs = {c: 0.0 for c in CLASSES}
    probs[top] = 0.75
    probs["melanoma" if top != "melanoma" else "nevus"] = 0.25
    return ResultRow(
        file=name,
        top_class=top,
        top_probability=0.75,
        probabilities=probs,
        malignant=top == "melanoma",
        review_advised=review,
        alerts=(AlertMark.of("melanoma", "Melanoma", 0.25, 0.12),) if review else (),
        uncertain=False,
        out_of_distribution=False,
        ood_score=-1.5,
        operating_point=MODEL.operating_point,
        model=MODEL.name,
        model_version=MODEL.version,
    )


def test_csv_fields_round_trip_every_column():
    for row in (_row("a, \"quoted\".jpg", review=True), error_row("b.jpg", "empty file", MODEL)):
        fields = row_to_csv_fields(row, CLASSES)
        assert len(fields) == len(columns_for(CLASSES))
        assert row_from_csv_fields(fields, CLASSES) == row
    fields = row_to_csv_fields(_row("c.jpg", review=True), CLASSES)
    header = columns_for(CLASSES)
    assert fields[header.index("review_advised")] == "true"
    assert fields[header.index("alerts")] == "melanoma 25 % ≥ alert threshold 12 %"
    assert fields[header.index("melanoma")] == "0.250000"
    with pytest.raises(ValueError):
        row_from_csv_fields(fields[:-1], CLASSES)


def test_writer_keeps_every_row_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "results.csv"
    writer, state = open_results_csv(path, MODEL)
    assert state is None
    for index in range(3):
        writer.write(_row(f"{index}.jpg"))
        # flushed at once: another reader sees the row before close
        assert read_results_csv(path, CLASSES).rows[-1].file == f"{index}.jpg"
    writer.close()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == columns_for(CLASSES) and len(records) == 4

    with pytest.raises(ResultsFileError, match="already exists.*--resume.*--overwrite"):
        open_results_csv(path, MODEL)
    assert len(read_results_csv(path).rows) == 3  # untouched

    writer, _ = open_results_csv(path, MODEL, overwrite=True)
    writer.close()
    assert read_results_csv(path).rows == []
    with pytest.raises(ResultsFileError, match="cannot be used together"):
        open_results_csv(path, MODEL, resume=True, overwrite=True)


@pytest.mark.parametrize(
    "tail",
    [
        b"3.jpg,nevus,0.75",  # killed in the middle of a line
        b'"4, partial.jpg,nevus',  # inside a quoted field
        b"\x00" * 64,  # power cut: zeros after the last good row
        b"5.jpg,nevus,not-a-number" + b",x" * 20 + b"\n",  # a complete but garbled line
    ],
)
def test_resume_drops_a_damaged_tail_and_appends(tmp_path, tail):
    path = tmp_path / "results.csv"
    writer, _ = open_results_csv(path, MODEL)
    for index in range(3):
        writer.write(_row(f"{index}.jpg"))
    writer.close()
    with open(path, "ab") as handle:
        handle.write(tail)
    state = read_results_csv(path, CLASSES)
    assert [r.file for r in state.rows] == ["0.jpg", "1.jpg", "2.jpg"]
    assert state.dropped_lines == 1

    writer, state = open_results_csv(path, MODEL, resume=True)
    assert {"0.jpg", "1.jpg", "2.jpg"} <= state.done_files
    writer.write(_row("3.jpg"))
    writer.close()
    again = read_results_csv(path, CLASSES)
    assert [r.file for r in again.rows] == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]
    assert again.dropped_lines == 0
    assert path.read_bytes().count("\ufeff".encode()) == 1  # one BOM, at the start


def test_resume_of_a_file_killed_before_its_header_was_complete(tmp_path):
    path = tmp_path / "results.csv"
    path.write_bytes(b"\xef\xbb\xbffile,top_cl")
    writer, state = open_results_csv(path, MODEL, resume=True)
    writer.write(_row("a.jpg"))
    writer.close()
    assert [r.file for r in read_results_csv(path, CLASSES).rows] == ["a.jpg"]


def test_resume_refuses_other_files_models_and_operating_points(tmp_path):
    other = tmp_path / "notes.csv"
    other.write_text("name,age\nx,1\n", encoding="utf-8")
    with pytest.raises(ResultsFileError, match="not a SkinDesk results file"):
        open_results_csv(other, MODEL, resume=True)
    assert other.read_text(encoding="utf-8") == "name,age\nx,1\n"

    path = tmp_path / "results.csv"
    writer, _ = open_results_csv(path, MODEL)
    writer.write(_row("a.jpg"))
    writer.close()
    before = path.read_bytes()
    newer = ModelInfo(CLASSES, "Test model", "2.0", MODEL.operating_point)
    with pytest.raises(ResultsFileError, match="mix two models"):
        open_results_csv(path, newer, resume=True)
    stricter = ModelInfo(CLASSES, "Test model", "1.0", "95 % target sensitivity for every flagged class")
    with pytest.raises(ResultsFileError, match="operating point"):
        open_results_csv(path, stricter, resume=True)
    fewer = ModelInfo(CLASSES[:3], "Test model", "1.0", MODEL.operating_point)
    with pytest.raises(ResultsFileError, match="other classes"):
        open_results_csv(path, fewer, resume=True)
    gated = ModelInfo(CLASSES, "Test model", "1.0", MODEL.operating_point, gate_level="strict")
    with pytest.raises(ResultsFileError, match="image-gate strictness '', not 'strict'"):
        open_results_csv(path, gated, resume=True)
    assert path.read_bytes() == before


def test_rows_record_the_gate_level_they_were_judged_at(make_test_model, gate_card, tmp_path):
    classifier = Classifier(make_test_model(card=gate_card()), provider="cpu", threads=1)
    levels = classifier.card.ood_levels
    default = ModelInfo.from_classifier(classifier)
    chosen = next(name for name in levels if name != default.gate_level)
    classifier.set_gate_strictness(chosen)
    model = ModelInfo.from_classifier(classifier)
    assert default.gate_level and model.gate_level == chosen
    row = row_from_prediction("x.jpg", classifier.predict_arrays(np.zeros((1, *classifier.input_shape)))[0], model)
    path = tmp_path / "results.csv"
    writer, _ = open_results_csv(path, model)
    writer.write(row)
    writer.write(error_row("y.jpg", "empty file (0 bytes)", model))
    writer.close()
    assert [r.gate_level for r in read_results_csv(path, model.class_names).rows] == [chosen, chosen]
    assert json.loads(rows_to_json([row], model))["gate_level"] == chosen
    with pytest.raises(ResultsFileError, match=f"strictness '{chosen}', not '{default.gate_level}'"):
        open_results_csv(path, default, resume=True)


def test_benign_top_class_with_melanoma_above_threshold_is_review_advised(
    fixed_probabilities_model,
):
    probabilities = np.full(9, 0.02)
    probabilities[CLASSES.index("nevus")] = 0.70
    probabilities[CLASSES.index("melanoma")] = 0.16  # above 0.12 (90 %), below 0.20 / 0.30
    probabilities /= probabilities.sum()
    classifier = Classifier(fixed_probabilities_model(probabilities), provider="cpu", threads=1)
    model = ModelInfo.from_classifier(classifier)
    row = row_from_prediction("x.jpg", classifier.predict_arrays(np.zeros((1, 32, 32, 3)))[0], model)
    assert row.top_class == "nevus" and row.malignant is False
    assert row.review_advised is True
    assert row.alert_text == "melanoma 16 % ≥ alert threshold 12 %"
    fields = dict(zip(columns_for(model.class_names), row_to_csv_fields(row, model.class_names)))
    assert fields["review_advised"] == "true" and fields["alerts"] == "melanoma 16 % ≥ alert threshold 12 %"
    document = json.loads(rows_to_json([row], model, top_k=2))
    result = document["results"][0]
    assert result["review_advised"] is True
    (alert,) = result["alerts"]
    assert alert["probability"] == pytest.approx(0.16, abs=1e-5) and alert["threshold"] == 0.12
    assert (alert["class"], alert["text"]) == ("melanoma", "melanoma 16 % ≥ alert threshold 12 %")
    assert [k["class"] for k in result["top_k"]] == ["nevus", "melanoma"]
    assert "YES" in TableRenderer(["x.jpg"]).line(row)

    # A stricter-threshold operating point (80 %: melanoma threshold 0.30) raises no alert.
    classifier.set_sensitivity(0.8)
    model = ModelInfo.from_classifier(classifier)
    row = row_from_prediction("x.jpg", classifier.predict_arrays(np.zeros((1, 32, 32, 3)))[0], model)
    assert row.review_advised is False and row.alerts == ()
    assert "80 %" in row.operating_point


def test_counts_json_and_table_for_error_rows():
    rows = [_row("a.jpg", review=True), _row("b.jpg", top="melanoma"), error_row("c.jpg", "empty file (0 bytes)", MODEL)]
    counts = count_rows(rows)
    assert (counts.total, counts.classified, counts.errors) == (3, 2, 1)
    assert counts.per_class == {"nevus": 1, "melanoma": 1}
    assert (counts.review_advised, counts.malignant, counts.out_of_distribution) == (1, 1, 0)
    assert "review advised 1" in counts.describe(CLASSES)
    as_json = row_to_json(rows[2])
    assert as_json["error"] == "empty file (0 bytes)" and as_json["review_advised"] is None
    line = TableRenderer([r.file for r in rows]).line(rows[2])
    assert "ERROR: empty file (0 bytes)" in line


def test_class_names_that_clash_with_columns_are_refused():
    with pytest.raises(ValueError, match="clash"):
        columns_for([*CLASSES, HEAD_COLUMNS[0]])
