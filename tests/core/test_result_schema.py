"""The one results schema: a new column is one edit, and every writer and reader follows it."""

from __future__ import annotations

import csv
import json

import pytest

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.result_schema import SCHEMA, AlertMark, ResultRow, parse_alerts
from skindesk.core.results import (
    ModelInfo,
    TableRenderer,
    columns_for,
    open_results_csv,
    read_results_csv,
    rows_to_json,
)
from skindesk.report.content import read_batch_csv, read_result_rows

CLASSES = tuple(row[0] for row in NINE_CLASSES)
MODEL = ModelInfo(CLASSES, "Test model", "1.0", "melanoma 90 % target sensitivity")


def _rows(row_type: type = ResultRow, **extra: float) -> list[ResultRow]:
    alert = AlertMark.of("melanoma", "Melanoma", 0.244, 0.093)
    return [
        row_type(file="a.jpg", top_class="nevus", top_probability=0.7,
                 probabilities={"nevus": 0.7, "melanoma": 0.244}, malignant=False,
                 review_advised=True, alerts=(alert,), uncertain=False,
                 out_of_distribution=False, operating_point=MODEL.operating_point,
                 model=MODEL.name, model_version=MODEL.version, **extra),
        row_type(file="b.jpg", error="empty file (0 bytes)", model=MODEL.name,
                 model_version=MODEL.version, operating_point=MODEL.operating_point),
    ]


def test_a_new_column_is_one_edit(sharpness_column, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "results.csv"
    writer, _ = open_results_csv(path, MODEL)
    with writer:
        for row in _rows(sharpness_column.row_type, sharpness=0.83):
            writer.write(row)
    # the CSV writer
    header, first, second = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert header == columns_for(CLASSES) and "sharpness" in header
    assert first[header.index("sharpness")] == "0.83" and second[header.index("sharpness")] == ""
    # the exact reader (resume) and the tolerant reader (batch report), in any column order
    assert [r.sharpness for r in read_results_csv(path, CLASSES).rows] == [0.83, None]
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([list(reversed(r)) for r in (header, first, second)])
    assert [r.sharpness for r in read_result_rows(shuffled)] == [0.83, None]
    assert read_batch_csv(shuffled).total == 2
    # JSON
    document = json.loads(rows_to_json(read_results_csv(path, CLASSES).rows, MODEL))
    assert [r["sharpness"] for r in document["results"]] == [0.83, None]
    # (the app's batch table: tests/gui/test_batch_view.py)


def test_without_the_extension_the_column_is_absent() -> None:
    assert "sharpness" not in columns_for(CLASSES)
    assert [c.label for c in SCHEMA.table_columns()] == [
        "File", "Top class", "Probability", "Malignant", "Alerts", "Uncertain", "Status", "Error"]


def test_alerts_read_in_words_also_from_older_files() -> None:
    (old,) = parse_alerts("melanoma:0.244>=0.093")
    (new,) = parse_alerts("melanoma 24 % ≥ alert threshold 9 %")
    assert old.text == new.text == "melanoma 24 % ≥ alert threshold 9 %"
    assert (old.class_name, old.probability, old.threshold) == ("melanoma", 0.244, 0.093)
    assert (new.class_name, new.probability, new.threshold) == ("melanoma", 0.24, 0.09)
    assert parse_alerts("") == ()


def test_the_table_never_shortens_a_path() -> None:
    long = "/clinic/" + "very-long-folder-name/" * 6 + "ISIC_0025821.jpg"
    table = TableRenderer(["a.jpg", long])
    row = _rows()[0]
    assert long in table.line(ResultRow(**{**row.__dict__, "file": long}))


def test_a_bad_cell_names_the_line_and_column(tmp_path) -> None:  # noqa: ANN001
    from skindesk.report import ReportError

    path = tmp_path / "bad.csv"
    path.write_text("file,top_class,top_probability,uncertain\nx.jpg,nevus,0.7,maybe\n",
                    encoding="utf-8")
    with pytest.raises(ReportError, match=r"bad.csv, line 2: column 'uncertain': not true or false"):
        read_result_rows(path)
