"""What goes on a report page, as plain data (no Qt): built from a ``Prediction``, the patient
fields and the model card, or read from a batch-results CSV.

``build_report`` gathers everything the single-image report shows (header fields, the per-class
rows of ``skindesk.core.class_rows`` with their alert thresholds, the top diagnosis and its
grouping, the alert, uncertainty and out-of-distribution warnings, the operating point with its
validated figures, the model's trace line, intended use, limitation, disclaimer and licence).
``read_batch_csv`` reads a batch CSV with the results schema's tolerant reader (any column order,
the schema's aliases) and returns rows sorted for review (review advised or malignant first, then
uncertain or out-of-distribution, then failed files, then the rest) with counts per class. The
renderer (``skindesk.report.pdf``) only draws what these objects hold.
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
from skindesk.core.wording import ALERT_SEPARATOR, LIMITATION

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

    @property
    def review_advised(self) -> bool:
        return bool(self.alert_lines)


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
    if prediction.uncertain:
        warnings.append(
            f"Uncertain: no class reaches {percent(prediction.uncertainty_threshold)}; do not rely "
            "on the top class."
        )
    if prediction.out_of_distribution:
        warnings.append(
            "Out of distribution: this image does not look like the dermoscopic images the model "
            "was trained on; the result may be meaningless."
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
    )


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

    @classmethod
    def of(cls, row: ResultRow) -> BatchRow:
        """The report's view of a results row (display names, alerts in words)."""
        top = _display_name(row.top_class)
        malignant = row.malignant
        if malignant is None:
            malignant = top.lower() in _MALIGNANT_NAMES
        review = bool(row.alerts) if row.review_advised is None else row.review_advised
        return cls(
            file=row.file, top_class=top if not row.error else "",
            probability=row.top_probability if not row.error else None,
            malignant=bool(malignant) and not row.error, uncertain=bool(row.uncertain),
            out_of_distribution=bool(row.out_of_distribution), review_advised=bool(review),
            alerts=ALERT_SEPARATOR.join(a.text for a in row.alerts), error=row.error,
        )

    @property
    def priority(self) -> int:
        """0: review advised or malignant; 1: uncertain or OOD; 2: failed; 3: the rest."""
        if self.review_advised or self.malignant:
            return 0
        if self.uncertain or self.out_of_distribution:
            return 1
        if self.error:
            return 2
        return 3

    @property
    def classified(self) -> bool:
        """True when the file was read and given a top class (unreadable files were not)."""
        return bool(self.top_class) and not self.error

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.review_advised:
            flags.append("REVIEW ADVISED")
        if self.malignant:
            flags.append("malignant top class")
        if self.uncertain:
            flags.append("uncertain")
        if self.out_of_distribution:
            flags.append("out of distribution")
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

    def class_shares(self) -> list[tuple[str, int, float]]:
        """(top class, files, share of the classified files), in ``class_counts`` order."""
        return [(name, n, n / self.classified) for name, n in self.class_counts]

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
    for row in results:
        model = " ".join(part for part in (row.model, row.model_version) if part)
        if model:
            models[model] += 1
        if row.operating_point:
            points[row.operating_point] += 1
    counts = Counter(r.top_class for r in rows if r.classified)
    display_order = {display: i for i, (_, display, _, _) in enumerate(NINE_CLASSES)}
    display_order.update({name: i for i, (name, _, _, _) in enumerate(NINE_CLASSES)})
    class_counts = sorted(counts.items(), key=lambda kv: (-kv[1], display_order.get(kv[0], 99)))
    return BatchContent(
        source=path.name,
        rows=rows,
        class_counts=class_counts,
        model=", ".join(m for m, _ in models.most_common()),
        operating_point="; ".join(p for p, _ in points.most_common()),
        clinic=clinic.strip(),
    )
