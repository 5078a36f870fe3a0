"""Keyed hashes, and the chain head and TRUNCATE under the database's protection too.

- `key_id` on each entry names the AUDIT_CHAIN_KEYS key its hash is an HMAC under. Existing
  entries get an empty one: they were hashed with plain SHA-256 and keep verifying as such.
  No row is rewritten (the append-only trigger would refuse it anyway): on PostgreSQL the
  column is added with a constant default, which touches no row; on SQLite Django copies the
  table into a new one, which drops its triggers, so they are created again here.
- The chain head cannot be deleted, nor moved back, nor born anywhere but at the start.
- PostgreSQL refuses TRUNCATE of both tables. Test teardown flushes through the project's
  `flush` command, which lifts that trigger for its own transaction when AUDIT_ALLOW_FLUSH
  is on (the tests turn it on; nothing else should).

The SQLite triggers of the chain head name no other table: SQLite checks every trigger when
a table is renamed, and a trigger on the head that read the entries would make each later
migration that copies the entries' table fail.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from audit.migrations._triggers import ENTRIES, SQLITE_ENTRY_TRIGGERS, execute_for_database

HEAD = "audit_chainhead"
GENESIS_HASH = "0" * 64

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION audit_chainhead_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'the audit chain head cannot be removed: DELETE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.sequence <> 0 OR NEW.last_hash <> '{GENESIS_HASH}' THEN
            RAISE EXCEPTION 'a new audit chain head starts at sequence 0: INSERT refused'
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.id <> OLD.id OR NEW.sequence < OLD.sequence
        OR (NEW.sequence = OLD.sequence AND NEW.last_hash <> OLD.last_hash) THEN
        RAISE EXCEPTION 'the audit chain head only moves forward: UPDATE refused'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_chainhead_guard
    BEFORE INSERT OR UPDATE OR DELETE ON {HEAD}
    FOR EACH ROW EXECUTE FUNCTION audit_chainhead_guard();

CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: TRUNCATE of % refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entries_no_truncate
    BEFORE TRUNCATE ON {ENTRIES}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
CREATE TRIGGER audit_chainhead_no_truncate
    BEFORE TRUNCATE ON {HEAD}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_chainhead_no_truncate ON {HEAD};
DROP TRIGGER IF EXISTS audit_entries_no_truncate ON {ENTRIES};
DROP FUNCTION IF EXISTS audit_refuse_truncate();
DROP TRIGGER IF EXISTS audit_chainhead_guard ON {HEAD};
DROP FUNCTION IF EXISTS audit_chainhead_guard();
"""

SQLITE_HEAD_UP = [
    f"""CREATE TRIGGER audit_chainhead_no_delete BEFORE DELETE ON {HEAD}
        BEGIN SELECT RAISE(ABORT, 'the audit chain head cannot be removed: DELETE refused');
        END;""",
    f"""CREATE TRIGGER audit_chainhead_forward_only BEFORE UPDATE ON {HEAD}
        WHEN NEW.id <> OLD.id OR NEW.sequence < OLD.sequence
            OR (NEW.sequence = OLD.sequence AND NEW.last_hash <> OLD.last_hash)
        BEGIN SELECT RAISE(ABORT, 'the audit chain head only moves forward: UPDATE refused');
        END;""",
    f"""CREATE TRIGGER audit_chainhead_starts_at_genesis BEFORE INSERT ON {HEAD}
        WHEN NEW.sequence <> 0 OR NEW.last_hash <> '{GENESIS_HASH}'
        BEGIN SELECT RAISE(ABORT,
            'a new audit chain head starts at sequence 0: INSERT refused'); END;""",
]
SQLITE_HEAD_DOWN = [
    "DROP TRIGGER IF EXISTS audit_chainhead_starts_at_genesis;",
    "DROP TRIGGER IF EXISTS audit_chainhead_forward_only;",
    "DROP TRIGGER IF EXISTS audit_chainhead_no_delete;",
]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Copying the entries' table dropped their SQLite triggers: they are created again.
    sqlite = SQLITE_ENTRY_TRIGGERS + SQLITE_HEAD_UP
    execute_for_database(schema_editor, postgresql=POSTGRES_UP, sqlite=sqlite)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    execute_for_database(schema_editor, postgresql=POSTGRES_DOWN, sqlite=SQLITE_HEAD_DOWN)


def restore_entry_triggers(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Going back: removing `key_id` copies the table again on SQLite, dropping its triggers."""
    execute_for_database(schema_editor, sqlite=SQLITE_ENTRY_TRIGGERS)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_password_reset_actions")]
    operations = [
        # Runs last when the migration is reversed, after the column is gone.
        migrations.RunPython(migrations.RunPython.noop, restore_entry_triggers),
        migrations.AddField(
            model_name="auditentry",
            name="key_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=16),
        ),
        migrations.RunPython(install, uninstall),
    ]
