"""The chain head is protected like the entries: the database refuses to delete it or move it
back. PostgreSQL refuses TRUNCATE of the trail's tables, and `manage.py flush` refuses to
empty the trail outside the tests, whichever database."""

from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.core.management.commands import flush as django_flush
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import Action, AuditEntry, ChainHead
from audit.trail import Origin, record
from teams.models import Team
from tests.audit.conftest import append_only_triggers, expected_triggers


def refusal() -> type[DatabaseError]:
    """What each database raises when a trigger refuses."""
    if connection.vendor == "postgresql":
        return ProgrammingError  # ERRCODE 'insufficient_privilege'
    if connection.vendor == "sqlite":
        return IntegrityError  # RAISE(ABORT, ...)
    pytest.skip(f"no trigger protects the chain head on {connection.vendor}")


def write_chain(count: int = 3) -> list[AuditEntry]:
    return [record(Action.SIGN_IN, origin=Origin(1, "dora")) for _ in range(count)]


def move_back(entries: list[AuditEntry]) -> None:
    """The tail-cut attack's second half: the head rewound to an earlier entry."""
    ChainHead.objects.filter(pk=1).update(
        sequence=entries[0].sequence, last_hash=entries[0].entry_hash
    )


def rewrite_in_place(entries: list[AuditEntry]) -> None:
    ChainHead.objects.filter(pk=1).update(last_hash="f" * 64)


def renumber(entries: list[AuditEntry]) -> None:
    ChainHead.objects.filter(pk=1).update(id=2)


def orm_save_back(entries: list[AuditEntry]) -> None:
    head = ChainHead.objects.get()
    head.sequence = 1
    head.save()


def orm_delete(entries: list[AuditEntry]) -> None:
    ChainHead.objects.all().delete()


def raw_delete(entries: list[AuditEntry]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_chainhead")


def raw_move_back(entries: list[AuditEntry]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_chainhead SET sequence = sequence - 1")


def second_head_midway(entries: list[AuditEntry]) -> None:
    ChainHead.objects.create(pk=2, sequence=entries[0].sequence, last_hash=entries[0].entry_hash)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (move_back, "only moves forward: UPDATE refused"),
        (rewrite_in_place, "only moves forward: UPDATE refused"),
        (renumber, "only moves forward: UPDATE refused"),
        (orm_save_back, "only moves forward: UPDATE refused"),
        (raw_move_back, "only moves forward: UPDATE refused"),
        (orm_delete, "cannot be removed: DELETE refused"),
        (raw_delete, "cannot be removed: DELETE refused"),
        (second_head_midway, "starts at sequence 0: INSERT refused"),
    ],
)
def test_the_database_refuses_to_remove_or_rewind_the_chain_head(
    change: Callable[[list[AuditEntry]], None], words: str
) -> None:
    error = refusal()
    entries = write_chain()

    with pytest.raises(error, match=words), transaction.atomic():
        change(entries)

    head = ChainHead.objects.get()
    assert (head.pk, head.sequence, head.last_hash) == (1, 3, entries[-1].entry_hash)


@pytest.mark.django_db
def test_the_head_still_moves_forward_and_is_born_at_the_start() -> None:
    refusal()
    assert not ChainHead.objects.exists()

    entries = write_chain(2)  # creates the head at the start, then advances it twice
    ChainHead.objects.filter(pk=1).update(sequence=2)  # standing still is no move back

    head = ChainHead.objects.get()
    assert (head.sequence, head.last_hash) == (2, entries[-1].entry_hash)
    assert entries[0].previous_hash == GENESIS_HASH


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_auditentry",
        "TRUNCATE audit_chainhead",
        "TRUNCATE audit_auditentry, audit_chainhead RESTART IDENTITY CASCADE",
    ],
)
def test_postgres_refuses_truncate_of_the_trail(statement: str) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL has TRUNCATE (SQLite's DELETE is refused row by row)")
    write_chain()

    with (
        pytest.raises(ProgrammingError, match=r"append-only: TRUNCATE of audit_\w+ refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert AuditEntry.objects.count() == 3
    assert ChainHead.objects.get().sequence == 3


@pytest.mark.django_db
def test_flush_outside_the_tests_refuses_the_audit_trail(settings: Any) -> None:
    refusal()
    settings.AUDIT_ALLOW_FLUSH = False  # as in every settings but the tests'
    write_chain()
    Team.objects.create(slug="kept", name="Kept")

    with pytest.raises(CommandError, match=r"would empty the audit trail.*nothing was flushed"):
        call_command("flush", interactive=False, verbosity=0)

    assert AuditEntry.objects.count() == 3
    assert ChainHead.objects.get().sequence == 3
    assert Team.objects.filter(slug="kept").exists()
    assert append_only_triggers() == expected_triggers()


@pytest.mark.django_db
def test_djangos_own_flush_is_refused_by_the_database() -> None:
    """Bypassing our flush (Django's own command, or its SQL from `sqlflush`) does not help:
    PostgreSQL refuses its TRUNCATE, SQLite its DELETE."""
    refusal()
    write_chain()

    with pytest.raises(CommandError, match="couldn't be flushed") as raised, transaction.atomic():
        django_flush.Command().handle(
            database="default", verbosity=0, interactive=False, reset_sequences=False
        )

    assert isinstance(raised.value.__cause__, DatabaseError)
    assert "refused" in str(raised.value.__cause__)
    assert AuditEntry.objects.count() == 3
