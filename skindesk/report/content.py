"""What goes on a report page, as plain data (no Qt): built from a ``Prediction``, the patient
fields and the model card, or read from a batch-results CSV.

``build_report`` gathers everything the single-image report shows (header fields, the per-class
rows of ``skindesk.core.class_rows`` with their alert thresholds, the top diagnosis and its
grouping, the alert and uncertainty warnings, the operating point with its validated figures, the
model's trace line, intended use, limitation, disclaimer and licence). An image that was not
assessed (image gate or quality check) gets its reasons instead of an alert or a diagnosis, and
its probabilities only under a for-the-record note, with the alerts that were withheld.
``read_batch_csv`` reads a batch CSV with the results schema's tolerant reader (any column order,
the schema's aliases; older files without the quality and status columns too) and returns rows
sorted for review (review advised or malignant first, then not assessed, then uncertain, then
failed files, then the rest) with counts per class of the assessed files. The renderer
(``skindesk.report.pdf``) only draws what these objects hold.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from skindesk.core.class_rows import ClassRow, class_rows, group_shares
from skindesk.core.classes import NINE_CLASSES
from skindesk.core.errors import SkinDeskError
from skindesk.core.formatting import percent
from skindesk.core.modelcard import DEFAULT_DISCLAIMER, CardError, ModelCard
from skindesk.core.prediction import Prediction
from skindesk.core.result_schema import ResultRow, current_schema
from skindesk.core.wording import (
    ALERT_SEPARATOR,
    FOR_THE_RECORD,
    LIMITATION,
    NOT_ASSESSED_ADVICE,
    withheld_phrase,
)

__all__ = [
    "ReportError",
    "PatientFields",
    "ReportContent",
    "BatchRow",
    "BatchContent",
    "build_report",
    "read_batch_csv",
    "proposed_file_name",
]

class ReportError(SkinDeskError):
    """A report could not be made or written; the message names the file and the problem."""


@dataclass(frozen=True)
class PatientFields:
    """What the clinician typed about the patient. Never logged."""

    patient_id: str = ""
    name: str = ""
    birth_date: str = ""
    body_site: str = ""
    clinician: str = ""
    clinic: str = ""
    notes: str = ""

    def cleaned(self) -> PatientFields:
        """The same fields with surrounding white space removed."""
        return PatientFields(**{k: (v or "").strip() for k, v in self.__dict__.items()})


@dataclass
class ReportContent:
    """Everything a single-image report shows, ready to draw."""

    patient: PatientFields
    analysed_at: datetime
    image_name: str
    bars: list[ClassRow]
    top_line: str
    group_line: str
    alert_lines: list[str]
    operating_point: str
    thresholds: list[ClassRow]
    warnings: list[str]
    model_lines: list[str]
    model_trace: str
    intended_use: str
    disclaimer: str
    licence: str
    summary: str
    limitation: str = LIMITATION
    image: Any = None  # PIL image, QImage or None
    heatmap: Any = None
    heatmap_caption: str = ""
    not_assessed: list[str] = field(default_factory=list)  # the reasons; [] when assessed
    withheld: list[str] = field(default_factory=list)  # classes whose alert was withheld

    @property
    def review_advised(self) -> bool:
        return bool(self.alert_lines)

    @property
    def assessed(self) -> bool:
        return not self.not_assessed


def build_report(
    prediction: Prediction,
    card: ModelCard,
    patient: PatientFields,
    *,
    sha256: str = "",
    provider: str = "",
    sensitivity: float | None = None,
    image: Any = None,
    heatmap: Any = None,
    heatmap_caption: str = "",
    analysed_at: datetime | None = None,
    image_name: str | None = None,
    app_version: str | None = None,
) -> ReportContent:
    """Assemble a single-image report.

    Args:
        prediction: the result to report.
        card: the model card that produced it (intended use, disclaimer, licence, thresholds).
        patient: the clinician's fields (a patient identifier is required).
        sha256: the model's recorded digest (its first 12 characters are printed).
        provider: where the model ran (``CPU`` or ``CUDA``).
        sensitivity: the clinic's operating point (None: the card's defaults).
        image, heatmap: pictures to show side by side (PIL or Qt images), or None.
        analysed_at: when the analysis ran (default: now).
        image_name: file name shown in the header (default: the prediction's path's name).

    Raises:
        ReportError: no patient identifier, or an operating point the card does not offer.
    """
    patient = patient.cleaned()
    if not patient.patient_id:
        raise ReportError("a patient identifier is required for a report")
    if app_version is None:
        from skindesk import __version__ as app_version
    try:
        bars = class_rows(prediction, card, sensitivity)
    except CardError as error:
        raise ReportError(str(error)) from error
    thresholds = [row for row in class_rows(prediction, card, sensitivity, by_probability=False)
                  if row.point is not None]
    top = prediction.top_class
    top_line = f"Most likely: {top.display_name} {percent(prediction.top_probability)} ({top.group})"
    if not prediction.assessed:  # no diagnosis from it: probabilities for the record only
        withheld = withheld_phrase([a.text() for a in prediction.withheld_alerts])
        top_line = FOR_THE_RECORD + (f" {withheld}" if withheld else "")
        heatmap, heatmap_caption = None, ""
    groups = group_shares(bars)
    group_line = (
        f"All malignant classes together: {percent(groups['malignant'])} · pre-malignant: "
        f"{percent(groups['pre-malignant'])} · benign: {percent(groups['benign'])}"
    )
    alert_lines = [
        f"{a.text()} (operating point {percent(a.target_sensitivity)} "
        f"target sensitivity; validated sensitivity {percent(a.validated_sensitivity)}, "
        f"specificity {percent(a.validated_specificity)})."
        for a in prediction.alerts
    ]
    warnings: list[str] = []
    if prediction.uncertain and prediction.assessed:
        warnings.append(
            f"Uncertain: no class reaches {percent(prediction.uncertainty_threshold)}; do not rely "
            "on the top class."
        )
    if not prediction.alerts_available:
        warnings.append(
            "No validated alert threshold exists for this model: probabilities only, no "
            "malignancy alert can be raised."
        )
    digest = (sha256 or "")[:12]
    model_lines = [
        f"Model: {card.name}, version {card.version}"
        + (f", content sha256 {digest}…" if digest else "")
        + (f", run on {provider}" if provider else ""),
        f"Operating point: {prediction.operating_point or 'not recorded'}",
        f"SkinDesk {app_version}",
    ]
    if image_name is None:
        image_name = Path(prediction.path).name if prediction.path else ""
    return ReportContent(
        patient=patient,
        analysed_at=analysed_at or datetime.now().astimezone(),
        image_name=image_name,
        bars=bars,
        top_line=top_line,
        group_line=group_line,
        alert_lines=alert_lines,
        operating_point=prediction.operating_point,
        thresholds=thresholds,
        warnings=warnings,
        model_lines=model_lines,
        model_trace=" · ".join(
            part for part in (f"{card.name} {card.version}",
                              f"content sha256 {digest}" if digest else "", provider) if part
        ),
        intended_use=card.intended_use,
        disclaimer=card.disclaimer or DEFAULT_DISCLAIMER,
        licence=card.licence,
        summary=prediction.summary(),
        image=image,
        heatmap=heatmap,
        heatmap_caption=heatmap_caption,
        not_assessed=list(prediction.assessment.reasons),
        withheld=[a.class_name for a in prediction.withheld_alerts],
    )


def not_assessed_lines(reasons: list[str]) -> tuple[str, list[str]]:
    """The not-assessed box of a report: heading ('NOT ASSESSED: <reason>') and lines."""
    return (f"NOT ASSESSED: {reasons[0]}",
            [f"Also: {reason}." for reason in reasons[1:]] + [NOT_ASSESSED_ADVICE])


def proposed_file_name(patient_id: str, when: datetime | None = None) -> str:
    """A safe file name from the patient id and date, e.g. ``P-0042_2025-03-01_skindesk.pdf``."""
    when = when or datetime.now()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in patient_id.strip())
    safe = safe.strip("._") or "patient"
    return f"{safe[:60]}_{when:%Y-%m-%d}_skindesk.pdf"


# -- batch ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchRow:
    """One file of a batch run as the batch report lists it."""

    file: str
    top_class: str = ""
    probability: float | None = None
    malignant: bool = False
    uncertain: bool = False
    out_of_distribution: bool = False
    review_advised: bool = False
    alerts: str = ""
    error: str = ""
    not_assessed: str = ""  # 'not assessed: <reasons>' when the image was not assessed

    @classmethod
    def of(cls, row: ResultRow) -> BatchRow:
        """The report's view of a results row (display names, alerts in words)."""
        top = _display_name(row.top_class)
        malignant = row.malignant
        if malignant is None:
            malignant = top.lower() in _MALIGNANT_NAMES
        review = bool(row.alerts) if row.review_advised is None else row.review_advised
        assessment = row.assessment
        return cls(
            file=row.file, top_class=top if not row.error else "",
            probability=row.top_probability if not row.error else None,
            malignant=bool(malignant) and not row.error and assessment.assessed,
            uncertain=bool(row.uncertain) and assessment.assessed,
            out_of_distribution=bool(row.out_of_distribution), review_advised=bool(review),
            alerts=ALERT_SEPARATOR.join(a.text for a in row.alerts), error=row.error,
            not_assessed="" if assessment.assessed or not assessment.status else assessment.text,
        )

    @property
    def priority(self) -> int:
        """0: review advised or malignant; 1: not assessed; 2: uncertain; 3: failed; 4: the rest."""
        if self.review_advised:  # a not-assessed image raises none (an older file's may have)
            return 0
        if self.not_assessed:
            return 1
        if self.malignant:
            return 0
        if self.uncertain:
            return 2
        if self.error:
            return 3
        return 4

    @property
    def classified(self) -> bool:
        """True when the file was read and given a top class (unreadable files were not)."""
        return bool(self.top_class) and not self.error

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.not_assessed:  # no diagnosis from it: its top class and flags mean nothing
            flags.append("NOT ASSESSED: " + self.not_assessed.partition(": ")[2])
        if self.review_advised:
            flags.append("REVIEW ADVISED")
        if self.malignant:
            flags.append("malignant top class")
        if self.uncertain:
            flags.append("uncertain")
        if self.error:
            flags.append("not analysed")
        return flags


