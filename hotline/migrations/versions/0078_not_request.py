"""calls that are not requests (无效来电): the reason and note of a discarded draft

Revision ID: 0078
Revises: 0077
Create Date: 2026-11-24 22:00:00

``ticket_draft.discard_reason`` (silent, wrong_number, harassment, hung_up, test, other) and
``discard_note`` say why the seat made no ticket of a call (``hotline.intake.not_request``);
drafts discarded before keep an empty reason.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0078'
down_revision = '0077'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discard_reason',
                                      sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('discard_note', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('ticket_draft', schema=None) as batch_op:
        batch_op.drop_column('discard_note')
        batch_op.drop_column('discard_reason')
