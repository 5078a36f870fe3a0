"""Operators' commands: create_team, add_member (rotate_encryption_keys is in test_credentials;
seed_demo in tests/downlinks/test_seed_demo.py)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class

from audit.models import Action, AuditEntry
from teams.models import AuthKind, Membership, Role, Team, ThingsCredential
from tests.teams.world import join, make_team, make_user

SECRET = "secret-from-the-environment-9f3K"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


# --- create_team ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_team_with_client_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_SECRET", SECRET)
    output = run(
        "create_team",
        "--slug=acme",
        "--name=Acme Metering",
        "--tenant-id=acme-tenant",
        "--client-id=acme-portal",
        "--secret-env=ACME_SECRET",
    )
    assert "Created team acme." in output
    assert SECRET not in output
    credential = ThingsCredential.objects.get(team__slug="acme")
    assert credential.team.name == "Acme Metering"
    assert credential.auth_kind == AuthKind.CLIENT_CREDENTIALS
    assert (credential.tenant_id, credential.client_id) == ("acme-tenant", "acme-portal")
    assert credential.secret() == SECRET
    assert credential.updated_by_label == "manage.py create_team"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {Action.TEAM_CREATED, Action.CREDENTIAL_CHANGED} <= actions


@pytest.mark.django_db
def test_create_team_again_updates_the_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "a-static-bearer-token-0001")
    run("create_team", "--slug=acme", "--auth=static_token", "--secret-env=TOKEN")
    monkeypatch.setenv("TOKEN", "a-static-bearer-token-0002")
    output = run("create_team", "--slug=acme", "--auth=static_token", "--secret-env=TOKEN")
    assert "Created team" not in output
    assert Team.objects.filter(slug="acme").count() == 1
    credential = ThingsCredential.objects.get(team__slug="acme")
    assert credential.secret() == "a-static-bearer-token-0002"
    assert credential.version == 2
    assert (credential.token_url, credential.audience) == ("", "")


def test_create_team_takes_no_secret_on_the_command_line() -> None:
    command = load_command_class(get_commands()["create_team"], "create_team")
    parser = command.create_parser("manage.py", "create_team")
    options = {option for action in parser._actions for option in action.option_strings}
    assert {option for option in options if "secret" in option or "token" in option} == {
        "--secret-env",
        "--token-url",
    }
    with pytest.raises(CommandError):
        call_command("create_team", "--slug=acme", f"--client-secret={SECRET}")


@pytest.mark.django_db
def test_create_team_refuses_an_empty_environment_variable_in_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(CommandError, match="NOT_SET_ANYWHERE is empty or not set"):
        run(
            "create_team",
            "--slug=acme",
            "--tenant-id=t",
            "--client-id=c",
            "--secret-env=NOT_SET_ANYWHERE",
        )
    assert not Team.objects.exists()


@pytest.mark.django_db
def test_create_team_needs_tenant_and_client_for_client_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_SECRET", SECRET)
    with pytest.raises(CommandError, match="--tenant-id and --client-id"):
        run("create_team", "--slug=acme", "--secret-env=ACME_SECRET")
    assert not Team.objects.exists()


@pytest.mark.django_db
def test_create_team_asks_at_a_prompt_without_secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def answer(prompt: str) -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("getpass.getpass", answer)
    run("create_team", "--slug=acme", "--tenant-id=t", "--client-id=c")
    assert prompts == ["Client secret: "]
    assert ThingsCredential.objects.get(team__slug="acme").secret() == SECRET


# --- add_member -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_member_adds_and_then_changes_the_role() -> None:
    make_team("acme", "Acme")
    make_user("oscar")
    assert "Added oscar to acme as operator." in run(
        "add_member", "--team=acme", "--user=oscar", "--role=operator"
    )
    assert Membership.objects.get(user__username="oscar").role == Role.OPERATOR
    assert "oscar is now admin in acme." in run(
        "add_member", "--team=acme", "--user=oscar", "--role=admin"
    )
    assert Membership.objects.get(user__username="oscar").role == Role.ADMIN
    entry = AuditEntry.objects.filter(action=Action.MEMBER_ROLE_CHANGED).first()
    assert entry is not None
    assert entry.actor_label == "manage.py add_member"


@pytest.mark.django_db
def test_add_member_explains_what_is_wrong() -> None:
    team = make_team("acme", "Acme")
    with pytest.raises(CommandError, match="There is no team 'globex'"):
        run("add_member", "--team=globex", "--user=oscar", "--role=viewer")
    with pytest.raises(CommandError, match="There is no user called 'oscar'"):
        run("add_member", "--team=acme", "--user=oscar", "--role=viewer")
    ada = make_user("ada")
    join(ada, team, Role.ADMIN)
    with pytest.raises(CommandError, match="last admin"):
        run("add_member", "--team=acme", "--user=ada", "--role=viewer")
    with pytest.raises(CommandError):
        run("add_member", "--team=acme", "--user=ada", "--role=owner")
