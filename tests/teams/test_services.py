"""Each change in teams.services writes exactly one audit entry, in its own transaction: a
refused change or a rolled-back one leaves none (and leaves the chain head where it was)."""

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from audit.models import Action, AuditEntry, ChainHead, Outcome, Phase
from teams import crypto, services
from teams.models import AuthKind, Membership, Role, Team, ThingsCredential
from tests.audit.conftest import origin_of
from tests.teams.world import make_user

SECRET = "client-secret-that-must-stay-secret"


def only_entry() -> AuditEntry:
    entries = list(AuditEntry.objects.all())
    assert len(entries) == 1, [str(entry) for entry in entries]
    return entries[0]


def assert_origin(entry: AuditEntry, user: User) -> None:
    assert entry.actor_id == user.pk
    assert entry.actor_label == user.get_username()
    assert entry.ip_address == "192.0.2.10"
    assert entry.user_agent == "pytest-agent/1.0"
    assert entry.phase == Phase.EVENT
    assert entry.outcome == Outcome.OK


def credential_input(secret: str | None = SECRET) -> services.CredentialInput:
    return services.CredentialInput(
        api_url="https://api.example.test",
        auth_kind=AuthKind.CLIENT_CREDENTIALS,
        tenant_id="tenant-1",
        client_id="client-1",
        token_url="https://idp.example.test/{tenant_id}/token",
        audience="things",
        secret=secret,
    )


@pytest.mark.django_db
def test_team_create_writes_one_entry() -> None:
    boss = make_user("boss", superuser=True)

    team = services.team_create(slug="lighthouse", name="Lighthouse", origin=origin_of(boss))

    entry = only_entry()
    assert entry.action == Action.TEAM_CREATED
    assert_origin(entry, boss)
    assert (entry.team_id, entry.team_label) == (team.pk, "lighthouse")
    assert (entry.target_kind, entry.target_id) == ("team", "lighthouse")
    assert entry.asked == {"name": "Lighthouse"}


def test_member_add_writes_one_entry(team: Team, admin: User) -> None:
    make_user("bob")

    services.member_add(team=team, username="bob", role=Role.OPERATOR, origin=origin_of(admin))

    entry = only_entry()
    assert entry.action == Action.MEMBER_ADDED
    assert_origin(entry, admin)
    assert (entry.team_id, entry.team_label) == (team.pk, team.slug)
    assert (entry.target_kind, entry.target_id) == ("user", "bob")
    assert entry.asked == {"role": "operator"}
    assert entry.summary == "Added bob as operator"


def test_member_change_role_writes_one_entry(team: Team, admin: User) -> None:
    bob = make_user("bob")
    membership = Membership.objects.create(team=team, user=bob, role=Role.VIEWER)

    services.member_change_role(membership=membership, role=Role.ADMIN, origin=origin_of(admin))

    entry = only_entry()
    assert entry.action == Action.MEMBER_ROLE_CHANGED
    assert_origin(entry, admin)
    assert entry.team_id == team.pk
    assert (entry.target_kind, entry.target_id) == ("user", "bob")
    assert entry.asked == {"from": "viewer", "to": "admin"}


def test_member_change_role_to_the_same_role_changes_nothing_and_records_nothing(
    team: Team, admin: User
) -> None:
    membership = Membership.objects.get(user=admin)

    services.member_change_role(membership=membership, role=Role.ADMIN, origin=origin_of(admin))

    assert not AuditEntry.objects.exists()


def test_member_remove_writes_one_entry(team: Team, admin: User) -> None:
    bob = make_user("bob")
    membership = Membership.objects.create(team=team, user=bob, role=Role.OPERATOR)

    services.member_remove(membership=membership, origin=origin_of(admin))

    entry = only_entry()
    assert entry.action == Action.MEMBER_REMOVED
    assert_origin(entry, admin)
    assert entry.team_id == team.pk
    assert (entry.target_kind, entry.target_id) == ("user", "bob")
    assert entry.asked == {"role": "operator"}
    assert not Membership.objects.filter(user=bob).exists()


def test_credential_update_writes_one_entry_without_the_secret(team: Team, admin: User) -> None:
    services.credential_update(team=team, data=credential_input(), origin=origin_of(admin))

    entry = only_entry()
    assert entry.action == Action.CREDENTIAL_CHANGED
    assert_origin(entry, admin)
    assert entry.team_id == team.pk
    assert (entry.target_kind, entry.target_id) == ("credential", team.slug)
    assert entry.asked == {
        "apiUrl": "https://api.example.test",
        "authKind": "client_credentials",
        "tenantId": "tenant-1",
        "clientId": "client-1",
        "tokenUrl": "https://idp.example.test/{tenant_id}/token",
        "audience": "things",
        "secretChanged": True,
    }
    assert SECRET not in json.dumps(AuditEntry.objects.values().get(), default=str)


