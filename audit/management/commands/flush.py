"""Django's `flush`, which refuses to empty the audit trail outside the tests.

The trail's tables are protected by triggers: on PostgreSQL against TRUNCATE (what flush
uses), on SQLite against DELETE (what flush uses there). Without AUDIT_ALLOW_FLUSH, which
only the test suite turns on, flush refuses before it touches anything. With it (the teardown
of every transactional test), the triggers are lifted for the flush and put back in the same
transaction, so they are never missing for anyone else.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from audit.models import AuditEntry, ChainHead

AUDIT_TABLES = (AuditEntry._meta.db_table, ChainHead._meta.db_table)
# pg_trigger.tgtype's bit for a TRUNCATE trigger (TRIGGER_TYPE_TRUNCATE).
POSTGRES_TRUNCATE_TRIGGER = 1 << 5


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database: str = options["database"]
        connection = connections[database]
        existing = connection.introspection.django_table_names(
            only_existing=True, include_views=False
        )
        if not set(existing).intersection(AUDIT_TABLES):  # not among a test's available_apps
            super().handle(**options)
            return
        if not getattr(settings, "AUDIT_ALLOW_FLUSH", False):
            raise CommandError(
                "flush would empty the audit trail, which is append-only: nothing was flushed. "
                "(Only the test suite flushes it, with AUDIT_ALLOW_FLUSH.)"
            )
        with transaction.atomic(using=database), _protection_lifted(connection):
            super().handle(**options)


@contextmanager
def _protection_lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the triggers that would refuse the flush, and put them back afterwards; inside a
    transaction, so a failure puts them back too."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgrelid::regclass::text, tgname FROM pg_trigger "
                "WHERE tgrelid::regclass::text = ANY(%s) AND NOT tgisinternal "
                "AND tgenabled <> 'D' AND (tgtype & %s) <> 0",
                [list(AUDIT_TABLES), POSTGRES_TRUNCATE_TRIGGER],
            )
            lifted = cursor.fetchall()
            quote = connection.ops.quote_name
            for table, name in lifted:
                cursor.execute(f"ALTER TABLE {quote(table)} DISABLE TRIGGER {quote(name)}")
            yield
            for table, name in lifted:
                cursor.execute(f"ALTER TABLE {quote(table)} ENABLE TRIGGER {quote(name)}")
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                list(AUDIT_TABLES),
            )
            dropped = cursor.fetchall()
            for name, _ in dropped:
                cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
            yield
            for _, create in dropped:
                cursor.execute(create)
        else:
            yield
