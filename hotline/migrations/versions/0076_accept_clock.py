"""the live 受理 clock: the light published per call, escalations of calls without a ticket

Revision ID: 0076
Revises: 0075
Create Date: 2026-11-24 19:30:00

``call.accept_light`` keeps the 受理 clock's light last published for a call a seat answered
(``hotline.tickets.accept``), so a restarted scheduler does not publish it again. The scan
finds its calls through the existing ``ix_call_started_at`` (the last hour's calls), so no
index is added to the call table. ``outbound_escalation`` takes calls that were not made a
ticket in time (超时未受理): ``ticket_id`` may be empty and ``call_uniqueid`` names the call.
Downgrading drops those escalations first (they have no ticket).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0076'
down_revision = '0075'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_light', sqlmodel.sql.sqltypes.AutoString(length=8),
                                      nullable=True))
    with op.batch_alter_table('outbound_escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_uniqueid',
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM outbound_escalation WHERE ticket_id IS NULL")
    with op.batch_alter_table('outbound_escalation', schema=None) as batch_op:
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('call_uniqueid')
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('accept_light')
