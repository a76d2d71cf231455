"""Filing existing results: a real classifier's prediction, batch rows, a CSV mapping file."""

from __future__ import annotations

from datetime import date

import pytest

from skindesk.cases.attach import (Assignment, MappingError, attach_rows, read_mapping,
                                   result_from_prediction)
from skindesk.core.classifier import Classifier
from skindesk.core.results import ModelInfo, error_row, row_from_prediction, row_to_json


@pytest.fixture
def classified(image_folder, test_model_path):
    classifier = Classifier(test_model_path, provider="cpu")
    paths = sorted(image_folder(count=3).iterdir())
    info = ModelInfo.from_classifier(classifier)
    rows = [row_from_prediction(str(p), classifier.predict_file(p), info) for p in paths]
    return classifier, paths, rows


def test_a_prediction_keeps_its_model_identity_and_every_probability(classified) -> None:
    classifier, paths, _ = classified
    prediction = classifier.predict_file(paths[0])
    stored = result_from_prediction(prediction, classifier, str(paths[0]))
    assert stored.model_sha256 == classifier.sha256 and len(stored.model_sha256) == 64
    assert (stored.model_name, stored.model_version) == (classifier.card.name, classifier.card.version)
    assert stored.probabilities == pytest.approx(prediction.as_dict())
    assert stored.alert_classes == tuple(a.class_name for a in prediction.alerts)
    assert stored.flags["uncertain"] == prediction.uncertain
    row = row_from_prediction(str(paths[0]), prediction, ModelInfo.from_classifier(classifier))
    assert stored.flags["status"] == row_to_json(row)["status"] != ""
    assert stored.flags["quality"] == list(row.quality)


def test_batch_rows_go_under_one_chosen_patient_and_lesion(store, classified) -> None:
    classifier, paths, rows = classified
    broken = error_row(str(paths[0].with_name("broken.jpg")), "truncated", ModelInfo.from_classifier(classifier))
    report = attach_rows(store, [*rows, broken], Assignment("P-B", "back", "posterior torso"),
                         classifier.sha256)
    assert (report.added, report.already) == (3, 0)
    assert report.problems == [f"{broken.file}: not classified (truncated)"]
    lesion = store.patient("P-B").lesion("back")
    assert lesion.site == "posterior torso" and len(lesion.visits) == 3
    again = attach_rows(store, rows, Assignment("P-B", "back"), classifier.sha256)
    assert (again.added, again.already) == (0, 3)


def test_a_mapping_file_sends_each_row_to_its_patient(store, classified, tmp_path) -> None:
    classifier, paths, rows = classified
    mapping = tmp_path / "map.csv"
    mapping.write_text("file,patient_id,lesion,site,date\n"
                       f"{paths[0]},P-1,arm,upper extremity,2025-04-01\n"
                       f"{paths[1].name},P-2,leg,,\n")
    report = attach_rows(store, rows, read_mapping(mapping), classifier.sha256)
    assert report.added == 2 and report.unassigned == [str(paths[2])]
    visit = store.patient("P-1").lesion("arm").visits[0]
    assert (visit.taken_on, visit.date_source) == (date(2025, 4, 1), "entered")
    assert store.patient("P-2").lesion("leg").visits


@pytest.mark.parametrize("content, problem", [
    ("name,lesion\nx,y\n", "missing: file, patient_id"),
    ("file,patient_id,site\na.jpg,P,elbow\n", "line 2: unknown anatomical site"),
    ("file,patient_id,date\na.jpg,P,1.2.2025\n", "line 2: '1.2.2025' is not a date"),
    ("file,patient_id\na.jpg,\n", "line 2: no patient_id"),
    ("file,patient_id\n", "no rows"),
])
def test_bad_mapping_files_are_named_with_the_line(tmp_path, content, problem) -> None:
    mapping = tmp_path / "m.csv"
    mapping.write_text(content)
    with pytest.raises(MappingError, match=problem):
        read_mapping(mapping)
