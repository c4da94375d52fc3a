"""a dialog turn's lock and read, and its write and unlock, as one round trip each (PostgreSQL)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 12:00:00

Every update of a dialog runs in its chat's turn (bot/dialog_state.py, storage/dialog_store.py):
its chat's and user's advisory locks are taken, its rows read, the update handled, what changed
written, the locks released. On PostgreSQL that was four statements on the turn's lock
connection. These two routines make it two:

- ``dialog_turn_open(locks, user_id, names, keys)``: takes the locks in the order given, then
  reads the user's ``user_data`` row and the named conversations' rows. The function is
  VOLATILE, so its read takes a fresh snapshot after the locks are held and sees what the
  previous holder committed; one statement doing both (a SELECT of ``pg_advisory_lock(..)``
  beside the rows) would read a snapshot taken before it waited.
- ``CALL dialog_turn_close(locks, ...)``: writes what changed, COMMITs, and only then releases
  the locks, so the next holder reads the write. A procedure may commit; a function may not.
  It must be CALLed outside a transaction block (the lock connection is in AUTOCOMMIT).
  Its commit does not wait for the disk (``synchronous_commit = off`` for that transaction):
  the write is visible to the next holder at once, as any commit is, and reaches the disk
  within a fraction of a second (three times ``wal_writer_delay``, 200 ms by default). A crash
  of the database server itself in that window can put a dialog back the step it just took,
  never lose a case: a filing's own transaction commits synchronously, and a submission
  pressed again after such a crash finds its case by its submission key. Waiting for the disk
  here cost every dialog step 0.3-0.5 ms at the median (bench/bench_dialog.py).

JSON travels as text both ways, and the values are the same JSON the statements they replace
stored. SQLite has neither: one process is the supported shape there (storage.dialog_store).

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_OPEN = """
CREATE FUNCTION dialog_turn_open(locks bigint[], uid bigint, names text[], keys text[])
RETURNS TABLE (kind text, name text, key text, value text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    k bigint;
BEGIN
    FOREACH k IN ARRAY locks LOOP
        PERFORM pg_advisory_lock(k);
    END LOOP;
    RETURN QUERY
        SELECT 'u'::text, ''::text, ''::text, u.data::text
        FROM dialog_user_data u
        WHERE uid IS NOT NULL AND u.user_id = uid
        UNION ALL
        SELECT 'c'::text, c.name::text, c.key::text, c.state::text
        FROM dialog_conversations c
        JOIN unnest(names, keys) AS w(name, key) ON c.name = w.name AND c.key = w.key;
END
$$
"""

_CLOSE = """
CREATE PROCEDURE dialog_turn_close(
    locks bigint[],
    uid bigint,
    user_op text,
    user_data text,
    put_names text[],
    put_keys text[],
    put_states text[],
    drop_names text[],
    drop_keys text[],
    at timestamptz
)
LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
BEGIN
    IF user_op = 'put' THEN
        INSERT INTO dialog_user_data (user_id, data, updated_at)
        VALUES (uid, user_data::jsonb, at)
        ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at;
    ELSIF user_op = 'del' THEN
        DELETE FROM dialog_user_data WHERE user_id = uid;
    END IF;
    IF cardinality(put_names) > 0 THEN
        INSERT INTO dialog_conversations (name, key, state, updated_at)
        SELECT p.name, p.key, p.state::jsonb, at
        FROM unnest(put_names, put_keys, put_states) AS p(name, key, state)
        ON CONFLICT (name, key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;
    END IF;
    IF cardinality(drop_names) > 0 THEN
        DELETE FROM dialog_conversations c
        USING unnest(drop_names, drop_keys) AS d(name, key)
        WHERE c.name = d.name AND c.key = d.key;
    END IF;
    SET LOCAL synchronous_commit = off;
    COMMIT;
    FOREACH k IN ARRAY locks LOOP
        PERFORM pg_advisory_unlock(k);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_OPEN)
        op.execute(_CLOSE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP PROCEDURE IF EXISTS dialog_turn_close")
        op.execute("DROP FUNCTION IF EXISTS dialog_turn_open")
