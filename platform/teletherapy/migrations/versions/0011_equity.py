"""equity: searches as aggregates-to-be, first searches until booked, anonymous care starts

Revision ID: 0011_equity
Revises: 0010_screening
Create Date: 2026-12-01 20:40:00

"""
from alembic import op
import sqlalchemy as sa

import teletherapy.models.base


# revision identifiers, used by Alembic.
revision = "0011_equity"
down_revision = "0010_screening"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "equity_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("searched_at", teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fee_band", sa.String(length=8), nullable=False),
        sa.Column("setting", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("required_languages", sa.String(length=64), nullable=False),
        sa.Column("preferred_languages", sa.String(length=64), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("most_removed_by", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_searches")),
    )
    with op.batch_alter_table("equity_searches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equity_searches_searched_at"), ["searched_at"], unique=False)

    op.create_table(
        "equity_first_searches",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("searched_at", teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fee_band", sa.String(length=8), nullable=False),
        sa.Column("setting", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_equity_first_searches_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_equity_first_searches")),
    )
    with op.batch_alter_table("equity_first_searches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equity_first_searches_searched_at"), ["searched_at"], unique=False)

    op.create_table(
        "equity_care_starts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("searched_on", sa.Date(), nullable=False),
        sa.Column("fee_band", sa.String(length=8), nullable=False),
        sa.Column("setting", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("hours_to_booking", sa.Integer(), nullable=True),
        sa.Column("hours_to_first_session", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equity_care_starts")),
    )
    with op.batch_alter_table("equity_care_starts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_equity_care_starts_searched_on"), ["searched_on"], unique=False)


def downgrade():
    with op.batch_alter_table("equity_care_starts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equity_care_starts_searched_on"))
    op.drop_table("equity_care_starts")
    with op.batch_alter_table("equity_first_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equity_first_searches_searched_at"))
    op.drop_table("equity_first_searches")
    with op.batch_alter_table("equity_searches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equity_searches_searched_at"))
    op.drop_table("equity_searches")
