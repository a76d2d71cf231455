"""What goes on a report page, as plain data (no Qt): built from a ``Prediction``, the patient
fields and the model card, or read from a batch-results CSV.

``build_report`` gathers everything the single-image report shows (header fields, the bar rows
with their colours and alert thresholds, the top diagnosis and its grouping, the alert, uncertainty
and out-of-distribution warnings, the operating point with its validated figures, the model's
trace line, intended use, disclaimer and licence). ``read_batch_csv`` reads a batch CSV tolerant of
column order and naming and returns rows sorted for review (review advised or malignant first,
then uncertain or out-of-distribution, then failed files, then the rest) with counts per class.
The renderer (``skindesk.report.pdf``) only draws what these objects hold.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from skindesk.core.classes import NINE_CLASSES
from skindesk.core.errors import SkinDeskError
from skindesk.core.modelcard import DEFAULT_DISCLAIMER, CardError, ModelCard
from skindesk.core.prediction import Prediction, percent_pair

__all__ = [
    "ReportError",
    "PatientFields",
    "BarRow",
    "ThresholdRow",
    "ReportContent",
    "BatchRow",
    "BatchContent",
    "MALIGNANT_COLOUR",
    "PREMALIGNANT_COLOUR",
    "BENIGN_COLOUR",
    "ALERT_COLOUR",
    "WARNING_COLOUR",
    "build_report",
    "read_batch_csv",
    "proposed_file_name",
]

# The app's palette (skindesk.gui.style): malignant red, pre-malignant amber, benign slate blue.
MALIGNANT_COLOUR = "#c62828"
PREMALIGNANT_COLOUR = "#ef8f00"
BENIGN_COLOUR = "#4f6d8f"
ALERT_COLOUR = "#b71c1c"
WARNING_COLOUR = "#e6a100"

_GROUP_COLOURS = {
    "malignant": MALIGNANT_COLOUR,
    "pre-malignant": PREMALIGNANT_COLOUR,
    "benign": BENIGN_COLOUR,
}


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


@dataclass(frozen=True)
class BarRow:
    """One class in the probability chart."""

    display_name: str
    group: str  # malignant, pre-malignant or benign
    probability: float
    colour: str
    is_top: bool = False
    threshold: float | None = None  # alert threshold at the chosen operating point
    alerted: bool = False


@dataclass(frozen=True)
class ThresholdRow:
    """A flagged class's alert threshold at the chosen operating point, with its figures."""

    display_name: str
    probability: float
    threshold: float
    target_sensitivity: float
    validated_sensitivity: float
    validated_specificity: float
    test_sensitivity: float | None
    test_specificity: float | None
    alerted: bool


@dataclass
class ReportContent:
    """Everything a single-image report shows, ready to draw."""

    patient: PatientFields
    analysed_at: datetime
    image_name: str
    bars: list[BarRow]
    top_line: str
    group_line: str
    alert_lines: list[str]
    operating_point: str
    thresholds: list[ThresholdRow]
    warnings: list[str]
    model_lines: list[str]
    model_trace: str
    intended_use: str
    disclaimer: str
    licence: str
    summary: str
    image: Any = None  # PIL image, QImage or None
    heatmap: Any = None
    heatmap_caption: str = ""

    @property
    def review_advised(self) -> bool:
        return bool(self.alert_lines)


def _percent(value: float) -> str:
    return f"{value:.0%}" if value >= 0.01 or value == 0 else f"{value:.1%}"


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
    top_index = prediction.top_index
    alerts = {a.class_name: a for a in prediction.alerts}
    thresholds: list[ThresholdRow] = []
    bars: list[BarRow] = []
    for index, (info, p) in enumerate(zip(prediction.classes, prediction.probabilities)):
        point = None
        if info.flagged and card.operating_points:
            try:
                point = card.operating_point(info.name, sensitivity)
            except CardError as error:
                raise ReportError(str(error)) from error
        bars.append(
            BarRow(
                display_name=info.display_name,
                group=info.group,
                probability=float(p),
                colour=_GROUP_COLOURS[info.group],
                is_top=index == top_index,
                threshold=None if point is None else point.threshold,
                alerted=info.name in alerts,
            )
        )
        if point is not None:
            test = point.test or {}
            thresholds.append(
                ThresholdRow(
                    display_name=info.display_name,
                    probability=float(p),
                    threshold=point.threshold,
                    target_sensitivity=point.target_sensitivity,
                    validated_sensitivity=point.validated_sensitivity,
                    validated_specificity=point.validated_specificity,
                    test_sensitivity=_optional_float(test.get("sensitivity")),
                    test_specificity=_optional_float(test.get("specificity")),
                    alerted=info.name in alerts,
                )
            )
    top = prediction.top_class
    top_line = f"Most likely: {top.display_name} {_percent(prediction.top_probability)} ({top.group})"
    groups: dict[str, float] = {"malignant": 0.0, "pre-malignant": 0.0, "benign": 0.0}
    for info, p in zip(prediction.classes, prediction.probabilities):
        groups[info.group] += float(p)
    group_line = (
        f"All malignant classes together: {_percent(groups['malignant'])} · pre-malignant: "
        f"{_percent(groups['pre-malignant'])} · benign: {_percent(groups['benign'])}"
    )
    alert_lines = []
    for a in prediction.alerts:
        probability, threshold = percent_pair(a.probability, a.threshold)
        alert_lines.append(
            f"{a.display_name} {probability} is at or above its alert threshold {threshold} "
            f"(operating point {a.target_sensitivity:.0%} target sensitivity; validated "
            f"sensitivity {_percent(a.validated_sensitivity)}, specificity "
            f"{_percent(a.validated_specificity)})."
        )
    warnings: list[str] = []
    if prediction.uncertain:
        warnings.append(
            f"Uncertain: no class reaches {_percent(prediction.uncertainty_threshold)}; do not rely "
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
        + (f", sha256 {digest}…" if digest else "")
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
                              f"sha256 {digest}" if digest else "", provider) if part
        ),
        intended_use=card.intended_use,
        disclaimer=card.disclaimer or DEFAULT_DISCLAIMER,
        licence=card.licence,
        summary=prediction.summary(),
        image=image,
        heatmap=heatmap,
        heatmap_caption=heatmap_caption,
    )


