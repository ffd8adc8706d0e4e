"""feed stamps: each kept feed text's SEQUENCE and DTSTAMP beside it, compared in SQL

Revision ID: 0016_feed_stamps
Revises: 0015_matching
Create Date: 2026-12-02 07:50:00

"""
import sqlalchemy as sa
from alembic import op

from teletherapy.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0016_feed_stamps"
down_revision = "0015_matching"
branch_labels = None
depends_on = None


def upgrade():
    # Rows kept before this revision have neither: they differ from their booking and
    # are rendered again once, by the next build of their feed.
    op.add_column("booking_feed_texts", sa.Column("sequence", sa.Integer(), nullable=True))
    op.add_column("booking_feed_texts", sa.Column("stamped_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("booking_feed_texts") as batch:
        batch.drop_column("stamped_at")
        batch.drop_column("sequence")
