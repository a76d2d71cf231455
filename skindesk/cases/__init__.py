"""The case store: patients, lesions, visit images, results, decisions and an audit trail.

Qt-free, like ``skindesk.core``: the CLI (``skindesk case``) and the app's Patients pane are
thin layers over ``CaseStore`` (``store``), export/import/backup (``transfer``) and the
comparison of two visits (``compare``). SQLite in the user's data folder by default, PostgreSQL
given a URL (``location``); the schema is migrated with Alembic on open (``database``).
"""

from __future__ import annotations

from .database import CaseStoreError
from .images import ImageIntegrityError
from .records import (AddOutcome, AuditRecord, LesionRecord, PatientRecord, PatientSummary,
                      StoredResult, VisitRecord, stored_result)
from .store import CaseStore, PatientNotFound
from .vocab import DECISIONS, SITES

__all__ = [
    "CaseStore",
    "CaseStoreError",
    "PatientNotFound",
    "ImageIntegrityError",
    "StoredResult",
    "stored_result",
    "AddOutcome",
    "AuditRecord",
    "LesionRecord",
    "PatientRecord",
    "PatientSummary",
    "VisitRecord",
    "SITES",
    "DECISIONS",
]
