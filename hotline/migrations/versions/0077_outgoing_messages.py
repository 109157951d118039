"""outgoing messages to citizens (SMS): the durable outbox of hotline.notify

Revision ID: 0077
Revises: 0076
Create Date: 2026-11-24 19:20:00

``outgoing_message`` (``hotline.notify.models.OutgoingMessage``): one row per message to a web
caller (accepted, survey link), single by ``dedupe_key``, with its status, attempts, lease and
last error. Its planner keeps its place in the change outbox in ``outbound_cursor`` (``notify``).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0077'
down_revision = '0076'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outgoing_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lease_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lease_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key'),
    )
    op.create_index('ix_outgoing_message_due', 'outgoing_message',
                    ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_outgoing_message_ticket_id'), 'outgoing_message', ['ticket_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_outgoing_message_ticket_id'), table_name='outgoing_message')
    op.drop_index('ix_outgoing_message_due', table_name='outgoing_message')
    op.drop_table('outgoing_message')
    op.execute("DELETE FROM outbound_cursor WHERE name = 'notify'")
