"""The credential form's fields per kind of credential: the page marks each kind's fields
for the browser to show only with that kind chosen, and the server ignores the other kind's
fields (what a browser without JavaScript still posts), so both store the same."""

from __future__ import annotations

import re

import pytest

from simulator.server import RunningSimulator
from teams.forms import GRIP_FIELDS, TOKEN_FIELDS, CredentialForm
from teams.models import AuthKind, ThingsCredential
from tests.teams.capture import body_of
from tests.teams.test_credentials import GripTeam, grip_team

# Refused on their fields if they applied: an address the portal may not call, an id too long.
WRONG_GRIP_VALUES = {
    "tenant_id": "t" * 101,
    "token_url": "http://169.254.169.254/latest/meta-data",
    "client_id": "c" * 201,
    "audience": "a" * 201,
}


@pytest.fixture
def acme(db: None, simulator: RunningSimulator) -> GripTeam:
    return grip_team(simulator)


def wrapper_of(html: str, field: str) -> str:
    match = re.search(rf'<div class="field field-{field}"([^>]*)>', html)
    assert match is not None, f"no wrapper for {field}"
    return match.group(1)


def test_each_kinds_fields_are_marked_with_their_kind(acme: GripTeam) -> None:
    html = body_of(acme.client.get(acme.page_url))
    for field in GRIP_FIELDS:
        assert f'data-shown-when="auth_kind={AuthKind.CLIENT_CREDENTIALS}"' in wrapper_of(
            html, field
        )
    for field in TOKEN_FIELDS:
        assert f'data-shown-when="auth_kind={AuthKind.STATIC_TOKEN}"' in wrapper_of(html, field)
    for field in (*GRIP_FIELDS, *TOKEN_FIELDS):
        assert "hidden" not in wrapper_of(html, field)  # without JavaScript, all show
    for field in CredentialForm.base_fields:
        if field not in (*GRIP_FIELDS, *TOKEN_FIELDS):
            assert "data-shown-when" not in wrapper_of(html, field), field
    assert set(GRIP_FIELDS) | set(TOKEN_FIELDS) | {"api_url", "auth_kind"} == set(
        CredentialForm.base_fields
    )


def test_a_static_token_ignores_the_grip_fields(acme: GripTeam) -> None:
    token = acme.simulator.token("acme-tenant", ttl_seconds=1800)
    response = acme.client.post(
        acme.page_url,
        acme.form(auth_kind=AuthKind.STATIC_TOKEN, static_token=token, **WRONG_GRIP_VALUES),
    )
    assert response.status_code == 302, body_of(response)
    stored = ThingsCredential.objects.get(team=acme.team)
    assert stored.auth_kind == AuthKind.STATIC_TOKEN
    assert stored.secret() == token
    assert (stored.tenant_id, stored.client_id, stored.token_url, stored.audience) == (
        "",
        "",
        "",
        "",
    )


def test_the_same_grip_values_are_refused_when_they_apply(acme: GripTeam) -> None:
    response = acme.client.post(
        acme.page_url, acme.form(client_secret="a-new-client-secret-1234", **WRONG_GRIP_VALUES)
    )
    assert response.status_code == 400
    page = body_of(response)
    for field in WRONG_GRIP_VALUES:
        assert f'id="id_{field}_error"' in page, field
    assert acme.credential.tenant_id == "acme-tenant"


@pytest.mark.parametrize("token", ["", "a-token-that-is-not-used-0001"])
def test_grip_client_credentials_ignore_the_bearer_token(acme: GripTeam, token: str) -> None:
    before = acme.credential
    response = acme.client.post(acme.page_url, acme.form(static_token=token))
    assert response.status_code == 302, body_of(response)
    after = acme.credential
    assert after.auth_kind == AuthKind.CLIENT_CREDENTIALS
    assert after.secret() == before.secret()
