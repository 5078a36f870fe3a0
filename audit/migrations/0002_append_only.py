"""The database itself refuses UPDATE and DELETE on audit entries.

PostgreSQL (production) gets a trigger function; SQLite (the embedded default) gets triggers of
its own. TRUNCATE stays possible for a database administrator (and for test teardown); the
chain head then no longer matches, which `verify_audit` reports.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from audit.migrations._triggers import ENTRIES, SQLITE_ENTRY_TRIGGERS, execute_for_database

TABLE = ENTRIES

POSTGRES_UP = f"""
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
POSTGRES_DOWN = f"""
DROP TRIGGER IF EXISTS audit_entries_append_only ON {TABLE};
DROP FUNCTION IF EXISTS audit_refuse_change();
"""
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_entries_no_update;",
    "DROP TRIGGER IF EXISTS audit_entries_no_delete;",
]


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    execute_for_database(schema_editor, postgresql=POSTGRES_UP, sqlite=SQLITE_ENTRY_TRIGGERS)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    execute_for_database(schema_editor, postgresql=POSTGRES_DOWN, sqlite=SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
