"""What a lesion report shows: the lesion's history, visit by visit (no Qt).

``build_lesion_history`` gathers, from a ``CaseStore``, one ``HistoryRow`` per visit (oldest
first: date, thumbnail, melanoma probability, most likely class, alerts, the model that scored
it — marked when it is not the newest visit's — and the clinician's decision), the change from
the first to the last visit in words, and the melanoma series for the plot. ``history_pdf``
draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from skindesk.cases import CaseStore
from skindesk.cases.compare import FOCUS_CLASS, SeriesPoint, compare_visits, model_label, probability_series
from skindesk.core.formatting import percent
from skindesk.core.modelcard import DEFAULT_DISCLAIMER
from skindesk.core.wording import LIMITATION

from .content import ReportError

__all__ = ["HistoryRow", "LesionHistory", "build_lesion_history"]


@dataclass(frozen=True)
class HistoryRow:
    """One visit of the lesion as the report lists it."""

    taken_on: str
    thumbnail: bytes | None
    melanoma: str
    most_likely: str
    alerts: str
    model: str
    other_model: bool
    decision: str


@dataclass
class LesionHistory:
    """Everything a lesion report shows, ready to draw."""

    patient_id: str
    patient_name: str
    birth_year: str
    lesion: str
    site: str
    histopathology: str
    rows: list[HistoryRow]
    change: str
    series: list[SeriesPoint]
    created_at: datetime
    clinic: str = ""
    disclaimer: str = DEFAULT_DISCLAIMER
    limitation: str = LIMITATION
    notes: list[str] = field(default_factory=list)


def build_lesion_history(store: CaseStore, clinic_id: str, lesion: str | int,
                         clinic: str = "") -> LesionHistory:
    """The history of ``lesion`` (its label or id) of patient ``clinic_id``.

    Raises:
        ReportError: no such lesion (``PatientNotFound`` for an unknown patient).
    """
    record = store.patient(clinic_id)
    try:
        chosen = record.lesion(lesion)
    except KeyError:
        labels = ", ".join(repr(l.label) for l in record.lesions) or "none"
        raise ReportError(f"patient {clinic_id} has no lesion {lesion!r} (lesions: {labels})") from None
    thumbs = store.thumbnails([v.image_sha256 for v in chosen.visits])
    newest = next((v.latest.model_key() for v in reversed(chosen.visits) if v.latest), None)
    rows = []
    for visit in chosen.visits:
        latest = visit.latest
        if latest is None:
            rows.append(HistoryRow(visit.taken_on.isoformat(), thumbs.get(visit.image_sha256),
                                   "—", "no result", "", "", False, visit.decision_text()))
            continue
        top = latest.top_class
        status = str(latest.flags.get("status") or "")
        rows.append(HistoryRow(
            taken_on=visit.taken_on.isoformat(),
            thumbnail=thumbs.get(visit.image_sha256),
            melanoma=percent(latest.probabilities.get(FOCUS_CLASS)),
            most_likely=f"{top} {percent(latest.probabilities.get(top))}"
            + (f" ({status})" if status.startswith("not assessed") else ""),
            alerts=", ".join(latest.alert_classes) or "none",
            model=model_label(latest),
            other_model=latest.model_key() != newest,
            decision=visit.decision_text(),
        ))
    change = (f"{chosen.visits[0].taken_on.isoformat()} → {chosen.visits[-1].taken_on.isoformat()}: "
              + compare_visits(chosen.visits[0], chosen.visits[-1])) if len(chosen.visits) >= 2 else \
        "Only one visit so far: nothing to compare yet."
    notes = []
    if any(row.other_model for row in rows):
        notes.append("Rows marked * were scored by another model version than the newest visit; "
                     "their figures are not directly comparable.")
    histopathology = chosen.histopathology or ""
    if histopathology and chosen.histopathology_on:
        histopathology += f" ({chosen.histopathology_on.isoformat()})"
    return LesionHistory(
        patient_id=record.clinic_id, patient_name=record.name or "",
        birth_year=str(record.birth_year or ""), lesion=chosen.label, site=chosen.site or "",
        histopathology=histopathology, rows=rows, change=change,
        series=probability_series(chosen), created_at=datetime.now().astimezone(),
        clinic=clinic, notes=notes)
