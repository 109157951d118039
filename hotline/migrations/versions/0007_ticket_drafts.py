"""work-order drafts from transcripts; draft changes in the ticket change outbox

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-27 10:00:00

``ticket_draft``: one per call (``call_uniqueid`` unique), linked to its recordings, the
transcript it was made from and, once accepted, its ticket. ``ticket_change`` carries draft
changes too: ``draft_id`` added (no foreign key: the outbox is a log of what happened),
``ticket_id`` nullable (a draft that is not a ticket yet). SQLite rebuilds ``ticket_change``
(batch mode); no trigger or FTS table hangs on it.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ticket_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_uniqueid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recording_id', sa.Integer(), nullable=True),
    sa.Column('transcript_id', sa.Integer(), nullable=True),
    sa.Column('recording_ids', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('suggestions', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['recording_id'], ['recording.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcript.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_draft_call_uniqueid'), ['call_uniqueid'],
                              unique=True)
        batch_op.create_index(batch_op.f('ix_ticket_draft_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_draft_ticket_id'), ['ticket_id'],
                              unique=False)

    with op.batch_alter_table('ticket_change', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_id', sa.Integer(), nullable=True))
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f('ix_ticket_change_draft_id'), ['draft_id'],
                              unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM ticket_change WHERE ticket_id IS NULL")
    with op.batch_alter_table('ticket_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_change_draft_id'))
        batch_op.alter_column('ticket_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('draft_id')
    with op.batch_alter_table('ticket_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_draft_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_draft_status'))
        batch_op.drop_index(batch_op.f('ix_ticket_draft_call_uniqueid'))
    op.drop_table('ticket_draft')
