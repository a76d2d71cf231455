"""Clinical outcomes: the clinician's decision per visit and the lesion's histopathology.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("visits", sa.Column("decision", sa.String(16)))
    op.add_column("visits", sa.Column("follow_up_months", sa.Integer))
    op.add_column("visits", sa.Column("decided_at", sa.DateTime))
    op.add_column("lesions", sa.Column("histopathology", sa.String(200)))
    op.add_column("lesions", sa.Column("histopathology_on", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("lesions") as batch:
        batch.drop_column("histopathology_on")
        batch.drop_column("histopathology")
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("decided_at")
        batch.drop_column("follow_up_months")
        batch.drop_column("decision")
