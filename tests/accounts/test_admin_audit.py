"""Changes to accounts in Django's admin are audited: who, which user, what changed (flags
old → new, permissions added and removed, other fields by name), never a password or its
hash, and in the transaction of the change. Driven through the admin's real pages."""

import json
from datetime import datetime
from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import Permission, User
from django.db import DatabaseError, connection
from django.test import Client
from django.utils import timezone

from audit.models import Action, AuditEntry, Outcome
from teams.models import Membership, Role, Team
from tests.teams.world import make_user

NEW_PASSWORD = "a long and new passphrase 31"
AGENT = "pytest-admin/1.0"
JOINED = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture
def fast_hashing(settings: LazySettings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def root(db: None) -> User:
    return make_user("root", superuser=True)


@pytest.fixture
def dora(db: None) -> User:
    user = make_user("dora")
    user.date_joined = JOINED
    user.email = "dora@example.test"
    user.save()
    return user


@pytest.fixture
def as_root(root: User) -> Client:
    client = Client(HTTP_USER_AGENT=AGENT)
    client.force_login(root)
    return client


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("sequence"))


def row_text() -> str:
    """Every stored value of every entry, as one string to search for leaks."""
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def change_form(user: User, **changes: Any) -> dict[str, Any]:
    """What the admin's change form posts for `user`, with `changes` applied (flags as
    booleans, user_permissions as names)."""
    values: dict[str, Any] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "user_permissions": [
            f"{p.content_type.app_label}.{p.codename}" for p in user.user_permissions.all()
        ],
    }
    values.update(changes)
    joined = timezone.localtime(user.date_joined)
    data: dict[str, Any] = {
        name: value for name, value in values.items() if not isinstance(value, bool | list)
    }
    data.update({name: "on" for name, value in values.items() if value is True})
    data["user_permissions"] = [permission(name).pk for name in values["user_permissions"]]
    data.update(
        {
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
            # A field whose default is a callable carries its initial value in hidden inputs.
            "initial-date_joined_0": joined.strftime("%Y-%m-%d"),
            "initial-date_joined_1": joined.strftime("%H:%M:%S"),
            "last_login_0": "",
            "last_login_1": "",
            "_save": "Save",
        }
    )
    return data


def change(client: Client, user: User, **changes: Any) -> Any:
    return client.post(f"/admin/auth/user/{user.pk}/change/", change_form(user, **changes))


