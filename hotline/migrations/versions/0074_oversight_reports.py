"""scheduled oversight reports: one row per generated 日报, 周报, 月报

Revision ID: 0074
Revises: 0073
Create Date: 2026-11-24 19:40:00

``oversight_report`` (``hotline.oversight.models.OversightReport``): the unique
(kind, period_start) is the claim that makes each period's report generated once, whatever
the restarts and however many processes run the scheduler; the row lists the files written
under the exports folder until the retention clean-up removes them.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0074'
down_revision = '0073'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oversight_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('generated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('folder', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'period_start'),
    )
    op.create_index(op.f('ix_oversight_report_status'), 'oversight_report', ['status'],
                    unique=False)
    op.create_index(op.f('ix_oversight_report_generated_at'), 'oversight_report',
                    ['generated_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_oversight_report_generated_at'), table_name='oversight_report')
    op.drop_index(op.f('ix_oversight_report_status'), table_name='oversight_report')
    op.drop_table('oversight_report')
