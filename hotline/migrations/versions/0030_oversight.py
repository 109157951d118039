"""oversight facts: one row per ticket and unit, kept by every transition; event action index

Revision ID: 0030
Revises: 0020
Create Date: 2026-11-28 10:00:00

``oversight_fact`` (``hotline.oversight.models``) holds what each unit's rates are judged on;
the service writes it in the transaction of every ticket transition. Existing tickets get
their facts folded from their event logs here (``hotline.oversight.store.rebuild_all``), so
an upgraded database reports on its past at once. ``ix_ticketevent_action_at`` finds the
即办 answers of a period for the direct-answer rate.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlmodel import Session


revision = '0030'
down_revision = '0020'
branch_labels = None
depends_on = None

_DATES = ('dispatched_at', 'sign_by', 'responded_at', 'due_at', 'replied_at', 'finished_at')


def upgrade() -> None:
    op.create_table('oversight_fact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('matter_id', sa.Integer(), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('dispatched_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sign_by', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('responded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('replied_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('late_replies', sa.Integer(), nullable=False),
    sa.Column('redo_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('refused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('revisited_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('satisfaction', sa.String(length=8), nullable=True),
    sa.Column('unsatisfied_twice', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'unit_id'),
    )
    for name, columns in (
        ('dispatched', ['dispatched_at', 'unit_id']),
        ('due', ['due_at', 'unit_id']),
        ('revisited', ['revisited_at', 'unit_id']),
        ('unit_dispatched', ['unit_id', 'dispatched_at']),
        ('unit_due', ['unit_id', 'due_at']),
        ('unit_revisited', ['unit_id', 'revisited_at']),
        ('redo', ['redo_at']),
        ('refused', ['refused_at']),
    ):
        op.create_index(f'ix_oversight_fact_{name}', 'oversight_fact', columns, unique=False)
    op.create_index('ix_ticketevent_action_at', 'ticketevent', ['action', 'at'], unique=False)
    from hotline.oversight.store import rebuild_all

    with Session(bind=op.get_bind()) as session:
        rebuild_all(session=session)
        session.flush()


def downgrade() -> None:
    op.drop_index('ix_ticketevent_action_at', table_name='ticketevent')
    op.drop_table('oversight_fact')
