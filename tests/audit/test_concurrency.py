"""Appends from several threads at once still make one unbroken chain.

Each append locks the chain head (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
IMMEDIATE transaction mode takes the write lock), so no two entries get the same sequence
or the same predecessor. The threads start together at a barrier, and the chain head does not
exist yet, so the first appends also race to create it.
"""

import io
from functools import partial

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabase

from audit.models import Action, AuditEntry, ChainHead
from audit.trail import Origin, record
from tests.at_once import at_once

THREADS = 4
ENTRIES_PER_THREAD = 10


def test_concurrent_appends_make_one_unbroken_chain(transactional_db: None) -> None:
    database = connections[DEFAULT_DB_ALIAS]
    if isinstance(database, SQLiteDatabase) and database.is_in_memory_db():
        pytest.skip(
            "SQLite's in-memory test database shares one cache between threads, whose table "
            "locks fail at once instead of waiting; run with PostgreSQL (as CI does)"
        )
    assert not ChainHead.objects.exists()

    def append(worker: int) -> None:
        try:
            for index in range(ENTRIES_PER_THREAD):
                record(
                    Action.SIGN_IN,
                    origin=Origin(worker, f"worker-{worker}"),
                    summary=f"worker {worker}, entry {index}",
                )
        finally:
            connection.close()

    at_once([partial(append, worker) for worker in range(THREADS)], timeout=60)
    total = THREADS * ENTRIES_PER_THREAD
    sequences = list(AuditEntry.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, total + 1))
    for worker in range(THREADS):
        summaries = AuditEntry.objects.filter(actor_label=f"worker-{worker}").order_by("sequence")
        assert [entry.summary for entry in summaries] == [
            f"worker {worker}, entry {index}" for index in range(ENTRIES_PER_THREAD)
        ]
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert f"intact: {total} entries" in out.getvalue()
