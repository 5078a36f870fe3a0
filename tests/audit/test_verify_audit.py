"""`manage.py verify_audit` finds an edited, a deleted or a reordered entry, and names it.

To tamper, these tests first get past the append-only trigger (the `tamperable` fixture), as
someone with direct access to the database could; `triggers_come_back` checks afterwards
that the test's rollback put the trigger back.
"""

import pytest
from django.db import connection

from audit.models import Action, AuditEntry
from audit.trail import Origin, TeamRef, record
from tests.audit.conftest import broken_at, rehashed, verify

CHAIN_LENGTH = 5


def write_chain() -> list[AuditEntry]:
    actions = [Action.SIGN_IN, Action.MEMBER_ADDED, Action.MEMBER_ROLE_CHANGED]
    return [
        record(
            actions[index % len(actions)],
            origin=Origin(index, f"person-{index}", "192.0.2.1", "agent"),
            team=TeamRef(7, "lighthouse"),
            summary=f"entry {index + 1}",
            asked={"index": index},
        )
        for index in range(CHAIN_LENGTH)
    ]


def swap(first: AuditEntry, second: AuditEntry, fields: list[str]) -> None:
    """Exchange the given columns of two rows; unique ones pass through a placeholder."""
    values = {
        entry.pk: AuditEntry.objects.filter(pk=entry.pk).values(*fields).get()
        for entry in (first, second)
    }
    placeholder = {"sequence": -1, "entry_hash": "x" * 64}
    AuditEntry.objects.filter(pk=first.pk).update(
        **{name: placeholder[name] for name in fields if name in placeholder}
    )
    AuditEntry.objects.filter(pk=second.pk).update(**values[first.pk])
    AuditEntry.objects.filter(pk=first.pk).update(**values[second.pk])


@pytest.mark.django_db
def test_an_empty_trail_is_intact() -> None:
    assert "intact: 0 entries" in verify()


@pytest.mark.django_db
def test_an_untouched_chain_is_intact() -> None:
    write_chain()

    assert f"intact: {CHAIN_LENGTH} entries" in verify()


def test_an_edited_entry_is_found(tamperable: None) -> None:
    write_chain()
    AuditEntry.objects.filter(sequence=3).update(actor_label="someone-else")

    with broken_at(3, "content does not match its hash"):
        verify()


def test_an_edited_entry_with_its_hash_recomputed_is_found_by_its_successor(
    tamperable: None,
) -> None:
    write_chain()
    edited = AuditEntry.objects.get(sequence=3)
    edited.summary = "nothing happened"
    AuditEntry.objects.filter(pk=edited.pk).update(
        summary=edited.summary, entry_hash=rehashed(edited)
    )

    with broken_at(4, "link to the previous entry does not match"):
        verify()


def test_an_edited_last_entry_with_its_hash_recomputed_is_found_by_the_head(
    tamperable: None,
) -> None:
    write_chain()
    edited = AuditEntry.objects.get(sequence=CHAIN_LENGTH)
    edited.summary = "nothing happened"
    AuditEntry.objects.filter(pk=edited.pk).update(
        summary=edited.summary, entry_hash=rehashed(edited)
    )

    with broken_at(CHAIN_LENGTH + 1, "chain ends"):
        verify()


@pytest.mark.parametrize("sequence", [1, 3])
def test_a_deleted_entry_is_found(tamperable: None, sequence: int) -> None:
    write_chain()
    AuditEntry.objects.filter(sequence=sequence).delete()

    with broken_at(sequence, f"entry #{sequence} is missing"):
        verify()


def test_a_deleted_last_entry_is_found(tamperable: None) -> None:
    write_chain()
    AuditEntry.objects.filter(sequence=CHAIN_LENGTH).delete()

    with broken_at(CHAIN_LENGTH, f"ends at #{CHAIN_LENGTH - 1}, not at #{CHAIN_LENGTH}"):
        verify()


def test_reordered_entries_are_found(tamperable: None) -> None:
    """Entries #2 and #3 swap places: each keeps its content but takes the other's position."""
    entries = write_chain()
    swap(entries[1], entries[2], ["sequence"])

    with broken_at(2, "link to the previous entry does not match"):
        verify()


def test_swapped_contents_are_found(tamperable: None) -> None:
    """Entries #2 and #3 exchange everything but their positions, hashes included."""
    entries = write_chain()
    content = [
        field.name
        for field in AuditEntry._meta.concrete_fields
        if field.name not in ("id", "sequence")
    ]
    swap(entries[1], entries[2], content)

    with broken_at(2, "link to the previous entry does not match"):
        verify()


def test_swapped_contents_keeping_the_hashes_are_found(tamperable: None) -> None:
    entries = write_chain()
    swap(entries[1], entries[2], ["action", "actor_id", "actor_label", "summary", "asked"])

    with broken_at(2, "content does not match its hash"):
        verify()


def test_a_broken_chain_leaves_no_cursor_open(tamperable: None) -> None:
    """The walk stops at the first broken link; the entries' server-side cursor (PostgreSQL)
    is closed then, not later by the garbage collector, which could deadlock the connection
    in the middle of another query."""
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL reads the entries through a server-side cursor")
    write_chain()
    AuditEntry.objects.filter(sequence=2).delete()

    with broken_at(2, "entry #2 is missing") as raised:
        verify()

    # The error is still held (as by a caller that logs it), and with it the command's frame.
    assert raised.traceback
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchone() == (0,)
