"""parked tickets (挂账) are watched by the deadline scan: next_light_at holds the review date

Revision ID: 0073
Revises: 0072
Create Date: 2026-11-24 16:05:00

Data only. A parked ticket now keeps its review date in ``ticket.next_light_at`` until the
scan has published its ``review`` change (``scanner.scan``). Tickets parked before this had
none and would never be reminded: they get their review date, so a date already past is
reminded once at the next scan. Downgrading clears it again (no clock runs while parked).
"""

from alembic import op

revision = '0073'
down_revision = '0072'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE ticket SET next_light_at = parked_until "
        "WHERE status = 'parked' AND parked_until IS NOT NULL AND next_light_at IS NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE ticket SET next_light_at = NULL WHERE status = 'parked'")
