"""retention periods set on the page

Revision ID: 0075
Revises: 0074
Create Date: 2026-11-24 19:20:00

``retention_period`` (``hotline.retention.models``): one row per kind of data (calls,
recordings, exports) whose period was set on the retention page; it overrides the settings'
default, ``days`` null keeps that kind forever.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0075'
down_revision = '0074'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_period',
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )


def downgrade() -> None:
    op.drop_table('retention_period')
