"""availability: rules ending at midnight pass the check constraint on SQLite too

SQLite stores a TIME as text with microseconds ('00:00:00.000000'), so the
check ``end_time = '00:00:00'`` refused every rule ending at midnight there.

Revision ID: 0003_availability
Revises: 0002_scheduling
Create Date: 2026-11-29 16:10:00

"""
import warnings

from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_availability'
down_revision = '0002_scheduling'
branch_labels = None
depends_on = None

OLD = "end_time > start_time OR end_time = '00:00:00'"
NEW = "end_time > start_time OR end_time IN ('00:00:00', '00:00:00.000000')"


def _replace_check(condition: str) -> None:
    # SQLite rebuilds the table, reflecting it and the tables its keys point to;
    # users has an expression index that SQLAlchemy cannot reflect (and need not).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
        with op.batch_alter_table('availability_rules', schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f('ck_availability_rules_end_after_start'), type_='check'
            )
            batch_op.create_check_constraint(
                batch_op.f('ck_availability_rules_end_after_start'), condition
            )


def upgrade():
    _replace_check(NEW)


def downgrade():
    _replace_check(OLD)
