"""The team credential form as a browser posts it, for the tests that change a credential."""

from __future__ import annotations

from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse

from teams.models import ThingsCredential


def credential_form(credential: ThingsCredential, **changes: str) -> dict[str, str]:
    """What the credential page posts when it showed `credential`: its stored values, both
    secret fields left empty (which keeps the stored secret), then `changes`."""
    return {
        "api_url": credential.api_url,
        "auth_kind": credential.auth_kind,
        "tenant_id": credential.tenant_id,
        "client_id": credential.client_id,
        "token_url": credential.token_url,
        "audience": credential.audience,
        "client_secret": "",
        "static_token": "",
        **changes,
    }


def post_credential_form(
    client: Client, credential: ThingsCredential, **changes: str
) -> HttpResponseBase:
    """Post the credential form of `credential`'s team, as `credential_form` fills it in."""
    url = reverse("teams:credential", kwargs={"team_slug": credential.team.slug})
    return client.post(url, credential_form(credential, **changes))
