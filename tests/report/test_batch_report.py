"""Batch reports from a results CSV written by ``skindesk.core.results``: order, counts, pages."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.result_schema import parse_alerts
from skindesk.core.results import ResultRow, columns_for, csv_line, row_to_csv_fields
from skindesk.report import ReportError, read_batch_csv
from skindesk.report.pdf import write_batch_report_pdf

NAMES = tuple(row[0] for row in NINE_CLASSES)


def _row(file: str, top: str, p: float, **flags) -> ResultRow:  # noqa: ANN003
    top_info = next(r for r in NINE_CLASSES if r[0] == top)
    return ResultRow(
        file=file, top_class=top, top_probability=p, probabilities={top: p},
        malignant=top_info[2] or top_info[3], review_advised=flags.get("review", False),
        alerts=parse_alerts("; ".join(flags.get("alerts", ()))),  # also older files' form
        uncertain=flags.get("uncertain", False),
        out_of_distribution=flags.get("ood", False), operating_point="melanoma 90 %",
        gate_level=flags.get("gate_level", "standard"),
        model="SkinDesk test model", model_version="0.0-test",
    )


def _write(path: Path, rows: list[ResultRow]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(csv_line(columns_for(NAMES)))
        for row in rows:
            handle.write(csv_line(row_to_csv_fields(row, NAMES)))
    return path


@pytest.fixture
def results_csv(tmp_path: Path) -> Path:
    rows = [
        _row("a_plain_nevus.jpg", "nevus", 0.9),
        _row("b_uncertain.jpg", "nevus", 0.4, uncertain=True),
        ResultRow(file="c_broken.jpg", error="truncated or corrupt image data"),
        _row("d_hidden_melanoma.jpg", "nevus", 0.6, review=True, alerts=["melanoma:0.23>=0.12"]),
        _row("e_bcc.jpg", "basal cell carcinoma", 0.7, review=True,
             alerts=["basal cell carcinoma:0.70>=0.20"]),
        _row("f_another_nevus.jpg", "nevus", 0.8),
    ]
    return _write(tmp_path / "results.csv", rows)


def test_rows_needing_attention_come_first(results_csv: Path) -> None:
    content = read_batch_csv(results_csv)
    assert [r.file for r in content.rows] == [
        "d_hidden_melanoma.jpg", "e_bcc.jpg", "b_uncertain.jpg", "c_broken.jpg",
        "a_plain_nevus.jpg", "f_another_nevus.jpg",
    ]
    assert dict(content.class_counts) == {"Nevus": 4, "Basal cell carcinoma": 1}
    assert content.count("review_advised") == 2
    assert content.model == "SkinDesk test model 0.0-test"


def test_column_order_does_not_matter(results_csv: Path, tmp_path: Path) -> None:
    with open(results_csv, newline="", encoding="utf-8") as handle:
        records = list(csv.reader(handle))
    shuffled = tmp_path / "shuffled.csv"
    with open(shuffled, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([list(reversed(r)) for r in records])
    assert [r.file for r in read_batch_csv(shuffled).rows] == [
        r.file for r in read_batch_csv(results_csv).rows
    ]


def test_batch_pdf_lists_every_file_in_review_order(results_csv: Path, tmp_path: Path, pdf) -> None:  # noqa: ANN001
    out = write_batch_report_pdf(read_batch_csv(results_csv, clinic="Klinik Łódź"),
                                 tmp_path / "batch.pdf")
    text = pdf.text(out)
    positions = [text.index(name) for name in (
        "d_hidden_melanoma.jpg", "e_bcc.jpg", "b_uncertain.jpg", "c_broken.jpg",
        "a_plain_nevus.jpg", "f_another_nevus.jpg")]
    assert positions == sorted(positions)
    assert "Klinik Łódź" in text
    assert "REVIEW ADVISED" in text and "melanoma 23 % ≥ alert threshold 12 %" in text and ">=" not in text
    assert "truncated or corrupt image data" in text
    assert "2 review advised" in text
    assert "Decision support, not a diagnosis." in text
    assert "Image gate strictness" in text and "standard" in text


def test_the_report_names_every_gate_level_its_rows_were_judged_at(tmp_path: Path) -> None:
    rows = [_row("a.jpg", "nevus", 0.9), _row("b.jpg", "nevus", 0.9, gate_level="strict"),
            _row("c.jpg", "nevus", 0.9, gate_level="strict")]
    assert read_batch_csv(_write(tmp_path / "r.csv", rows)).gate_level == "strict; standard"


def test_a_long_batch_runs_over_several_numbered_pages(tmp_path: Path, pdf) -> None:  # noqa: ANN001
    rows = [_row(f"img_{i:03d}.jpg", "nevus", 0.9) for i in range(120)]
    rows.append(_row("zz_melanoma.jpg", "melanoma", 0.8, review=True, alerts=["melanoma:0.80>=0.12"]))
    out = write_batch_report_pdf(read_batch_csv(_write(tmp_path / "many.csv", rows)),
                                 tmp_path / "many.pdf", paper="letter")
    pages = int(pdf.info(out)["Pages"])
    assert pages >= 3
    text = pdf.text(out)
    assert f"Page {pages} of {pages}" in text
    assert text.index("zz_melanoma.jpg") < text.index("img_000.jpg")  # flagged first
    assert "img_119.jpg" in text


@pytest.mark.parametrize("body, problem", [(None, "file not found"), ("a,b\n1,2\n", "no 'file' column"),
                                           ("file,top_class\n", "lists no files")])
def test_bad_csv_files_are_named(tmp_path: Path, body, problem) -> None:  # noqa: ANN001
    path = tmp_path / "bad.csv"
    if body is not None:
        path.write_text(body, encoding="utf-8")
    with pytest.raises(ReportError, match=problem):
        read_batch_csv(path)


def test_class_shares_are_of_classified_files_and_unreadable_ones_are_counted_apart(
    results_csv: Path, tmp_path: Path, pdf  # noqa: ANN001
) -> None:
    content = read_batch_csv(results_csv)
    assert (content.total, content.classified) == (6, 5)
    assert content.class_shares() == [("Nevus", 4, 0.8), ("Basal cell carcinoma", 1, 0.2)]
    text = pdf.text(write_batch_report_pdf(content, tmp_path / "shares.pdf"))
    assert "Nevus 4 80 %" in text and "Basal cell carcinoma 1 20 %" in text  # not 67 % and 17 %
    assert "6 (5 assessed, 0 not assessed, 1 not analysed)" in text
    assert "shares of the 5 assessed files (1 not analysed, not counted)" in text
    assert "1 not analysed (unreadable or unclassified)" in text


def test_a_batch_with_no_readable_file_has_no_shares(tmp_path: Path, pdf) -> None:  # noqa: ANN001
    rows = [ResultRow(file="x.jpg", error="cannot identify image file"),
            ResultRow(file="y.jpg", error="empty file")]
    content = read_batch_csv(_write(tmp_path / "broken.csv", rows))
    assert (content.total, content.classified, content.class_shares()) == (2, 0, [])
    text = pdf.text(write_batch_report_pdf(content, tmp_path / "broken.pdf"))
    assert "2 (0 assessed, 0 not assessed, 2 not analysed)" in text and "Top class counts" not in text
