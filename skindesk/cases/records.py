"""Plain, read-only records the store hands out (no database objects leak to the CLI or app).

``StoredResult`` is one model result as the store keeps it; ``stored_result`` builds it from a
core ``ResultRow`` (the one result schema of ``skindesk.core.results``) plus the model's
content sha256, so single and batch results enter the store the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..core.results import ResultRow, row_to_json

__all__ = [
    "StoredResult",
    "stored_result",
    "VisitRecord",
    "LesionRecord",
    "PatientSummary",
    "PatientRecord",
    "AuditRecord",
    "AddOutcome",
]


@dataclass(frozen=True)
class StoredResult:
    """A model's result for one visit image."""

    model_name: str
    model_version: str
    model_sha256: str
    top_class: str
    probabilities: dict[str, float]
    alerts: list[dict[str, Any]] = field(default_factory=list)
    operating_point: str = ""
    flags: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    id: int | None = None

    @property
    def alert_classes(self) -> tuple[str, ...]:
        return tuple(str(a.get("class", "")) for a in self.alerts if a.get("class"))

    def model_key(self) -> tuple[str, str, str]:
        """What tells two results' models apart: name, version and content hash."""
        return (self.model_name, self.model_version, self.model_sha256)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": {"name": self.model_name, "version": self.model_version,
                      "sha256": self.model_sha256},
            "top_class": self.top_class,
            "probabilities": dict(self.probabilities),
            "alerts": list(self.alerts),
            "operating_point": self.operating_point,
            "flags": dict(self.flags),
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


def stored_result(
    row: ResultRow, model_sha256: str, quality: dict[str, Any] | None = None
) -> StoredResult:
    """The store's form of a classified ``ResultRow`` (ValueError for a row with an error).

    The flags keep the model's uncertain / out-of-distribution verdicts, the quality gate's codes
    and the row's status (``not assessed`` when the gate withheld the result); ``quality`` adds
    any further measurements the caller has.
    """
    if not row.ok:
        raise ValueError(f"{row.file}: no result to store ({row.error})")
    document = row_to_json(row)
    flags: dict[str, Any] = {
        "uncertain": document["uncertain"],
        "out_of_distribution": document["out_of_distribution"],
        "ood_score": document["ood_score"],
        "review_advised": document["review_advised"],
        "quality": list(document.get("quality") or []),  # the image-quality gate's codes
        "status": document.get("status") or "",  # e.g. 'not assessed: too dark'
    }
    if quality:
        flags["quality_detail"] = dict(quality)
    return StoredResult(
        model_name=row.model,
        model_version=row.model_version,
        model_sha256=model_sha256,
        top_class=row.top_class,
        probabilities={k: float(v) for k, v in document["probabilities"].items()},
        alerts=list(document["alerts"]),
        operating_point=row.operating_point,
        flags=flags,
    )


@dataclass(frozen=True)
class VisitRecord:
    id: int
    lesion_id: int
    taken_on: date
    date_source: str
    dermatoscope: str
    image_sha256: str
    original_name: str
    results: tuple[StoredResult, ...] = ()
    decision: str | None = None
    follow_up_months: int | None = None

    @property
    def latest(self) -> StoredResult | None:
        return self.results[-1] if self.results else None

    def decision_text(self) -> str:
        if self.decision == "follow-up":
            return f"follow up in {self.follow_up_months} months"
        return self.decision or ""


@dataclass(frozen=True)
class LesionRecord:
    id: int
    label: str
    site: str | None
    visits: tuple[VisitRecord, ...] = ()
    histopathology: str | None = None
    histopathology_on: date | None = None


@dataclass(frozen=True)
class PatientSummary:
    clinic_id: str
    name: str | None
    birth_year: int | None
    lesion_count: int
    visit_count: int
    last_visit: date | None


@dataclass(frozen=True)
class PatientRecord:
    uid: str
    clinic_id: str
    name: str | None
    birth_year: int | None
    sex: str | None
    fitzpatrick: int | None
    notes: str
    lesions: tuple[LesionRecord, ...] = ()

    def heading(self) -> str:
        """'P-100 — Ada Lovelace, born 1961, female, Fitzpatrick 2' (what is known)."""
        details = [f"born {self.birth_year}" if self.birth_year else "", self.sex or "",
                   f"Fitzpatrick {self.fitzpatrick}" if self.fitzpatrick else ""]
        return (self.clinic_id + (f" — {self.name}" if self.name else "")
                + "".join(f", {d}" for d in details if d))

    def lesion(self, label_or_id: str | int) -> LesionRecord:
        for lesion in self.lesions:
            if lesion.id == label_or_id or lesion.label == label_or_id:
                return lesion
        raise KeyError(label_or_id)


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    os_user: str
    action: str
    entity: str
    ref: str
    detail: str


@dataclass(frozen=True)
class AddOutcome:
    """What ``CaseStore.add_image`` did: the visit it made, or the one already holding the image."""

    visit_id: int
    lesion_id: int
    added: bool
