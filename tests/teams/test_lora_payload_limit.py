"""The team's LoRa payload limit: 51 bytes unless a team admin sets another, between 1 and
242, on the credential page (a form of its own); every change is audited, and only admins
may make one."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEntry, Outcome
from teams import services
from teams.forms import LoraPayloadLimitForm
from teams.models import (
    LORA_PAYLOAD_LIMIT_DEFAULT,
    LORA_PAYLOAD_LIMIT_MAX,
    LORA_PAYLOAD_LIMIT_MIN,
    Role,
    Team,
    ThingsCredential,
)
from tests.teams.capture import body_of
from tests.teams.world import SYSTEM, make_team, member_client, static_token

FIELD = f"{LoraPayloadLimitForm.prefix}-lora_payload_limit"


@pytest.fixture
def team(db: None) -> Team:
    return make_team("acme", "Acme Metering")


def page_url(team: Team) -> str:
    return reverse("teams:credential", kwargs={"team_slug": team.slug})


def limit_of(team: Team) -> int:
    team.refresh_from_db()
    return team.lora_payload_limit


def changes() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=Action.LORA_PAYLOAD_LIMIT_CHANGED))


def test_a_team_starts_with_the_networks_limit(team: Team) -> None:
    assert LORA_PAYLOAD_LIMIT_DEFAULT == 51  # KPN's network, at every data rate
    assert LORA_PAYLOAD_LIMIT_MAX == 242  # LoRaWAN, at its fastest data rate
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT


def test_the_credential_page_shows_the_limit_in_a_form_of_its_own(team: Team) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    page = body_of(admin.get(page_url(team)))
    assert f'name="{FIELD}" value="{LORA_PAYLOAD_LIMIT_DEFAULT}"' in page
    assert f'min="{LORA_PAYLOAD_LIMIT_MIN}"' in page
    assert f'max="{LORA_PAYLOAD_LIMIT_MAX}"' in page
    assert "Save the limit" in page
    assert "Save credential" in page


@pytest.mark.parametrize("limit", [LORA_PAYLOAD_LIMIT_MIN, 100, LORA_PAYLOAD_LIMIT_MAX])
def test_an_admin_sets_the_limit_and_it_is_audited(team: Team, limit: int) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    response = admin.post(page_url(team), {FIELD: str(limit)}, follow=True)
    assert response.redirect_chain == [(page_url(team), 302)]
    assert f"The LoRa payload limit is {limit} bytes." in body_of(response)
    assert limit_of(team) == limit
    (entry,) = changes()
    assert entry.outcome == Outcome.OK
    assert entry.actor_label == "ada"
    assert entry.team_id == team.pk
    assert (entry.target_kind, entry.target_id) == ("team", team.slug)
    assert entry.asked == {"from": LORA_PAYLOAD_LIMIT_DEFAULT, "to": limit}
    # The team's audit trail shows it in words.
    audit = body_of(admin.get(reverse("teams:audit", kwargs={"team_slug": team.slug})))
    assert Action.LORA_PAYLOAD_LIMIT_CHANGED.label in audit


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (str(LORA_PAYLOAD_LIMIT_MIN - 1), f"at least {LORA_PAYLOAD_LIMIT_MIN} byte"),
        (str(LORA_PAYLOAD_LIMIT_MAX + 1), f"at most {LORA_PAYLOAD_LIMIT_MAX} bytes"),
        ("-5", f"at least {LORA_PAYLOAD_LIMIT_MIN} byte"),
        ("fifty", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_a_limit_out_of_bounds_is_refused_in_words(team: Team, value: str, words: str) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    response = admin.post(page_url(team), {FIELD: value})
    assert response.status_code == 400
    assert words in body_of(response)
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT
    assert changes() == []


def test_setting_the_same_limit_again_changes_nothing(team: Team) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    admin.post(page_url(team), {FIELD: str(LORA_PAYLOAD_LIMIT_DEFAULT)})
    assert changes() == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_only_an_admin_may_change_it(team: Team, role: Role) -> None:
    member = member_client(team, f"{role.value}-person", role)
    response = member.post(page_url(team), {FIELD: str(LORA_PAYLOAD_LIMIT_MAX)})
    assert response.status_code == 403
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT
    assert changes() == []


def test_an_admin_of_another_team_cannot_change_it(team: Team) -> None:
    other = make_team("other", "Other")
    outsider = member_client(other, "eve", Role.ADMIN)
    response = outsider.post(page_url(team), {FIELD: str(LORA_PAYLOAD_LIMIT_MAX)})
    assert response.status_code in (403, 404)
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT


def test_the_limit_form_leaves_the_credential_alone(team: Team) -> None:
    credential = static_token(team, "http://127.0.0.1:9", "a-static-token-of-acme-0001")
    admin: Client = member_client(team, "ada", Role.ADMIN)
    admin.post(page_url(team), {FIELD: "60"})
    assert limit_of(team) == 60
    stored = ThingsCredential.objects.get(team=team)
    assert (stored.version, stored.secret()) == (credential.version, credential.secret())
    assert not AuditEntry.objects.filter(
        action=Action.CREDENTIAL_CHANGED, sequence__gt=changes()[0].sequence
    ).exists()


def test_the_credential_form_leaves_the_limit_alone(team: Team) -> None:
    admin = member_client(team, "ada", Role.ADMIN)
    refused = admin.post(page_url(team), {"api_url": "", "auth_kind": "static_token"})
    assert refused.status_code == 400
    page = body_of(refused)
    assert f'name="{FIELD}" value="{LORA_PAYLOAD_LIMIT_DEFAULT}"' in page  # still offered
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT


@pytest.mark.parametrize("limit", [LORA_PAYLOAD_LIMIT_MIN - 1, LORA_PAYLOAD_LIMIT_MAX + 1])
def test_the_service_and_the_database_refuse_a_limit_out_of_bounds(team: Team, limit: int) -> None:
    with pytest.raises(services.TeamRuleError, match=f"between {LORA_PAYLOAD_LIMIT_MIN} and"):
        services.lora_payload_limit_set(team=team, limit=limit, origin=SYSTEM)
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.filter(pk=team.pk).update(lora_payload_limit=limit)
    assert limit_of(team) == LORA_PAYLOAD_LIMIT_DEFAULT
    assert changes() == []
