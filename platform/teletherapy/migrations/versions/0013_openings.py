"""openings: each therapist's next opening per setting, kept with their calendar

Revision ID: 0013_openings
Revises: 0012_sign_in_sessions
Create Date: 2026-12-01 20:30:00

"""
import sqlalchemy as sa
from alembic import op

from teletherapy.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0013_openings"
down_revision = "0012_sign_in_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "therapist_openings",
        sa.Column("therapist_id", sa.Integer(), nullable=False),
        sa.Column("online_at", UTCDateTime(), nullable=True),
        sa.Column("in_office_at", UTCDateTime(), nullable=True),
        sa.Column("home_at", UTCDateTime(), nullable=True),
        sa.Column("any_at", UTCDateTime(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["therapist_id"],
            ["therapist_profiles.id"],
            name=op.f("fk_therapist_openings_therapist_id_therapist_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("therapist_id", name=op.f("pk_therapist_openings")),
    )
    op.create_index(
        op.f("ix_therapist_openings_valid_until"),
        "therapist_openings",
        ["valid_until"],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f("ix_therapist_openings_valid_until"), table_name="therapist_openings")
    op.drop_table("therapist_openings")
