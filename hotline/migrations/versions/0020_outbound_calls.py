"""outbound calls: calls to place, their attempts, do-not-call list, escalations, cursor

Revision ID: 0020
Revises: 0008
Create Date: 2026-11-24 13:00:00

``outbound_call``: one survey (回访) of a ticket's caller or one reminder (督办) to a unit's
duty phone; ``active_number`` is unique (NULL when no attempt runs), so two calls to one
number at once cannot both be stored. ``outbound_attempt``: every dial with its outcome.
``do_not_call``, ``outbound_escalation`` (the supervisors' list) and ``outbound_cursor``
(the last ``ticket_change`` the scheduler planned from).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0020'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('do_not_call',
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('added_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('phone')
    )
    op.create_table('outbound_cursor',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('outbound_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('caller_ticket', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('trunk', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('active_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('light', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('deadline', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('result', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('escalate_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('escalated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('active_number'),
    sa.UniqueConstraint('dedupe_key')
    )
    with op.batch_alter_table('outbound_call', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_call_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbound_call_escalate', ['escalate_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_call_phone'), ['phone'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_call_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('outbound_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('trunk', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['outbound_call.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id', 'attempt')
    )
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_attempt_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_attempt_uniqueid'), ['uniqueid'], unique=False)

    op.create_table('outbound_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=True),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('deadline', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['outbound_call.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id')
    )
    with op.batch_alter_table('outbound_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_escalation_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_escalation_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbound_escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_escalation_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_escalation_at'))

    op.drop_table('outbound_escalation')
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_attempt_uniqueid'))
        batch_op.drop_index(batch_op.f('ix_outbound_attempt_call_id'))

    op.drop_table('outbound_attempt')
    with op.batch_alter_table('outbound_call', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_call_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_call_phone'))
        batch_op.drop_index('ix_outbound_call_escalate')
        batch_op.drop_index('ix_outbound_call_due')

    op.drop_table('outbound_call')
    op.drop_table('outbound_cursor')
    op.drop_table('do_not_call')
