"""The append-only audit trail: who (OS user), when and what, never whose data.

Entries refer to a patient by the random ``uid`` the store gave them, never by clinic ID or
name, so the line left after an erasure holds no personal data. The database refuses updates
and deletes of the table (triggers made by the first migration).
"""

from __future__ import annotations

import getpass
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from .schema import AuditEntry

__all__ = ["ACTIONS", "os_user", "utc_now", "record"]

ACTIONS = ("create", "change", "export", "import", "delete", "backup")


def os_user() -> str:
    """The operating-system account running SkinDesk ('unknown' when it cannot be told)."""
    try:
        return getpass.getuser()[:64]
    except Exception:  # noqa: BLE001 - no login name (e.g. a service account without one)
        return "unknown"


def utc_now() -> datetime:
    """Now, in UTC, without tzinfo (how the store keeps every timestamp)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def record(session: Session, action: str, entity: str, ref: str, detail: str = "") -> None:
    """Add an audit entry to ``session``'s transaction (it commits, or vanishes, with it)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEntry(at=utc_now(), os_user=os_user(), action=action, entity=entity,
                           ref=ref, detail=detail[:200]))
