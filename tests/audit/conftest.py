"""Fixtures for the audit trail's tests: people, a team, and a way past the append-only
triggers for the tests that tamper with the chain on purpose."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from audit.trail import Origin
from teams.models import Membership, Role, Team

POSTGRES_TRIGGER = "audit_entries_append_only"
SQLITE_TRIGGERS = ("audit_entries_no_delete", "audit_entries_no_update")


def make_user(username: str, *, superuser: bool = False) -> User:
    """A user without a usable password: hashing one costs time these tests need not spend."""
    if superuser:
        return User.objects.create_superuser(username, password=None)
    return User.objects.create_user(username, password=None)


def origin_of(user: User) -> Origin:
    return Origin(user.pk, user.get_username(), "192.0.2.10", "pytest-agent/1.0")


@pytest.fixture
def team(db: None) -> Team:
    return Team.objects.create(slug="lighthouse", name="Lighthouse")


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(slug="harbour", name="Harbour")


@pytest.fixture
def admin(team: Team) -> User:
    user = make_user("alice")
    Membership.objects.create(team=team, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def viewer(team: Team) -> User:
    user = make_user("victor")
    Membership.objects.create(team=team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def admin_client(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def append_only_triggers() -> dict[str, Any]:
    """The append-only triggers that are installed, by name (PostgreSQL: with their state)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgenabled FROM pg_trigger "
                "WHERE tgrelid = 'audit_auditentry'::regclass AND NOT tgisinternal"
            )
            return {name: str(state) for name, state in cursor.fetchall()}
        cursor.execute(
            "SELECT name, 1 FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'audit_auditentry'"
        )
        return {name: state for name, state in cursor.fetchall()}


def expected_triggers() -> dict[str, Any]:
    if connection.vendor == "postgresql":
        return {POSTGRES_TRIGGER: "O"}  # "O": enabled, fires in the normal (origin) mode
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
    """Lifts the append-only triggers for this test's transaction only, as someone with
    direct database access could: the tests that use it edit, delete and reorder entries."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE audit_auditentry DISABLE TRIGGER {POSTGRES_TRIGGER}")
        else:
            for name in SQLITE_TRIGGERS:
                cursor.execute(f"DROP TRIGGER {name}")
    assert not any(state in ("O", 1) for state in append_only_triggers().values())
