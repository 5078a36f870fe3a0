"""Django's `flush`, able to empty the audit trail on SQLite too.

On PostgreSQL, flush uses TRUNCATE, which the append-only trigger (a row trigger) lets
through. On SQLite it uses DELETE, which our triggers refuse, so flush (and with it the
teardown of every transactional test) would fail once an entry exists. Here the SQLite
triggers that are installed are dropped for the flush and put back, in one transaction.
"""

from importlib import import_module
from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

append_only = import_module("audit.migrations.0002_append_only")


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database: str = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [append_only.TABLE],
            )
            installed = {name for (name,) in cursor.fetchall()}
            # The migration lists each trigger's DROP and CREATE in the same order.
            lifted = [
                (drop, create)
                for drop, create in zip(append_only.SQLITE_DOWN, append_only.SQLITE_UP, strict=True)
                if any(name in drop for name in installed)
            ]
            for drop, _ in lifted:
                cursor.execute(drop)
            super().handle(**options)
            for _, create in lifted:
                cursor.execute(create)
