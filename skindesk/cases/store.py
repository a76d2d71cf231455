"""``CaseStore``: patients, lesions, visit images and results in one SQLite or PostgreSQL store.

Every method that writes is one transaction, audit line included: it happens entirely or not
at all, so a killed process leaves the store as it was before the interrupted write. Adding
an image the patient already has is a no-op (``AddOutcome.added`` is False), so a stopped
import can simply be run again. Image bytes are verified against their sha256 whenever they
are read back. Messages and audit lines never carry a patient's name or clinic ID.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from . import audit
from .database import CaseStoreError, make_engine, migrate, translate_errors
from .images import IncomingImage, read_incoming, verify
from .location import display_name, resolve_url
from .records import (AddOutcome, AuditRecord, LesionRecord, PatientRecord, PatientSummary,
                      StoredResult, VisitRecord)
from .schema import AuditEntry, ImageBlob, Lesion, Patient, Result, Visit
from .vocab import check_birth_year, check_decision, check_fitzpatrick, check_sex, check_site

__all__ = ["CaseStore", "PatientNotFound", "UNSET"]

UNSET: Any = object()
_RETRIES = 3


class PatientNotFound(CaseStoreError):
    """No patient with that clinic ID in this store."""


class CaseStore:
    """A case store opened on a database URL (see ``skindesk.cases.location``)."""

    def __init__(self, url: URL, *, create: bool = True) -> None:
        self.url = url
        self.label = display_name(url)
        self.engine = make_engine(url, create=create)
        self.revision = migrate(self.engine, url)

    @classmethod
    def open(cls, database: str | None = None, setting: str | None = None,
             *, create: bool = True) -> CaseStore:
        """Open (creating and migrating as needed) the store named by ``database``/env/setting."""
        return cls(resolve_url(database, setting), create=create)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> CaseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    # -- sessions -------------------------------------------------------------------------
    @contextmanager
    def reading(self, doing: str = "reading it") -> Iterator[Session]:
        """A read-only session (no lock held against writers)."""
        with translate_errors(self.url, doing), Session(self.engine) as session:
            yield session

    @contextmanager
    def writing(self, doing: str = "writing to it") -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        with translate_errors(self.url, doing), self.engine.connect() as connection:
            connection.execution_options(write=True)
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session

    def _patient(self, session: Session, clinic_id: str) -> Patient:
        patient = session.scalar(select(Patient).where(Patient.clinic_id == clinic_id))
        if patient is None:
            raise PatientNotFound(f"case store {self.label}: no patient with ID {clinic_id!r}")
        return patient

    # -- patients -------------------------------------------------------------------------
    def search(self, text_: str = "", limit: int = 200) -> list[PatientSummary]:
        """Patients whose clinic ID or name contains ``text_`` (all when empty), by clinic ID."""
        lesions = (select(Lesion.patient_id, func.count().label("n"))
                   .group_by(Lesion.patient_id).subquery())
        visits = (select(Lesion.patient_id, func.count(Visit.id).label("n"),
                         func.max(Visit.taken_on).label("last"))
                  .join(Visit, Visit.lesion_id == Lesion.id)
                  .group_by(Lesion.patient_id).subquery())
        query = (select(Patient.clinic_id, Patient.name, Patient.birth_year,
                        func.coalesce(lesions.c.n, 0), func.coalesce(visits.c.n, 0), visits.c.last)
                 .outerjoin(lesions, lesions.c.patient_id == Patient.id)
                 .outerjoin(visits, visits.c.patient_id == Patient.id)
                 .order_by(Patient.clinic_id).limit(limit))
        needle = text_.strip()
        if needle:
            pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(Patient.clinic_id.ilike(pattern, escape="\\"),
                                    Patient.name.ilike(pattern, escape="\\")))
        with self.reading("searching patients") as session:
            return [PatientSummary(*row) for row in session.execute(query)]

    def patient(self, clinic_id: str) -> PatientRecord:
        """Everything about one patient: lesions, visits (oldest first) and their results."""
        with self.reading("opening a patient") as session:
            patient = session.scalar(
                select(Patient).where(Patient.clinic_id == clinic_id).options(
                    selectinload(Patient.lesions).selectinload(Lesion.visits)
                    .selectinload(Visit.results)))
            if patient is None:
                raise PatientNotFound(f"case store {self.label}: no patient with ID {clinic_id!r}")
            return _patient_record(patient)

    def save_patient(self, clinic_id: str, *, name: Any = UNSET, birth_year: Any = UNSET,
                     sex: Any = UNSET, fitzpatrick: Any = UNSET, notes: Any = UNSET) -> bool:
        """Create the patient or change the given fields; True when it was created."""
        clinic_id = _check_clinic_id(clinic_id)
        fields = _patient_fields(name=name, birth_year=birth_year, sex=sex,
                                 fitzpatrick=fitzpatrick, notes=notes)
        with self.writing("saving a patient") as session:
            patient = session.scalar(select(Patient).where(Patient.clinic_id == clinic_id))
            created = patient is None
            if created:
                patient = _new_patient(session, clinic_id)
            changed = [key for key, value in fields.items() if getattr(patient, key) != value]
            for key in changed:
                setattr(patient, key, fields[key])
            if changed and not created:
                patient.updated_at = audit.utc_now()
                audit.record(session, "change", "patient", patient.uid,
                             "changed " + ", ".join(sorted(changed)))
            return created

    def delete_patient(self, clinic_id: str) -> int:
        """Erase a patient: rows, results and images no one else uses; returns images erased.

        The audit keeps one line with the patient's random uid and counts, nothing personal.
        """
        with self.writing("deleting a patient") as session:
            patient = self._patient(session, clinic_id)
            shas = set(session.scalars(select(Visit.image_sha256).join(Lesion)
                                       .where(Lesion.patient_id == patient.id)))
            lesion_count = len(patient.lesions)
            uid = patient.uid
            session.execute(delete(Patient).where(Patient.id == patient.id))
            session.expunge_all()
            erased = session.execute(
                delete(ImageBlob).where(ImageBlob.sha256.in_(shas), ~exists().where(
                    Visit.image_sha256 == ImageBlob.sha256)).execution_options(
                    synchronize_session=False)).rowcount if shas else 0
            audit.record(session, "delete", "patient", uid,
                         f"erased {lesion_count} lesions, {len(shas)} visit images")
        if self.is_sqlite:
            self._checkpoint()
        return int(erased or 0)

    def _checkpoint(self) -> None:
        """Fold the WAL into the database file so erased pages leave the log too."""
        with translate_errors(self.url, "checkpointing"), self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- lesions, visits, results ---------------------------------------------------------
    def add_image(
        self,
        clinic_id: str,
        image: IncomingImage | str | Path,
        *,
        lesion: str | None = None,
        site: str | None = None,
        taken_on: date | None = None,
        dermatoscope: str = "",
        result: StoredResult | None = None,
    ) -> AddOutcome:
        """File one image (and its result) under a patient and lesion, all in one transaction.

        The patient and the lesion (by label; a new "lesion N" when ``lesion`` is None) are
        created when missing. An image the patient already has in that lesion (any lesion
        when ``lesion`` is None) is not added again: the outcome names the existing visit.
        """
        clinic_id = _check_clinic_id(clinic_id)
        site = check_site(site)
        incoming = image if isinstance(image, IncomingImage) else read_incoming(image)
        for attempt in range(_RETRIES):
            try:
                return self._add_image(clinic_id, incoming, lesion, site, taken_on,
                                       dermatoscope, result)
            except CaseStoreError as error:
                # Two instances creating the same patient, lesion or image at once: the loser
                # of the race retries and finds the winner's rows.
                if not isinstance(error.__cause__, IntegrityError) or attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _add_image(self, clinic_id: str, incoming: IncomingImage, label: str | None,
                   site: str | None, taken_on: date | None, dermatoscope: str,
                   result: StoredResult | None) -> AddOutcome:
        with self.writing("adding an image") as session:
            patient = session.scalar(select(Patient).where(Patient.clinic_id == clinic_id))
            if patient is None:
                patient = _new_patient(session, clinic_id)
            existing = session.execute(
                select(Visit.id, Visit.lesion_id).join(Lesion)
                .where(Lesion.patient_id == patient.id, Visit.image_sha256 == incoming.sha256,
                       *([Lesion.label == label] if label is not None else []))).first()
            if existing is not None:
                return AddOutcome(visit_id=existing[0], lesion_id=existing[1], added=False)
            target = _find_or_create_lesion(session, patient, label, site)
            if session.get(ImageBlob, incoming.sha256) is None:
                session.add(ImageBlob(sha256=incoming.sha256, size=len(incoming.data),
                                      width=incoming.width, height=incoming.height,
                                      format=incoming.format, data=incoming.data,
                                      thumbnail=incoming.thumbnail))
            if taken_on is not None:
                when, source = taken_on, "entered"
            elif incoming.taken_on is not None:
                when, source = incoming.taken_on, "exif"
            else:
                when, source = audit.utc_now().date(), "added"
            visit = Visit(lesion=target, image_sha256=incoming.sha256, taken_on=when,
                          date_source=source, dermatoscope=dermatoscope[:200],
                          original_name=incoming.path.name[:255], created_at=audit.utc_now())
            session.add(visit)
            if result is not None:
                visit.results.append(_result_row(result))
            session.flush()
            audit.record(session, "create", "visit", patient.uid,
                         f"lesion {target.id}, visit {visit.id}")
            return AddOutcome(visit_id=visit.id, lesion_id=target.id, added=True)

    def add_result(self, visit_id: int, result: StoredResult) -> int:
        """Attach another result (e.g. from a newer model) to a visit; returns its id."""
        with self.writing("adding a result") as session:
            visit = session.get(Visit, visit_id)
            if visit is None:
                raise CaseStoreError(f"case store {self.label}: no visit {visit_id}")
            row = _result_row(result)
            visit.results.append(row)
            session.flush()
            audit.record(session, "create", "result", visit.lesion.patient.uid,
                         f"visit {visit_id}, result {row.id}")
            return row.id

    def set_decision(self, visit_id: int, decision: str, months: int | None = None) -> None:
        """Record the clinician's decision for a visit (excise / follow-up N months / discharge)."""
        decision, months = check_decision(decision, months)
        with self.writing("recording a decision") as session:
            visit = session.get(Visit, visit_id)
            if visit is None:
                raise CaseStoreError(f"case store {self.label}: no visit {visit_id}")
            visit.decision, visit.follow_up_months = decision, months
            visit.decided_at = audit.utc_now()
            audit.record(session, "change", "visit", visit.lesion.patient.uid,
                         f"visit {visit_id}: decision {decision}")

    def set_histopathology(self, lesion_id: int, diagnosis: str, on: date | None = None) -> None:
        """Record a lesion's histopathology diagnosis once it is known."""
        with self.writing("recording histopathology") as session:
            lesion = session.get(Lesion, lesion_id)
            if lesion is None:
                raise CaseStoreError(f"case store {self.label}: no lesion {lesion_id}")
            lesion.histopathology = diagnosis.strip()[:200] or None
            lesion.histopathology_on = on
            audit.record(session, "change", "lesion", lesion.patient.uid,
                         f"lesion {lesion_id}: histopathology")

    # -- images ---------------------------------------------------------------------------
    def image_data(self, sha256: str) -> bytes:
        """The stored image bytes, verified (``ImageIntegrityError`` when they do not match)."""
        with self.reading("reading an image") as session:
            data = session.scalar(select(ImageBlob.data).where(ImageBlob.sha256 == sha256))
        if data is None:
            raise CaseStoreError(f"case store {self.label}: image {sha256[:12]}… is missing")
        return verify(bytes(data), sha256, f"case store {self.label}, image {sha256[:12]}…")

    def thumbnails(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Thumbnail JPEGs of these images (missing ones are left out)."""
        if not shas:
            return {}
        with self.reading("reading thumbnails") as session:
            rows = session.execute(select(ImageBlob.sha256, ImageBlob.thumbnail)
                                   .where(ImageBlob.sha256.in_(list(shas))))
            return {sha: bytes(data) for sha, data in rows}

    # -- audit and checks -----------------------------------------------------------------
    def audit_entries(self, limit: int = 1000) -> list[AuditRecord]:
        """The newest audit entries, oldest first."""
        with self.reading("reading the audit trail") as session:
            rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [AuditRecord(e.at, e.os_user, e.action, e.entity, e.ref, e.detail)
                    for e in reversed(list(rows))]

    def check(self) -> list[str]:
        """Problems found: database integrity, foreign keys, damaged or unused images."""
        problems: list[str] = []
        with self.reading("checking it") as session:
            if self.is_sqlite:
                for (line,) in session.execute(text("PRAGMA integrity_check")):
                    if line != "ok":
                        problems.append(f"database: {line}")
                for row in session.execute(text("PRAGMA foreign_key_check")):
                    problems.append(f"broken reference in table {row[0]}, row {row[1]}")
            unused = session.scalars(select(ImageBlob.sha256).where(
                ~exists().where(Visit.image_sha256 == ImageBlob.sha256))).all()
            problems += [f"image {sha[:12]}… belongs to no visit" for sha in unused]
            shas = session.scalars(select(ImageBlob.sha256)).all()
        for start in range(0, len(shas), 50):
            with self.reading("checking images") as session:
                for sha, data in session.execute(select(ImageBlob.sha256, ImageBlob.data)
                                                 .where(ImageBlob.sha256.in_(shas[start:start + 50]))):
                    try:
                        verify(bytes(data), sha, f"image {sha[:12]}…")
                    except CaseStoreError as error:
                        problems.append(str(error))
                    except Exception as error:  # noqa: BLE001 - report, keep checking
                        problems.append(str(error))
        return problems


# -- helpers ------------------------------------------------------------------------------
def _check_clinic_id(clinic_id: str) -> str:
    cleaned = (clinic_id or "").strip()
    if not cleaned:
        raise ValueError("a patient ID is required")
    if len(cleaned) > 64:
        raise ValueError("a patient ID has at most 64 characters")
    return cleaned


def _patient_fields(**given: Any) -> dict[str, Any]:
    checks = {"name": lambda v: (str(v).strip()[:200] or None) if v is not None else None,
              "birth_year": check_birth_year, "sex": check_sex, "fitzpatrick": check_fitzpatrick,
              "notes": lambda v: str(v or "")}
    return {key: checks[key](value) for key, value in given.items() if value is not UNSET}


def _new_patient(session: Session, clinic_id: str) -> Patient:
    now = audit.utc_now()
    patient = Patient(uid=uuid.uuid4().hex, clinic_id=clinic_id, notes="", created_at=now,
                      updated_at=now)
    session.add(patient)
    session.flush()
    audit.record(session, "create", "patient", patient.uid)
    return patient


def _find_or_create_lesion(session: Session, patient: Patient, label: str | None,
                           site: str | None) -> Lesion:
    if label is not None:
        label = label.strip()[:200] or None
    if label is not None:
        found = session.scalar(select(Lesion).where(Lesion.patient_id == patient.id,
                                                    Lesion.label == label))
        if found is not None:
            if site and not found.site:
                found.site = site
            return found
    else:
        count = session.scalar(select(func.count()).where(Lesion.patient_id == patient.id)) or 0
        label = f"lesion {count + 1}"
    lesion = Lesion(patient_id=patient.id, label=label, site=site, created_at=audit.utc_now())
    session.add(lesion)
    session.flush()
    audit.record(session, "create", "lesion", patient.uid, f"lesion {lesion.id}")
    return lesion


def _result_row(result: StoredResult) -> Result:
    return Result(model_name=result.model_name, model_version=result.model_version,
                  model_sha256=result.model_sha256, top_class=result.top_class,
                  probabilities=dict(result.probabilities), alerts=list(result.alerts),
                  operating_point=result.operating_point, flags=dict(result.flags),
                  created_at=result.created_at or audit.utc_now())


def _stored(row: Result) -> StoredResult:
    return StoredResult(model_name=row.model_name, model_version=row.model_version,
                        model_sha256=row.model_sha256, top_class=row.top_class,
                        probabilities=dict(row.probabilities), alerts=list(row.alerts),
                        operating_point=row.operating_point, flags=dict(row.flags),
                        created_at=row.created_at, id=row.id)


def _patient_record(patient: Patient) -> PatientRecord:
    return PatientRecord(
        uid=patient.uid, clinic_id=patient.clinic_id, name=patient.name,
        birth_year=patient.birth_year, sex=patient.sex, fitzpatrick=patient.fitzpatrick,
        notes=patient.notes,
        lesions=tuple(
            LesionRecord(
                id=lesion.id, label=lesion.label, site=lesion.site,
                histopathology=lesion.histopathology, histopathology_on=lesion.histopathology_on,
                visits=tuple(
                    VisitRecord(id=v.id, lesion_id=lesion.id, taken_on=v.taken_on,
                                date_source=v.date_source, dermatoscope=v.dermatoscope,
                                image_sha256=v.image_sha256, original_name=v.original_name,
                                results=tuple(_stored(r) for r in v.results),
                                decision=v.decision, follow_up_months=v.follow_up_months)
                    for v in lesion.visits))
            for lesion in patient.lesions))
