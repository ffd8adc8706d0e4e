"""screening: results, consent, cadence per client, self-harm alerts

Revision ID: 0010_screening
Revises: 0009_audit
Create Date: 2026-12-01 20:30:00

"""
from alembic import op
import sqlalchemy as sa

import teletherapy.models.base


# revision identifiers, used by Alembic.
revision = "0010_screening"
down_revision = "0009_audit"
branch_labels = None
depends_on = None

def upgrade():
    op.create_table('screening_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('is_given', sa.Boolean(), nullable=False),
    sa.Column('text_version', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('recorded_at', teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_screening_consents_client_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_consents'))
    )
    with op.batch_alter_table('screening_consents', schema=None) as batch_op:
        batch_op.create_index('ix_screening_consents_client_id_recorded_at', ['client_id', 'recorded_at'], unique=False)

    op.create_table('screening_cadences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('cadence', sa.String(length=16), nullable=False),
    sa.Column('updated_at', teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_screening_cadences_client_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist_profiles.id'], name=op.f('fk_screening_cadences_therapist_id_therapist_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_cadences')),
    sa.UniqueConstraint('client_id', 'therapist_id', name='uq_screening_cadences_pair')
    )
    with op.batch_alter_table('screening_cadences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_cadences_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('screenings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=8), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=24), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('is_intake', sa.Boolean(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("instrument IN ('phq9', 'gad7')", name=op.f('ck_screenings_known_instrument')),
    sa.CheckConstraint('total >= 0', name=op.f('ck_screenings_total_not_negative')),
    sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_screenings_client_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['consent_id'], ['screening_consents.id'], name=op.f('fk_screenings_consent_id_screening_consents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screenings'))
    )
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.create_index('ix_screenings_client_id_completed_at', ['client_id', 'completed_at'], unique=False)

    op.create_table('screening_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('screening_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('created_at', teletherapy.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', teletherapy.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['users.id'], name=op.f('fk_screening_alerts_acknowledged_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['users.id'], name=op.f('fk_screening_alerts_client_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'], name=op.f('fk_screening_alerts_screening_id_screenings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist_profiles.id'], name=op.f('fk_screening_alerts_therapist_id_therapist_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_alerts'))
    )
    with op.batch_alter_table('screening_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screening_alerts_client_id'), ['client_id'], unique=False)
        batch_op.create_index('ix_screening_alerts_open', ['therapist_id', 'acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_screening_alerts_screening_id'), ['screening_id'], unique=False)


def downgrade():
    with op.batch_alter_table('screening_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_alerts_screening_id'))
        batch_op.drop_index('ix_screening_alerts_open')
        batch_op.drop_index(batch_op.f('ix_screening_alerts_client_id'))

    op.drop_table('screening_alerts')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_client_id_completed_at')

    op.drop_table('screenings')
    with op.batch_alter_table('screening_cadences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screening_cadences_therapist_id'))

    op.drop_table('screening_cadences')
    with op.batch_alter_table('screening_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_consents_client_id_recorded_at')

    op.drop_table('screening_consents')