@dataclass
class BatchContent:
    """A batch report: rows in review order, counts per class (classified files only), and the
    run's model."""

    source: str
    rows: list[BatchRow]
    class_counts: list[tuple[str, int]]
    model: str = ""
    operating_point: str = ""
    gate_level: str = ""  # the image gate's strictness the rows were judged at
    clinic: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now().astimezone())
    disclaimer: str = DEFAULT_DISCLAIMER
    limitation: str = LIMITATION

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def classified(self) -> int:
        """Files with a top class; unreadable or unclassified files are ``total - classified``."""
        return self.count("classified")

    @property
    def assessed(self) -> int:
        """Classified files that were assessed (not set aside by the gate or a quality check)."""
        return self.classified - self.count("not_assessed")

    def class_shares(self) -> list[tuple[str, int, float]]:
        """(top class, files, share of the assessed files), in ``class_counts`` order."""
        return [(name, n, n / self.assessed) for name, n in self.class_counts]

    def count(self, attribute: str) -> int:
        return sum(1 for row in self.rows if getattr(row, attribute))


_MALIGNANT_NAMES = {name for name, _, malignant, _ in NINE_CLASSES if malignant} | {
    display.lower() for _, display, malignant, _ in NINE_CLASSES if malignant}


def _display_name(name: str) -> str:
    """'melanoma' → 'Melanoma' for the nine known classes; other names as written."""
    for known, display, _, _ in NINE_CLASSES:
        if name.strip().lower() in (known, display.lower()):
            return display
    return name


