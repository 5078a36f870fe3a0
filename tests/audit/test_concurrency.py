"""Appends from several threads at once still make one unbroken chain.

Each append locks the chain head (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
IMMEDIATE transaction mode takes the write lock), so no two entries get the same sequence
or the same predecessor. The threads start together at a barrier, and the chain head does not
exist yet, so the first appends also race to create it.
"""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabase

from audit.models import Action, AuditEntry, ChainHead
from audit.trail import Origin, record

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
    barrier = threading.Barrier(THREADS, timeout=30)
    failures: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            barrier.wait()
            for index in range(ENTRIES_PER_THREAD):
                record(
                    Action.SIGN_IN,
                    origin=Origin(worker, f"worker-{worker}"),
                    summary=f"worker {worker}, entry {index}",
                )
        except BaseException as error:  # reported below, in the test's own thread
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
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
