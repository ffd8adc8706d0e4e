"""outbox retention: an index of the messages whose contents are still kept

The retention job (services/messaging/outbox.prune_contents) removes what finished
messages said 30 days on. Its scan by due date reads only rows still holding their
contents: without this partial index each hourly run would pass over every message ever
sent (six or so per booking) to find the few newly old enough.

Revision ID: 0017_outbox_retention
Revises: 0016_feed_stamps
Create Date: 2026-12-02 09:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_outbox_retention"
down_revision = "0016_feed_stamps"
branch_labels = None
depends_on = None

UNPRUNED = "body_text <> '[contents removed]'"


def upgrade():
    op.create_index(
        "ix_outbox_messages_unpruned_due_at",
        "outbox_messages",
        ["due_at"],
        unique=False,
        postgresql_where=sa.text(UNPRUNED),
        sqlite_where=sa.text(UNPRUNED),
    )


def downgrade():
    op.drop_index("ix_outbox_messages_unpruned_due_at", table_name="outbox_messages")
