"""Alembic migrations of the case store, run by ``skindesk.cases.database.migrate`` on open."""
