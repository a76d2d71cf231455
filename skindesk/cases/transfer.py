"""Moving records between stores: one patient's export, its import, and a whole-store backup.

A transfer file is a zip holding ``records.json`` (format ``skindesk-cases``, version 1: the
patients with their lesions, visits, results and decisions) and ``images/<sha256>`` (the
original image bytes). A backup is the same file with every patient, so ``import`` restores
it. Files are written to a temporary name and renamed when complete; an import checks every
image against its sha256 and the JSON against the vocabularies before writing, then writes all
patients in one transaction: it is entirely in the store or not at all.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from uuid import uuid4
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from . import audit
from .database import CaseStoreError
from .images import read_incoming_bytes, sha256_of
from .records import PatientRecord, StoredResult
from .schema import ImageBlob, Lesion, Patient, Result, Visit
from .store import CaseStore, _result_row
from .vocab import check_birth_year, check_decision, check_fitzpatrick, check_sex, check_site

__all__ = ["FORMAT", "FORMAT_VERSION", "TransferError", "export_patients", "import_file",
           "patient_to_json"]

FORMAT = "skindesk-cases"
FORMAT_VERSION = 1
_RECORDS = "records.json"


class TransferError(CaseStoreError):
    """A transfer file cannot be written or read; the message names it and the problem."""


def patient_to_json(record: PatientRecord) -> dict[str, Any]:
    """One patient as the transfer format (and ``case show --json``) writes it."""
    return {
        "clinic_id": record.clinic_id,
        "name": record.name,
        "birth_year": record.birth_year,
        "sex": record.sex,
        "fitzpatrick": record.fitzpatrick,
        "notes": record.notes,
        "lesions": [
            {
                "label": lesion.label,
                "site": lesion.site,
                "histopathology": lesion.histopathology,
                "histopathology_on": _iso(lesion.histopathology_on),
                "visits": [
                    {
                        "taken_on": visit.taken_on.isoformat(),
                        "date_source": visit.date_source,
                        "dermatoscope": visit.dermatoscope,
                        "image_sha256": visit.image_sha256,
                        "original_name": visit.original_name,
                        "decision": visit.decision,
                        "follow_up_months": visit.follow_up_months,
                        "results": [r.to_json() for r in visit.results],
                    }
                    for visit in lesion.visits
                ],
            }
            for lesion in record.lesions
        ],
    }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def export_patients(store: CaseStore, output: str | Path, clinic_ids: list[str] | None = None,
                    *, overwrite: bool = False) -> int:
    """Write the named patients (every patient when None: a backup) to ``output``; returns count.

    Raises:
        PatientNotFound: a named patient is not in the store.
        TransferError: ``output`` exists (without ``overwrite``) or cannot be written.
    """
    output = Path(output)
    if output.exists() and not overwrite:
        raise TransferError(f"{output}: already exists; choose another name or remove it first")
    backup = clinic_ids is None
    if clinic_ids is None:
        with store.reading("listing patients") as session:
            clinic_ids = list(session.scalars(select(Patient.clinic_id).order_by(Patient.clinic_id)))
    records = [store.patient(clinic_id) for clinic_id in clinic_ids]
    shas = sorted({v.image_sha256 for r in records for l in r.lesions for v in l.visits})
    document = {"format": FORMAT, "version": FORMAT_VERSION,
                "exported_at": audit.utc_now().isoformat(timespec="seconds"),
                "patients": [patient_to_json(r) for r in records]}
    folder = output.parent if str(output.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(prefix=".skindesk-export-", dir=folder)
    except OSError as error:
        raise TransferError(f"{output}: cannot be written ({error.strerror})") from error
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(_RECORDS, json.dumps(document, indent=1, ensure_ascii=False))
            for sha in shas:  # one image in memory at a time; each verified on the way out
                zf.writestr(f"images/{sha}", store.image_data(sha), zipfile.ZIP_STORED)
        os.replace(temporary, output)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise TransferError(f"{output}: cannot be written ({error.strerror or error})") from error
        raise
    action = "backup" if backup else "export"
    with store.writing("recording the export") as session:
        for record in records:
            audit.record(session, action, "patient", record.uid, f"{len(shas)} images")
        if not records:
            audit.record(session, "backup", "store", "-", "empty store")
    return len(records)


def _load(path: Path) -> tuple[zipfile.ZipFile, dict[str, Any]]:
    if not path.is_file():
        raise TransferError(f"{path}: file not found")
    try:
        archive = zipfile.ZipFile(path)
        document = json.loads(archive.read(_RECORDS))
    except (zipfile.BadZipFile, KeyError, OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise TransferError(f"{path}: not a SkinDesk case export ({error})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        archive.close()
        raise TransferError(f"{path}: not a SkinDesk case export (no '{FORMAT}' records)")
    if document.get("version") != FORMAT_VERSION:
        archive.close()
        raise TransferError(f"{path}: export format version {document.get('version')} is not "
                            f"one this SkinDesk reads ({FORMAT_VERSION})")
    return archive, document


def import_file(store: CaseStore, path: str | Path,
                progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Import every patient of a transfer file in one transaction; returns their clinic IDs.

    ``progress(images_done, images_total)`` is called as each visit image is written.

    Raises:
        TransferError: the file is not a readable export, an image does not match its sha256,
            a value is invalid, or a patient already exists in the store (nothing is imported).
    """
    path = Path(path)
    archive, document = _load(path)
    with archive:
        try:
            patients = [_checked_patient(p) for p in document.get("patients", [])]
        except (KeyError, TypeError, ValueError) as error:
            raise TransferError(f"{path}: invalid record ({error})") from error
        total = sum(len(l.get("visits", [])) for p in patients for l in p.get("lesions", []))
        counter = _Counter(total, progress)
        with store.writing("importing") as session:
            for patient in patients:
                clinic_id = patient["clinic_id"]
                if session.scalar(select(Patient.id).where(Patient.clinic_id == clinic_id)):
                    raise TransferError(
                        f"{path}: a patient with ID {clinic_id!r} is already in case store "
                        f"{store.label}; nothing was imported")
                _insert_patient(session, patient, archive, path, counter)
        return [p["clinic_id"] for p in patients]


