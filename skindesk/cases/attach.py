"""Filing results that already exist (the app's single and batch results) under patients.

``result_from_prediction`` turns a core ``Prediction`` into the store's ``StoredResult`` (via the
one results schema, ``skindesk.core.results``). ``read_mapping`` reads a CSV that says which
file belongs to which patient and lesion (columns ``file``, ``patient_id``, ``lesion``, and
optionally ``site`` and ``date``), and ``attach_rows`` files batch rows under one chosen patient
and lesion or under the mapping's; every image is its own transaction.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..core.errors import SkinDeskError
from ..core.prediction import Prediction
from ..core.results import ModelInfo, ResultRow, row_from_prediction
from .records import StoredResult, stored_result
from .store import CaseStore
from .vocab import check_site, parse_date

__all__ = ["Assignment", "AttachReport", "MappingError", "result_from_prediction", "read_mapping",
           "attach_rows"]

_REQUIRED = ("file", "patient_id")


class MappingError(SkinDeskError):
    """A mapping CSV cannot be used; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Assignment:
    """Where one image goes."""

    patient_id: str
    lesion: str | None = None
    site: str | None = None
    taken_on: date | None = None
    dermatoscope: str = ""


@dataclass
class AttachReport:
    added: int = 0
    already: int = 0
    unassigned: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{self.added} added"]
        if self.already:
            parts.append(f"{self.already} already in the store")
        if self.unassigned:
            parts.append(f"{len(self.unassigned)} not in the mapping")
        if self.problems:
            parts.append(f"{len(self.problems)} could not be added")
        return ", ".join(parts)


def result_from_prediction(prediction: Prediction, classifier: Any, path: str = "") -> StoredResult:
    """The store's record of ``prediction`` made by ``classifier`` (name, version, sha256)."""
    row = row_from_prediction(path or prediction.path or "", prediction,
                              ModelInfo.from_classifier(classifier))
    return stored_result(row, str(getattr(classifier, "sha256", "") or ""))


def read_mapping(path: str | Path) -> dict[str, Assignment]:
    """file → Assignment from a mapping CSV (see the module docstring)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            headers = [h.strip().lower() for h in (reader.fieldnames or [])]
            missing = [c for c in _REQUIRED if c not in headers]
            if missing:
                raise MappingError(f"{path}: needs the columns file, patient_id (and lesion, "
                                   f"site, date as wanted); missing: {', '.join(missing)}")
            mapping: dict[str, Assignment] = {}
            for line, raw in enumerate(reader, start=2):
                row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
                if not row.get("file"):
                    continue
                if not row.get("patient_id"):
                    raise MappingError(f"{path}, line {line}: no patient_id for {row['file']}")
                try:
                    mapping[row["file"]] = Assignment(
                        patient_id=row["patient_id"], lesion=row.get("lesion") or None,
                        site=check_site(row.get("site")),
                        taken_on=parse_date(row["date"]) if row.get("date") else None,
                        dermatoscope=row.get("dermatoscope", ""))
                except ValueError as error:
                    raise MappingError(f"{path}, line {line}: {error}") from error
    except OSError as error:
        raise MappingError(f"{path}: cannot be read ({error.strerror or error})") from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise MappingError(f"{path}: not a readable CSV file ({error})") from error
    if not mapping:
        raise MappingError(f"{path}: no rows")
    return mapping


def _lookup(mapping: Mapping[str, Assignment], file: str) -> Assignment | None:
    if file in mapping:
        return mapping[file]
    name = Path(file).name
    matches = [a for key, a in mapping.items() if Path(key).name == name]
    return matches[0] if len(matches) == 1 else None


def attach_rows(
    store: CaseStore,
    rows: Sequence[ResultRow],
    target: Assignment | Mapping[str, Assignment],
    model_sha256: str,
    progress: Callable[[int, int], None] | None = None,
) -> AttachReport:
    """File classified batch rows (with their images) under ``target`` or the mapping's patients.

    Rows with an error are skipped (reported); a mapping entry matches a row by its full path,
    else by its file name when that is unique in the mapping.
    """
    report = AttachReport()
    usable = [row for row in rows if row.ok]
    report.problems += [f"{row.file}: not classified ({row.error})" for row in rows if not row.ok]
    for index, row in enumerate(usable, start=1):
        where = target if isinstance(target, Assignment) else _lookup(target, row.file)
        if where is None:
            report.unassigned.append(row.file)
            continue
        try:
            outcome = store.add_image(where.patient_id, row.file, lesion=where.lesion,
                                      site=where.site, taken_on=where.taken_on,
                                      dermatoscope=where.dermatoscope,
                                      result=stored_result(row, model_sha256))
        except (SkinDeskError, ValueError) as error:
            report.problems.append(str(error))
        else:
            if outcome.added:
                report.added += 1
            else:
                report.already += 1
        if progress is not None:
            progress(index, len(usable))
    return report
