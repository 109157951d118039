"""outbound desk: who took a call from the callback queue, the note resolving an escalation

Revision ID: 0025
Revises: 0040
Create Date: 2026-11-24 14:00:00

``outbound_call.taken_by`` / ``taken_at``: the callback agent (回访员) who took a survey whose
attempts were used up; ``outbound_escalation.note``: what the supervisor did about it.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0025'
down_revision = '0040'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbound_call') as batch:
        batch.add_column(sa.Column('taken_by', sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
        batch.add_column(sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
    with op.batch_alter_table('outbound_escalation') as batch:
        batch.add_column(sa.Column('note', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbound_escalation') as batch:
        batch.drop_column('note')
    with op.batch_alter_table('outbound_call') as batch:
        batch.drop_column('taken_at')
        batch.drop_column('taken_by')
