"""audit log: monitoring sessions and retention clean-ups

Revision ID: 0050
Revises: 0025
Create Date: 2026-11-24 15:00:00

``audit_entry.ended_at``: when a monitoring session (listen / whisper / barge) ended;
``audit_entry.detail``: the phone and how the originate went, or a clean-up's counts and bytes.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0050'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_entry') as batch:
        batch.add_column(sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column('detail', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_entry') as batch:
        batch.drop_column('detail')
        batch.drop_column('ended_at')