def _checked_patient(data: dict[str, Any]) -> dict[str, Any]:
    clinic_id = str(data["clinic_id"]).strip()
    if not clinic_id or len(clinic_id) > 64:
        raise ValueError(f"patient ID {clinic_id!r} is empty or too long")
    checked = dict(data, clinic_id=clinic_id, birth_year=check_birth_year(data.get("birth_year")),
                   sex=check_sex(data.get("sex")),
                   fitzpatrick=check_fitzpatrick(data.get("fitzpatrick")))
    for lesion in checked.get("lesions", []):
        lesion["site"] = check_site(lesion.get("site"))
        for visit in lesion.get("visits", []):
            date.fromisoformat(visit["taken_on"])
            if visit.get("decision"):
                check_decision(visit["decision"], visit.get("follow_up_months"))
    return checked


class _Counter:
    def __init__(self, total: int, report: Callable[[int, int], None] | None) -> None:
        self.done, self.total, self.report = 0, total, report

    def step(self) -> None:
        self.done += 1
        if self.report is not None:
            self.report(self.done, self.total)


def _insert_patient(session: Any, data: dict[str, Any], archive: zipfile.ZipFile,
                    path: Path, counter: _Counter) -> None:
    now = audit.utc_now()
    patient = Patient(uid=uuid4().hex, clinic_id=data["clinic_id"], name=data.get("name"),
                      birth_year=data["birth_year"], sex=data["sex"],
                      fitzpatrick=data["fitzpatrick"], notes=data.get("notes") or "",
                      created_at=now, updated_at=now)
    session.add(patient)
    for item in data.get("lesions", []):
        histo_on = item.get("histopathology_on")
        lesion = Lesion(label=str(item["label"])[:200], site=item["site"], created_at=now,
                        histopathology=item.get("histopathology"),
                        histopathology_on=date.fromisoformat(histo_on) if histo_on else None)
        patient.lesions.append(lesion)
        for entry in item.get("visits", []):
            sha = str(entry["image_sha256"])
            _ensure_image(session, archive, sha, path)
            visit = Visit(image_sha256=sha, taken_on=date.fromisoformat(entry["taken_on"]),
                          date_source=str(entry.get("date_source") or "entered")[:16],
                          dermatoscope=str(entry.get("dermatoscope") or "")[:200],
                          original_name=str(entry.get("original_name") or "")[:255],
                          created_at=now, decision=entry.get("decision"),
                          follow_up_months=entry.get("follow_up_months"),
                          decided_at=now if entry.get("decision") else None)
            lesion.visits.append(visit)
            for result in entry.get("results", []):
                visit.results.append(_result_row(_result_from_json(result)))
            session.flush()
            counter.step()
    session.flush()
    audit.record(session, "import", "patient", patient.uid, f"from {FORMAT} file")


def _ensure_image(session: Any, archive: zipfile.ZipFile, sha: str, path: Path) -> None:
    if session.get(ImageBlob, sha) is not None:
        return
    try:
        data = archive.read(f"images/{sha}")
    except KeyError:
        raise TransferError(f"{path}: image {sha[:12]}… is missing from the file") from None
    if sha256_of(data) != sha:
        raise TransferError(f"{path}: image {sha[:12]}… is damaged (sha256 does not match); "
                            "nothing was imported")
    incoming = read_incoming_bytes(data, f"{path}: images/{sha[:12]}…")
    blob = ImageBlob(sha256=sha, size=len(data), width=incoming.width, height=incoming.height,
                     format=incoming.format, data=data, thumbnail=incoming.thumbnail)
    session.add(blob)
    session.flush()
    session.expunge(blob)  # written: a large backup never holds every image in memory


def _result_from_json(data: dict[str, Any]) -> StoredResult:
    model = data["model"]
    created = data.get("created_at")
    return StoredResult(model_name=str(model["name"]), model_version=str(model["version"]),
                        model_sha256=str(model.get("sha256") or ""),
                        top_class=str(data["top_class"]),
                        probabilities={str(k): float(v) for k, v in data["probabilities"].items()},
                        alerts=list(data.get("alerts") or []),
                        operating_point=str(data.get("operating_point") or ""),
                        flags=dict(data.get("flags") or {}),
                        created_at=datetime.fromisoformat(created) if created else None)
