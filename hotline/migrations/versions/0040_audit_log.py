"""audit log: every play and download of a recording

Revision ID: 0040
Revises: 0030
Create Date: 2026-11-30 10:00:00

``audit_entry`` (``hotline.audit.models``): who played or downloaded which recording, when,
from where. The recording is named by id and path without a foreign key, so that an entry
outlives the recording retention deletes.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0040'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('call_uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_entry_at'), 'audit_entry', ['at'], unique=False)
    op.create_index(op.f('ix_audit_entry_actor'), 'audit_entry', ['actor'], unique=False)
    op.create_index(op.f('ix_audit_entry_recording_id'), 'audit_entry', ['recording_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_entry_recording_id'), table_name='audit_entry')
    op.drop_index(op.f('ix_audit_entry_actor'), table_name='audit_entry')
    op.drop_index(op.f('ix_audit_entry_at'), table_name='audit_entry')
    op.drop_table('audit_entry')
