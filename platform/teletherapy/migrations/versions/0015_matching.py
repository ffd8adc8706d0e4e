"""matching at scale: an index of the sessions that hold a therapist's time

Matching counts each candidate's sessions this week (the referral spread and the
reduced-fee cap) with one probe per therapist; this partial index holds only active
sessions that are the therapist's own time, with the fee band, so each probe reads a
few index entries and never the table (once the visibility map is set).

On PostgreSQL, statistics on therapist_tags (kind, code) together: "online in NY" is
not the product of "online" and "NY" apart, and the planner's row estimates for the
matching queries were five times too low without them.

Revision ID: 0015_matching
Revises: 0014_feed_texts
Create Date: 2026-12-02 04:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_matching"
down_revision = "0014_feed_texts"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('held', 'confirmed') AND (group_id IS NULL OR client_id IS NULL)"


def upgrade():
    op.create_index(
        "ix_bookings_active_therapist_id_start_at",
        "bookings",
        ["therapist_id", "start_at"],
        unique=False,
        postgresql_include=["fee_band"],
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE STATISTICS st_therapist_tags_kind_code (mcv, dependencies)"
            " ON kind, code FROM therapist_tags"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_therapist_tags_kind_code")
    op.drop_index("ix_bookings_active_therapist_id_start_at", table_name="bookings")