def test_credential_update_keeping_the_secret_says_so(team: Team, admin: User) -> None:
    services.credential_update(team=team, data=credential_input(), origin=origin_of(admin))

    services.credential_update(team=team, data=credential_input(None), origin=origin_of(admin))

    latest = AuditEntry.objects.order_by("-sequence").first()
    assert latest is not None
    assert latest.asked["secretChanged"] is False
    assert latest.summary == "Changed the credential"
    assert AuditEntry.objects.count() == 2


def test_encryption_keys_rotate_writes_one_entry(team: Team, admin: User) -> None:
    old_key, new_key = crypto.new_key(), crypto.new_key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        ThingsCredential.objects.create(
            team=team,
            api_url="https://api.example.test",
            auth_kind=AuthKind.STATIC_TOKEN,
            secret_ciphertext=crypto.encrypt(SECRET),
        )

    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        rotated = services.encryption_keys_rotate(origin=origin_of(admin))

    assert rotated == 1
    entry = only_entry()
    assert entry.action == Action.ENCRYPTION_KEYS_ROTATED
    assert_origin(entry, admin)
    assert entry.team_id is None
    assert entry.summary == "Re-encrypted 1 secret(s) with the newest key"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key]):
        assert ThingsCredential.objects.get().secret() == SECRET


# --- Refused changes leave no entry ----------------------------------------------------------


def test_refused_team_create_leaves_no_entry(team: Team, admin: User) -> None:
    with pytest.raises(services.TeamRuleError):
        services.team_create(slug=team.slug, name="Again", origin=origin_of(admin))

    assert not AuditEntry.objects.exists()


def test_refused_member_add_leaves_no_entry(team: Team, admin: User) -> None:
    with pytest.raises(services.TeamRuleError, match="no user called"):
        services.member_add(team=team, username="nobody", role=Role.VIEWER, origin=origin_of(admin))
    with pytest.raises(services.TeamRuleError, match="already"):
        services.member_add(team=team, username="alice", role=Role.VIEWER, origin=origin_of(admin))

    assert not AuditEntry.objects.exists()


def test_demoting_the_last_admin_is_refused_and_leaves_no_entry(team: Team, admin: User) -> None:
    membership = Membership.objects.get(user=admin)

    with pytest.raises(services.TeamRuleError, match="last admin"):
        services.member_change_role(
            membership=membership, role=Role.VIEWER, origin=origin_of(admin)
        )

    assert not AuditEntry.objects.exists()
    assert Membership.objects.get(user=admin).role == Role.ADMIN


def test_removing_the_last_admin_is_refused_and_leaves_no_entry(team: Team, admin: User) -> None:
    membership = Membership.objects.get(user=admin)

    with pytest.raises(services.TeamRuleError, match="last admin"):
        services.member_remove(membership=membership, origin=origin_of(admin))

    assert not AuditEntry.objects.exists()
    assert Membership.objects.filter(user=admin).exists()


def test_refused_credential_update_leaves_no_entry(team: Team, admin: User) -> None:
    with pytest.raises(services.TeamRuleError, match="Enter the client secret"):
        services.credential_update(team=team, data=credential_input(None), origin=origin_of(admin))

    assert not AuditEntry.objects.exists()
    assert not ThingsCredential.objects.exists()


# --- A change whose surrounding transaction rolls back leaves no entry --------------------


class Abandoned(Exception):
    """Raised after a change, inside its surrounding transaction, to roll it back."""


@pytest.mark.parametrize(
    "change",
    ["team_create", "member_add", "member_change_role", "member_remove", "credential_update"],
)
def test_a_rolled_back_change_leaves_no_entry(change: str, team: Team, admin: User) -> None:
    bob = make_user("bob")
    bobs = Membership.objects.create(team=team, user=bob, role=Role.VIEWER)
    origin = origin_of(admin)
    changes = {
        "team_create": lambda: services.team_create(slug="new", name="New", origin=origin),
        "member_add": lambda: services.member_add(
            team=team, username=make_user("carol").get_username(), role=Role.VIEWER, origin=origin
        ),
        "member_change_role": lambda: services.member_change_role(
            membership=bobs, role=Role.OPERATOR, origin=origin
        ),
        "member_remove": lambda: services.member_remove(membership=bobs, origin=origin),
        "credential_update": lambda: services.credential_update(
            team=team, data=credential_input(), origin=origin
        ),
    }

    def change_then_abandon() -> None:
        with transaction.atomic():
            changes[change]()
            assert AuditEntry.objects.count() == 1  # written, inside the transaction
            raise Abandoned

    with pytest.raises(Abandoned):
        change_then_abandon()

    assert not AuditEntry.objects.exists()
    assert not ChainHead.objects.filter(sequence__gt=0).exists()
    # The change itself is gone too, and the next entry chains from the start again.
    assert not Team.objects.filter(slug="new").exists()
    assert Membership.objects.get(pk=bobs.pk).role == Role.VIEWER
    assert not ThingsCredential.objects.exists()
    services.member_remove(membership=bobs, origin=origin)
    assert AuditEntry.objects.get().sequence == 1
    call_command("verify_audit", stdout=io.StringIO())
