"""Fixtures for the audit trail's tests: people, a team, a way past the append-only
triggers for the tests that tamper with the chain on purpose, entries at a chosen time, and
`verify_audit` as the tests call it."""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection

from audit import trail
from audit.chain import entry_hash
from audit.keys import ChainKey, configured_keys
from audit.models import AuditEntry
from audit.trail import Origin

AUDIT_TABLES = ("audit_auditentry", "audit_chainhead")
POSTGRES_TRIGGERS = (
    "audit_entries_append_only",
    "audit_entries_no_truncate",
    "audit_chainhead_guard",
    "audit_chainhead_no_truncate",
)
SQLITE_TRIGGERS = (
    "audit_entries_no_delete",
    "audit_entries_no_update",
    "audit_chainhead_no_delete",
    "audit_chainhead_forward_only",
    "audit_chainhead_starts_at_genesis",
)
# Keys for AUDIT_CHAIN_KEYS: secrets of 32 characters or more.
FIRST_KEY = "first-audit-chain-key-for-the-tests-only"
SECOND_KEY = "second-audit-chain-key-for-the-tests-only"


def origin_of(user: User) -> Origin:
    return Origin(user.pk, user.get_username(), "192.0.2.10", "pytest-agent/1.0")


@pytest.fixture
def chain_key(settings: Any) -> ChainKey:
    """Entries are hashed with a key, as they are once AUDIT_CHAIN_KEYS is configured."""
    settings.AUDIT_CHAIN_KEYS = [FIRST_KEY]
    return ChainKey.from_setting(FIRST_KEY)


def append_only_triggers() -> dict[str, Any]:
    """The triggers that protect the trail's tables, by name (PostgreSQL: with their state)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgenabled FROM pg_trigger "
                "WHERE tgrelid::regclass::text = ANY(%s) AND NOT tgisinternal",
                [list(AUDIT_TABLES)],
            )
            return {name: str(state) for name, state in cursor.fetchall()}
        cursor.execute(
            "SELECT name, 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
            list(AUDIT_TABLES),
        )
        return {name: state for name, state in cursor.fetchall()}


def expected_triggers() -> dict[str, Any]:
    if connection.vendor == "postgresql":
        # "O": enabled, fires in the normal (origin) mode
        return dict.fromkeys(POSTGRES_TRIGGERS, "O")
    return dict.fromkeys(SQLITE_TRIGGERS, 1)


@pytest.fixture
def triggers_come_back(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Checks, after the test's transaction is rolled back, that the triggers are back.

    Requested before `db`, so it is torn down after it (fixtures are finalized in reverse).
    """
    yield
    with django_db_blocker.unblock():
        assert append_only_triggers() == expected_triggers()


@pytest.fixture
def tamperable(triggers_come_back: None, db: None) -> None:
    """Lifts the trail's triggers for this test's transaction only, as the owner of the
    tables could: the tests that use it edit, delete and reorder entries and move the head."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
    assert not any(state in ("O", 1) for state in append_only_triggers().values())


def rehashed(entry: AuditEntry) -> str:
    """The entry's hash recomputed under the key it names, as someone holding the chain key
    could: the tests that use it check what the chain's links catch even then."""
    keys = {key.id: key for key in configured_keys()}
    return entry_hash(entry, entry.previous_hash, keys[entry.key_id] if entry.key_id else None)


@contextmanager
def recorded_at(when: datetime) -> Iterator[None]:
    """Entries recorded inside are stamped `when` instead of the current time: written by the
    trail's own `record`, so they are chained like any other (the tests of time filters need
    entries at known times)."""
    with mock.patch.object(trail, "clock", return_value=when):
        yield


def verify(*args: str) -> str:
    """What `manage.py verify_audit` says, with `args`; it raises CommandError if the trail is
    broken."""
    out = io.StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


def broken_at(sequence: int, reason: str) -> Any:
    """Expects `verify_audit` to report the trail broken at entry `sequence`, for `reason`."""
    return pytest.raises(CommandError, match=rf"broken at entry #{sequence}: .*{reason}")
