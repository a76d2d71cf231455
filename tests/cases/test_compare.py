"""The change between two visits in words, and melanoma's probability over visits."""

from __future__ import annotations

from datetime import date

from skindesk.cases.compare import change_in_words, compare_visits, probability_series
from skindesk.cases.records import LesionRecord, VisitRecord


def test_rise_with_a_new_alert_is_said_plainly(result) -> None:
    words = change_in_words(result(melanoma=0.12), result(melanoma=0.41, alerts=("melanoma",)))
    assert words.startswith("melanoma 12 % → 41 %, alert now raised")
    assert "different models" not in words


def test_alert_gone_and_top_class_change(result) -> None:
    words = change_in_words(result(melanoma=0.7, alerts=("melanoma",)), result(melanoma=0.1))
    assert "melanoma 70 % → 10 %, alert no longer raised" in words
    assert "most likely now nevus (was melanoma)" in words


def test_close_values_are_never_shown_equal(result) -> None:
    words = change_in_words(result(melanoma=0.121), result(melanoma=0.124))
    assert words == "melanoma 12.1 % → 12.4 %"


def test_results_of_another_model_version_are_flagged(result) -> None:
    words = change_in_words(result(version="1.0"), result(version="2.0"))
    assert "results from different models (SkinDesk 1.0 → SkinDesk 2.0)" in words
    words = change_in_words(result(model_sha256="a" * 64), result(model_sha256="b" * 64))
    assert "different models" in words  # same name and version, other weights


def _visit(index: int, month: int, stored) -> VisitRecord:
    return VisitRecord(id=index, lesion_id=1, taken_on=date(2025, month, 1), date_source="exif",
                       dermatoscope="", image_sha256=str(index) * 64, original_name="",
                       results=(stored,) if stored else ())


def test_series_marks_results_from_another_model(result) -> None:
    lesion = LesionRecord(id=1, label="L", site=None, visits=(
        _visit(1, 1, result(melanoma=0.1, version="1.0")),
        _visit(2, 4, None),
        _visit(3, 7, result(melanoma=0.3, version="2.0", alerts=("melanoma",))),
    ))
    series = probability_series(lesion)
    assert [(p.taken_on.month, round(p.probability, 2), p.other_model, p.alert) for p in series] == [
        (1, 0.1, True, False), (7, 0.3, False, True)]
    assert "no result" in compare_visits(lesion.visits[0], lesion.visits[1])


def test_score_text_and_patient_heading(result) -> None:
    from skindesk.cases.compare import score_text
    from skindesk.cases.records import PatientRecord

    assert score_text(result(melanoma=0.41, alerts=("melanoma",))) == (
        "melanoma 41 %, most likely melanoma 41 % — ALERT: melanoma")
    assert score_text(result(melanoma=0.1)) == "melanoma 10 %, most likely nevus 45 %"
    assert score_text(None) == "no result"
    withheld = result(melanoma=0.1)
    withheld.flags["status"] = "not assessed: too dark"
    assert score_text(withheld).endswith("— NOT ASSESSED: TOO DARK")
    record = PatientRecord(uid="u", clinic_id="P-1", name="Ada", birth_year=1961, sex=None,
                           fitzpatrick=2, notes="")
    assert record.heading() == "P-1 — Ada, born 1961, Fitzpatrick 2"


def test_a_withheld_result_is_never_compared_silently(result) -> None:
    later = result(melanoma=0.41)
    later.flags["status"] = "not assessed: blurred"
    words = change_in_words(result(melanoma=0.12), later)
    assert words.endswith("the later result was withheld (not assessed: blurred): do not rely on it")
