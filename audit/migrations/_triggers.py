"""What the audit migrations share: running one database's trigger SQL, and the entries'
SQLite triggers (0002 creates them; 0004 creates them again after SQLite copied the table).

The loader skips modules whose name starts with "_", so this is not a migration. Migrations
import it: change it only in ways every migration that uses it still means.
"""

from collections.abc import Sequence

from django.db.backends.base.schema import BaseDatabaseSchemaEditor

ENTRIES = "audit_auditentry"

SQLITE_ENTRY_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_entries_no_update BEFORE UPDATE ON {ENTRIES}
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS audit_entries_no_delete BEFORE DELETE ON {ENTRIES}
        BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END;""",
]


def execute_for_database(
    schema_editor: BaseDatabaseSchemaEditor, *, postgresql: str = "", sqlite: Sequence[str] = ()
) -> None:
    """PostgreSQL (production) runs one script, SQLite (the embedded default) its statements."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql" and postgresql:
        # No parameters: the functions' bodies have a literal % that is not a placeholder.
        schema_editor.execute(postgresql, params=None)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)
