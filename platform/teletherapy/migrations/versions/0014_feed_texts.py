"""feed texts: each booking's rendered calendar-feed event, per viewer; feed change stamps

Revision ID: 0014_feed_texts
Revises: 0013_openings
Create Date: 2026-12-01 21:05:00

"""
import sqlalchemy as sa
from alembic import op

from teletherapy.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = "0014_feed_texts"
down_revision = "0013_openings"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "booking_feed_texts",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_feed_texts_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("booking_id", "audience", name=op.f("pk_booking_feed_texts")),
    )
    op.add_column("calendar_feed_tokens", sa.Column("changed_at", UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("calendar_feed_tokens") as batch:
        batch.drop_column("changed_at")
    op.drop_table("booking_feed_texts")
