"""reports at a city's volume: covering date indexes on oversight_fact, lights by unit

Revision ID: 0071
Revises: 0070
Create Date: 2026-11-24 14:45:00

The rates of every unit over a period read the date indexes of ``oversight_fact``
(``ix_oversight_fact_dispatched`` …), which held only the date and the unit, so every fact of
the period was then read from the table; they now also hold the columns the rates test, as the
unit-and-date indexes of 0070 do. The workspace's lights per unit read every ticket of each
unit (SQLite's statistics see two lights, "none" and the rest, and the join started from the
units); ``ix_ticket_light_unit`` lets it read the lit tickets only, from the index.
"""

from alembic import op

revision = '0071'
down_revision = '0070'
branch_labels = None
depends_on = None

COVERING = {
    'dispatched': ['dispatched_at', 'unit_id', 'sign_by', 'responded_at'],
    'due': ['due_at', 'unit_id', 'finished_at', 'late_replies'],
    'revisited': ['revisited_at', 'unit_id', 'matter_id', 'satisfaction', 'unsatisfied_twice'],
}


def upgrade() -> None:
    for name, columns in COVERING.items():
        op.drop_index(f'ix_oversight_fact_{name}', table_name='oversight_fact')
        op.create_index(f'ix_oversight_fact_{name}', 'oversight_fact', columns, unique=False)
    op.create_index('ix_ticket_light_unit', 'ticket', ['light', 'main_unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_light_unit', table_name='ticket')
    for name, columns in COVERING.items():
        op.drop_index(f'ix_oversight_fact_{name}', table_name='oversight_fact')
        op.create_index(f'ix_oversight_fact_{name}', 'oversight_fact', columns[:2], unique=False)
