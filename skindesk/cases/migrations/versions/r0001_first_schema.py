"""The first case-store schema: patients, lesions, images, visits, results, append-only audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit "
    "BEGIN SELECT RAISE(ABORT, 'the audit table is append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'the audit table is append-only'; END $$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("clinic_id", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("birth_year", sa.Integer),
        sa.Column("sex", sa.String(16)),
        sa.Column("fitzpatrick", sa.Integer),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "lesions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("patient_id", sa.Integer,
                  sa.ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("site", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_lesions_patient_id", "lesions", ["patient_id"])
    op.create_table(
        "images",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("thumbnail", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lesion_id", sa.Integer,
                  sa.ForeignKey("lesions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("image_sha256", sa.String(64), sa.ForeignKey("images.sha256"), nullable=False),
        sa.Column("taken_on", sa.Date, nullable=False),
        sa.Column("date_source", sa.String(16), nullable=False),
        sa.Column("dermatoscope", sa.String(200), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_visits_lesion_id", "visits", ["lesion_id"])
    op.create_index("ix_visits_image_sha256", "visits", ["image_sha256"])
    op.create_table(
        "results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("visit_id", sa.Integer,
                  sa.ForeignKey("visits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("top_class", sa.String(64), nullable=False),
        sa.Column("probabilities", sa.JSON, nullable=False),
        sa.Column("alerts", sa.JSON, nullable=False),
        sa.Column("operating_point", sa.String(200), nullable=False),
        sa.Column("flags", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_results_visit_id", "results", ["visit_id"])
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("os_user", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("audit", "results", "visits", "images", "lesions", "patients"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