def _optional_float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def proposed_file_name(patient_id: str, when: datetime | None = None) -> str:
    """A safe file name from the patient id and date, e.g. ``P-0042_2025-03-01_skindesk.pdf``."""
    when = when or datetime.now()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in patient_id.strip())
    safe = safe.strip("._") or "patient"
    return f"{safe[:60]}_{when:%Y-%m-%d}_skindesk.pdf"


# -- batch ------------------------------------------------------------------------------
_TRUE = {"true", "yes", "1", "y", "t"}

# Canonical column → accepted header spellings (lower case; spaces, dashes and dots as "_").
_ALIASES = {
    "file": ("file", "path", "image", "file_name", "filename"),
    "top_class": ("top_class", "top", "prediction", "predicted_class", "class"),
    "probability": ("probability", "top_probability", "top_prob", "confidence"),
    "malignant": ("malignant", "malignant_flag", "top_malignant", "is_malignant"),
    "uncertain": ("uncertain",),
    "out_of_distribution": ("out_of_distribution", "ood", "out_of_dist"),
    "review_advised": ("review_advised", "review"),
    "alerts": ("alerts", "alert"),
    "operating_point": ("operating_point",),
    "model": ("model", "model_name"),
    "model_version": ("model_version", "version"),
    "error": ("error", "errors", "problem"),
}


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


def _display_name(name: str) -> str:
    """'melanoma' → 'Melanoma' for the nine known classes; other names as written."""
    for known, display, _, _ in NINE_CLASSES:
        if name.strip().lower() in (known, display.lower()):
            return display
    return name


def _key(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").replace(".", " ").split())


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def read_batch_csv(path: str | Path, *, clinic: str = "") -> BatchContent:
    """Read a batch-results CSV (any column order) into a ``BatchContent``.

    Raises:
        ReportError: the file is missing, unreadable, empty, or has no file column.
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
    columns: dict[str, str] = {}
    keyed = {_key(h): h for h in headers if h}
    for canonical, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in keyed:
                columns[canonical] = keyed[alias]
                break
    if "file" not in columns:
        raise ReportError(
            f"{path}: not a SkinDesk batch-results CSV (no 'file' column; columns: "
            f"{', '.join(headers) or 'none'})"
        )
    malignant_names = {name.lower() for name, _, malignant, _ in NINE_CLASSES if malignant}
    malignant_names |= {display.lower() for _, display, malignant, _ in NINE_CLASSES if malignant}

    def get(record: dict[str, str], name: str) -> str:
        column = columns.get(name)
        return (record.get(column) or "").strip() if column else ""

    rows: list[BatchRow] = []
    models: Counter[str] = Counter()
    points: Counter[str] = Counter()
    for record in records:
        file = get(record, "file")
        if not file and not any((v or "").strip() for v in record.values() if isinstance(v, str)):
            continue  # blank line
        top = _display_name(get(record, "top_class"))
        probability = _optional_float(get(record, "probability") or None)
        if probability is not None and probability > 1.0:  # written as a percentage
            probability /= 100.0
        malignant = (
            _truthy(get(record, "malignant")) if "malignant" in columns
            else top.lower() in malignant_names
        )
        alerts = get(record, "alerts")
        review = (
            _truthy(get(record, "review_advised")) if "review_advised" in columns else bool(alerts)
        )
        error = get(record, "error")
        rows.append(
            BatchRow(
                file=file,
                top_class=top if not error else "",
                probability=probability if not error else None,
                malignant=malignant and not error,
                uncertain=_truthy(get(record, "uncertain")),
                out_of_distribution=_truthy(get(record, "out_of_distribution")),
                review_advised=review,
                alerts=alerts,
                error=error,
            )
        )
        model = " ".join(part for part in (get(record, "model"), get(record, "model_version"))
                         if part)
        if model:
            models[model] += 1
        if get(record, "operating_point"):
            points[get(record, "operating_point")] += 1
    if not rows:
        raise ReportError(f"{path}: the CSV lists no files")
    rows.sort(key=lambda r: (r.priority, r.file.lower()))
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
