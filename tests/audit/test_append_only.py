"""The database itself refuses to change or remove an audit entry, whatever asks it to."""

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, ProgrammingError, connection, transaction

from audit.models import Action, AuditEntry
from audit.trail import Origin, TeamRef, record
from teams.models import Team
from tests.audit.conftest import append_only_triggers, expected_triggers
from tests.teams.world import make_user


def refusal() -> tuple[type[DatabaseError], str]:
    """What each database raises when the trigger refuses, and the words it uses."""
    if connection.vendor == "postgresql":
        # RAISE ... USING ERRCODE = 'insufficient_privilege' (42501), a ProgrammingError.
        return ProgrammingError, "audit entries are append-only"
    if connection.vendor == "sqlite":
        # RAISE(ABORT, ...) in a trigger is a constraint failure.
        return IntegrityError, "audit entries are append-only"
    pytest.skip(f"no append-only trigger is installed on {connection.vendor}")


def orm_update(entry: AuditEntry) -> None:
    AuditEntry.objects.filter(pk=entry.pk).update(summary="rewritten")


def orm_save(entry: AuditEntry) -> None:
    entry.summary = "rewritten"
    entry.save()


def orm_delete(entry: AuditEntry) -> None:
    AuditEntry.objects.filter(pk=entry.pk).delete()


def orm_instance_delete(entry: AuditEntry) -> None:
    entry.delete()


def orm_delete_all(entry: AuditEntry) -> None:
    AuditEntry.objects.all().delete()


def raw_update(entry: AuditEntry) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditentry SET summary = %s WHERE id = %s", ["rewritten", entry.pk]
        )


def raw_delete(entry: AuditEntry) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [orm_update, orm_save, orm_delete, orm_instance_delete, orm_delete_all, raw_update, raw_delete],
)
def test_the_database_refuses_to_change_an_entry(change: Callable[[AuditEntry], None]) -> None:
    error, words = refusal()
    entry = record(Action.SIGN_IN, origin=Origin(1, "dora"), summary="as it happened")

    with pytest.raises(error, match=words), transaction.atomic():
        change(entry)

    stored = AuditEntry.objects.get()
    assert stored.pk == entry.pk
    assert stored.summary == "as it happened"


@pytest.mark.django_db
def test_appending_stays_possible() -> None:
    refusal()
    record(Action.SIGN_IN, origin=Origin(1, "dora"))

    record(Action.SIGN_OUT, origin=Origin(1, "dora"))

    assert list(AuditEntry.objects.values_list("sequence", flat=True)) == [2, 1]


def test_people_and_teams_named_in_entries_can_still_be_deleted(team: Team, admin: User) -> None:
    refusal()
    record(Action.SIGN_IN, origin=Origin(admin.pk, "alice"))
    record(Action.TEAM_CREATED, origin=Origin(admin.pk, "alice"), team=TeamRef(team.pk, "x"))

    admin.delete()
    team.delete()
    make_user("alice")  # and the name can be used again

    assert AuditEntry.objects.filter(actor_label="alice").count() == 2


def test_flush_empties_the_trail_and_keeps_the_protection(
    triggers_come_back: None, transactional_db: None
) -> None:
    """Test teardown empties every table with `flush`: on PostgreSQL by TRUNCATE, on SQLite by
    DELETE. With AUDIT_ALLOW_FLUSH (on in the tests only) flush lifts the triggers that refuse
    them for its own transaction, and they are back afterwards."""
    error, words = refusal()
    record(Action.SIGN_IN, origin=Origin(1, "dora"))

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditEntry.objects.exists()
    assert append_only_triggers() == expected_triggers()
    entry = record(Action.SIGN_IN, origin=Origin(1, "dora"))
    with pytest.raises(error, match=words), transaction.atomic():
        raw_delete(entry)
