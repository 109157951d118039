"""oversight rates at a city's volume: covering unit-and-date indexes on oversight_fact

Revision ID: 0070
Revises: 0060
Create Date: 2026-11-24 14:00:00

On the synthetic city (``make bench-reports``, 300,000 tickets) SQLite ranked the units over a
year in 1.5 s: EXPLAIN showed each rate reading ``ix_oversight_fact_unit_<date>`` and then
every row of the year from the table. The unit-and-date indexes now also hold the columns the
rates test (``sign_by``, ``responded_at``; ``finished_at``, ``late_replies``; ``matter_id``,
``satisfaction``, ``unsatisfied_twice``), so a rate is read from the index alone (SQLite
"COVERING INDEX", PostgreSQL index-only scans): the year takes about 0.1 s. A per-unit-per-day
rollup (an incremental aggregate) was not needed for the targets, so none is kept.
"""

from alembic import op

revision = '0070'
down_revision = '0060'
branch_labels = None
depends_on = None

COVERING = {
    'unit_dispatched': (['unit_id', 'dispatched_at'], ['sign_by', 'responded_at']),
    'unit_due': (['unit_id', 'due_at'], ['finished_at', 'late_replies']),
    'unit_revisited': (['unit_id', 'revisited_at'],
                       ['matter_id', 'satisfaction', 'unsatisfied_twice']),
}


def upgrade() -> None:
    for name, (key, extra) in COVERING.items():
        op.drop_index(f'ix_oversight_fact_{name}', table_name='oversight_fact')
        op.create_index(f'ix_oversight_fact_{name}', 'oversight_fact', key + extra, unique=False)


def downgrade() -> None:
    for name, (key, _extra) in COVERING.items():
        op.drop_index(f'ix_oversight_fact_{name}', table_name='oversight_fact')
        op.create_index(f'ix_oversight_fact_{name}', 'oversight_fact', key, unique=False)
