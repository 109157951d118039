"""ticket search words, list indexes, ticket change outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:10:00

SQLite: ``ticket_fts`` is an FTS5 table over ``ticket.search_terms`` (external content, kept
in step by triggers); its tokenizer treats the characters our words may hold as part of a word,
so one FTS token is one search word. PostgreSQL: a GIN index on the words as an array
(``string_to_array(search_terms, ' ')``), queried with ``&&`` and ``@>``: the same words match
on both.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LIST_INDEXES = {
    "ix_ticket_created_id": ["created_at", "id"],
    "ix_ticket_status_created": ["status", "created_at", "id"],
    "ix_ticket_unit_created": ["main_unit_id", "created_at", "id"],
    "ix_ticket_type_created": ["request_type", "created_at", "id"],
    "ix_ticket_light_created": ["light", "created_at", "id"],
}

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE ticket_fts USING fts5(
        search_terms, content='ticket', content_rowid='id',
        tokenize="unicode61 remove_diacritics 0 tokenchars '.-+#&_%'")""",
    """CREATE TRIGGER ticket_fts_insert AFTER INSERT ON ticket BEGIN
        INSERT INTO ticket_fts(rowid, search_terms) VALUES (new.id, new.search_terms);
    END""",
    """CREATE TRIGGER ticket_fts_delete AFTER DELETE ON ticket BEGIN
        INSERT INTO ticket_fts(ticket_fts, rowid, search_terms)
        VALUES ('delete', old.id, old.search_terms);
    END""",
    """CREATE TRIGGER ticket_fts_update AFTER UPDATE OF search_terms ON ticket BEGIN
        INSERT INTO ticket_fts(ticket_fts, rowid, search_terms)
        VALUES ('delete', old.id, old.search_terms);
        INSERT INTO ticket_fts(rowid, search_terms) VALUES (new.id, new.search_terms);
    END""",
]


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_terms', sa.Text(), server_default='',
                                      nullable=False))
        for name, columns in LIST_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)

    op.create_table('ticket_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('light', sa.String(length=8), nullable=False),
    sa.Column('unit_ids', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_change_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_change_ticket_id'), ['ticket_id'],
                              unique=False)

    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
        op.execute("INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')")
    else:
        op.execute("CREATE INDEX ix_ticket_search_words ON ticket "
                   "USING gin (string_to_array(search_terms, ' '))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("ticket_fts_insert", "ticket_fts_delete", "ticket_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS ticket_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_ticket_search_words")
    with op.batch_alter_table('ticket_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_change_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_change_at'))
    op.drop_table('ticket_change')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        for name in LIST_INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column('search_terms')
