"""group members: a seated client's own booking rows do not count as the therapist's time

Revision ID: 0008_group_members
Revises: 0007_matching
Create Date: 2026-11-29 17:35:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008_group_members"
down_revision = "0007_matching"
branch_labels = None
depends_on = None

_BASE = (
    "ALTER TABLE bookings ADD CONSTRAINT no_overlapping_sessions EXCLUDE USING gist "
    "(therapist_id WITH =, tstzrange(blocked_start_at, blocked_end_at, '[)') WITH &&) "
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # A group member's copy of a meeting (group_id and client_id both set) is the
    # client's calendar entry, not the therapist's time: the meeting row blocks it.
    op.execute("ALTER TABLE bookings DROP CONSTRAINT no_overlapping_sessions")
    op.execute(
        _BASE + "WHERE (status IN ('held', 'confirmed') "
        "AND NOT (group_id IS NOT NULL AND client_id IS NOT NULL))"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE bookings DROP CONSTRAINT no_overlapping_sessions")
    op.execute(_BASE + "WHERE (status IN ('held', 'confirmed'))")