def _is_number(cell: str | None) -> bool:
    try:
        float(cell or 0)
    except ValueError:
        return False
    return True


def read_result_rows(path: str | Path) -> list[ResultRow]:
    """Every row of a results CSV, read with the results schema in any column order and with
    its aliases (a spreadsheet may have reordered or renamed columns).

    Raises:
        ReportError: the file is missing, unreadable, empty, has no file column, or a cell that
            is not what its column holds (naming the line and the column).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            headers = reader.fieldnames or []
            records = list(reader)
    except FileNotFoundError as error:
        raise ReportError(f"{path}: file not found") from error
    except PermissionError as error:
        raise ReportError(f"{path}: permission denied") from error
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReportError(f"{path}: cannot be read as a UTF-8 CSV file ({error})") from error
    schema = current_schema()
    found, class_columns = schema.match_header(headers)
    if "file" not in found:
        raise ReportError(
            f"{path}: not a SkinDesk batch-results CSV (no 'file' column; columns: "
            f"{', '.join(headers) or 'none'})"
        )
    class_columns = tuple(h for h in class_columns if all(
        _is_number(record.get(h)) for record in records))  # other extra columns are ignored
    rows: list[ResultRow] = []
    for line, record in enumerate(records, start=2):
        if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # blank line
        canonical = {name: record.get(header) or "" for name, header in found.items()}
        canonical.update({name: record.get(name) or "" for name in class_columns})
        try:
            rows.append(schema.parse_record(canonical, class_columns))
        except ValueError as error:
            raise ReportError(f"{path}, line {line}: {error}") from error
    if not rows:
        raise ReportError(f"{path}: the CSV lists no files")
    return rows


def read_batch_csv(path: str | Path, *, clinic: str = "") -> BatchContent:
    """Read a batch-results CSV (any column order) into a ``BatchContent``.

    Raises:
        ReportError: as ``read_result_rows``.
    """
    path = Path(path)
    results = read_result_rows(path)
    rows = sorted((BatchRow.of(row) for row in results), key=lambda r: (r.priority, r.file.lower()))
    models: Counter[str] = Counter()
    points: Counter[str] = Counter()
    gate_levels: Counter[str] = Counter()
    for row in results:
        if row.gate_level:
            gate_levels[row.gate_level] += 1
        model = " ".join(part for part in (row.model, row.model_version) if part)
        if model:
            models[model] += 1
        if row.operating_point:
            points[row.operating_point] += 1
    counts = Counter(r.top_class for r in rows if r.classified and not r.not_assessed)
    display_order = {display: i for i, (_, display, _, _) in enumerate(NINE_CLASSES)}
    display_order.update({name: i for i, (name, _, _, _) in enumerate(NINE_CLASSES)})
    class_counts = sorted(counts.items(), key=lambda kv: (-kv[1], display_order.get(kv[0], 99)))
    return BatchContent(
        source=path.name,
        rows=rows,
        class_counts=class_counts,
        model=", ".join(m for m, _ in models.most_common()),
        operating_point="; ".join(p for p, _ in points.most_common()),
        gate_level="; ".join(level for level, _ in gate_levels.most_common()),
        clinic=clinic.strip(),
    )
