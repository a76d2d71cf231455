"""PostgreSQL: store image bytes uncompressed (they are JPEG/PNG already; compressing them again
only costs time on every write). Nothing changes on SQLite.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE images ALTER COLUMN data SET STORAGE EXTERNAL")
        op.execute("ALTER TABLE images ALTER COLUMN thumbnail SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE images ALTER COLUMN data SET STORAGE EXTENDED")
        op.execute("ALTER TABLE images ALTER COLUMN thumbnail SET STORAGE EXTENDED")
