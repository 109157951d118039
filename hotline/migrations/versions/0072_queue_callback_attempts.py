"""queue call-backs: every attempt logged with its outcome, retries not before a time

Revision ID: 0072
Revises: 0071
Create Date: 2026-11-24 16:00:00

``queue_callback_attempt`` (``hotline.outbound.models.QueueCallbackAttempt``): one row per
dial of a queue call-back, its seat, trunk and outcome (running while the outcome is NULL);
``queue_callback.next_attempt_at``: a retry waits its backoff and the calling hours.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0072'
down_revision = '0071'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('queue_callback') as batch:
        batch.add_column(sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
    op.create_table('queue_callback_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('callback_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('trunk', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seat', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['callback_id'], ['queue_callback.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('callback_id', 'attempt'),
    )
    op.create_index(op.f('ix_queue_callback_attempt_callback_id'), 'queue_callback_attempt',
                    ['callback_id'], unique=False)
    op.create_index(op.f('ix_queue_callback_attempt_outcome'), 'queue_callback_attempt',
                    ['outcome'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_queue_callback_attempt_outcome'), table_name='queue_callback_attempt')
    op.drop_index(op.f('ix_queue_callback_attempt_callback_id'),
                  table_name='queue_callback_attempt')
    op.drop_table('queue_callback_attempt')
    with op.batch_alter_table('queue_callback') as batch:
        batch.drop_column('next_attempt_at')
