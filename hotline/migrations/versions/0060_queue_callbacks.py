"""queue call-backs (漏接回拨): callers who asked to be called back or hung up waiting

Revision ID: 0060
Revises: 0050
Create Date: 2026-11-24 14:30:00

``queue_callback`` (``hotline.outbound.models.QueueCallback``): one row per call to return,
its place in line (``joined_at``), status, attempts and the seat rung last.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0060'
down_revision = '0050'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('joined_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('seat', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_uniqueid'),
    )
    op.create_index('ix_queue_callback_due', 'queue_callback', ['status', 'joined_at'],
                    unique=False)
    op.create_index(op.f('ix_queue_callback_phone'), 'queue_callback', ['phone'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_queue_callback_phone'), table_name='queue_callback')
    op.drop_index('ix_queue_callback_due', table_name='queue_callback')
    op.drop_table('queue_callback')