@pytest.fixture
def audit_refuses_entries(db: None) -> None:
    """From here on the database refuses every new audit entry, as a full disk or a broken
    trigger would; in the test's transaction only, so it is gone after the test."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_audit_entries() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'audit entries refused by the test'; END $$ "
                "LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER test_refuse_audit_entries BEFORE INSERT ON audit_auditentry "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit_entries()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER test_refuse_audit_entries BEFORE INSERT ON audit_auditentry "
                "BEGIN SELECT RAISE(ABORT, 'audit entries refused by the test'); END"
            )


# --- Flags, permissions and other fields -------------------------------------------------


def test_granting_staff_and_superuser_is_recorded_old_to_new(
    as_root: Client, root: User, dora: User
) -> None:
    response = change(as_root, dora, is_staff=True, is_superuser=True)

    assert response.status_code == 302
    dora.refresh_from_db()
    assert dora.is_staff
    assert dora.is_superuser
    [entry] = entries(Action.USER_CHANGED)
    assert entry.outcome == Outcome.OK
    assert (entry.actor_id, entry.actor_label) == (root.pk, "root")
    assert (entry.target_kind, entry.target_id) == ("user", "dora")
    assert entry.user_agent == AGENT
    assert entry.team_id is None
    assert entry.asked == {
        "fields": ["is_staff", "is_superuser"],
        "is_staff": {"from": False, "to": True},
        "is_superuser": {"from": False, "to": True},
    }
    assert entry.summary == "is_staff: no → yes; is_superuser: no → yes"


def test_switching_an_account_off_is_recorded(as_root: Client, dora: User) -> None:
    change(as_root, dora, is_active=False)

    [entry] = entries(Action.USER_CHANGED)
    assert entry.asked["is_active"] == {"from": True, "to": False}
    assert entry.summary == "is_active: yes → no"


def test_permissions_given_and_taken_are_named(as_root: Client, dora: User) -> None:
    dora.user_permissions.add(permission("auth.view_user"))

    change(as_root, dora, user_permissions=["auth.add_user", "teams.view_team"])

    assert set(dora.user_permissions.all()) == {
        permission("auth.add_user"),
        permission("teams.view_team"),
    }
    [entry] = entries(Action.USER_CHANGED)
    assert entry.asked == {
        "fields": ["user_permissions"],
        "user_permissions": {
            "added": ["auth.add_user", "teams.view_team"],
            "removed": ["auth.view_user"],
        },
    }
    assert entry.summary == "user_permissions: +auth.add_user, +teams.view_team, -auth.view_user"


def test_a_rename_is_recorded_old_to_new_and_personal_data_by_name_only(
    as_root: Client, dora: User
) -> None:
    change(as_root, dora, username="dora2", email="dora.new@example.test", first_name="Dora")

    [entry] = entries(Action.USER_CHANGED)
    assert entry.target_id == "dora2"
    assert entry.asked == {
        "fields": ["username", "first_name", "email"],
        "username": {"from": "dora", "to": "dora2"},
    }
    assert entry.summary == "username: dora → dora2; also changed first_name, email"
    text = row_text()
    assert "example.test" not in text
    assert "Dora" not in text


def test_a_save_that_changes_nothing_records_nothing(as_root: Client, dora: User) -> None:
    response = change(as_root, dora)

    assert response.status_code == 302
    assert entries(Action.USER_CHANGED) == []


def test_a_change_that_cannot_be_audited_does_not_happen(
    as_root: Client, dora: User, audit_refuses_entries: None
) -> None:
    with pytest.raises(DatabaseError):
        change(as_root, dora, is_superuser=True)

    dora.refresh_from_db()
    assert not dora.is_superuser


# --- Creating, deleting, passwords -------------------------------------------------------


def test_creating_a_user_is_recorded_without_the_password(
    as_root: Client, fast_hashing: None
) -> None:
    response = as_root.post(
        "/admin/auth/user/add/",
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    [entry] = entries(Action.USER_CREATED)
    assert (entry.target_kind, entry.target_id, entry.actor_label) == ("user", "newbie", "root")
    assert entry.asked == {
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "usablePassword": True,
    }
    assert entry.summary == "Created newbie"
    assert NEW_PASSWORD not in row_text()
    assert newbie.password not in row_text()


def test_setting_a_password_is_recorded_without_it_or_its_hash(
    as_root: Client, dora: User, fast_hashing: None
) -> None:
    response = as_root.post(
        f"/admin/auth/user/{dora.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    dora.refresh_from_db()
    assert dora.check_password(NEW_PASSWORD)
    [entry] = entries(Action.USER_PASSWORD_SET)
    assert (entry.target_id, entry.actor_label) == ("dora", "root")
    assert entry.asked == {"usablePassword": True}
    assert entry.summary == "Set a new password for dora"
    text = row_text()
    assert NEW_PASSWORD not in text
    assert dora.password not in text
    assert dora.password.split("$")[-1] not in text


def test_disabling_password_sign_in_is_recorded(
    as_root: Client, dora: User, fast_hashing: None
) -> None:
    dora.set_password("an old passphrase 12")
    dora.save()

    as_root.post(
        f"/admin/auth/user/{dora.pk}/password/",
        {"usable_password": "false", "unset-password": "Disable password-based authentication"},
    )

    dora.refresh_from_db()
    assert not dora.has_usable_password()
    [entry] = entries(Action.USER_PASSWORD_SET)
    assert entry.asked == {"usablePassword": False}
    assert entry.summary == "Disabled password sign-in for dora"


def test_a_password_form_that_sets_nothing_records_nothing(
    as_root: Client, dora: User, fast_hashing: None
) -> None:
    response = as_root.post(
        f"/admin/auth/user/{dora.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": "something else entirely 99"},
    )

    assert response.status_code == 200  # the form again, with its error
    assert entries(Action.USER_PASSWORD_SET) == []


def test_a_password_set_that_cannot_be_audited_does_not_happen(
    as_root: Client, dora: User, fast_hashing: None, audit_refuses_entries: None
) -> None:
    """Django's password page runs in no transaction of its own; the audited one does."""
    with pytest.raises(DatabaseError):
        as_root.post(
            f"/admin/auth/user/{dora.pk}/password/",
            {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )

    dora.refresh_from_db()
    assert not dora.check_password(NEW_PASSWORD)


@pytest.fixture
def dora_in_two_teams(dora: User) -> User:
    for slug, role in (("lighthouse", Role.ADMIN), ("harbour", Role.VIEWER)):
        team = Team.objects.create(slug=slug, name=slug.title())
        Membership.objects.create(team=team, user=dora, role=role)
    return dora


def assert_deletion_recorded(username: str) -> None:
    [deleted] = entries(Action.USER_DELETED)
    assert (deleted.target_id, deleted.actor_label) == (username, "root")
    assert deleted.asked == {
        "is_active": True,
        "is_staff": False,
        "is_superuser": False,
        "memberships": [
            {"team": "harbour", "role": "viewer"},
            {"team": "lighthouse", "role": "admin"},
        ],
    }
    assert deleted.summary == f"Deleted {username}, a member of 2 team(s)"
    # Each team's own trail shows that it lost a member.
    removed = {entry.team_label: entry for entry in entries(Action.MEMBER_REMOVED)}
    assert set(removed) == {"lighthouse", "harbour"}
    for slug, role in (("lighthouse", "admin"), ("harbour", "viewer")):
        entry = removed[slug]
        assert entry.team_id == Team.objects.get(slug=slug).pk
        assert (entry.target_id, entry.actor_label) == (username, "root")
        assert entry.asked == {"role": role, "userDeleted": True}


def test_deleting_a_user_records_it_and_each_membership_it_removes(
    as_root: Client, dora_in_two_teams: User
) -> None:
    response = as_root.post(f"/admin/auth/user/{dora_in_two_teams.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(username="dora").exists()
    assert not Membership.objects.exists()
    assert_deletion_recorded("dora")


def test_the_delete_selected_action_is_recorded_too(
    as_root: Client, dora_in_two_teams: User
) -> None:
    response = as_root.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [dora_in_two_teams.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not User.objects.filter(username="dora").exists()
    assert_deletion_recorded("dora")


def test_a_bulk_delete_that_cannot_be_audited_does_not_happen(
    as_root: Client, dora_in_two_teams: User, audit_refuses_entries: None
) -> None:
    """The "delete selected" action runs in no transaction of the admin's own."""
    with pytest.raises(DatabaseError):
        as_root.post(
            "/admin/auth/user/",
            {
                "action": "delete_selected",
                "_selected_action": [dora_in_two_teams.pk],
                "post": "yes",
            },
        )

    assert User.objects.filter(username="dora").exists()
    assert Membership.objects.filter(user=dora_in_two_teams).count() == 2


# --- Who may ------------------------------------------------------------------------------


@pytest.fixture
def staff_with_user_permissions(db: None) -> Client:
    """Staff, not superuser, with every permission Django has on users."""
    staff = make_user("stef")
    staff.is_staff = True
    staff.save()
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="auth", content_type__model="user")
    )
    client = Client()
    client.force_login(staff)
    return client


def test_only_superusers_manage_accounts(
    staff_with_user_permissions: Client, dora: User, fast_hashing: None
) -> None:
    staff = User.objects.get(username="stef")
    client = staff_with_user_permissions

    assert client.get("/admin/auth/user/").status_code == 403
    assert change(client, staff, is_superuser=True).status_code == 403
    password_page = client.post(
        f"/admin/auth/user/{dora.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert password_page.status_code == 403
    staff.refresh_from_db()
    dora.refresh_from_db()
    assert not staff.is_superuser
    assert not dora.check_password(NEW_PASSWORD)


def test_groups_are_not_offered(as_root: Client, dora: User) -> None:
    """The portal gives rights per user (and roles per team), never through groups."""
    assert as_root.get("/admin/auth/group/").status_code == 404
    page = as_root.get(f"/admin/auth/user/{dora.pk}/change/")
    assert page.status_code == 200
    assert "user_permissions" in page.context["adminform"].form.fields
    assert "groups" not in page.context["adminform"].form.fields
