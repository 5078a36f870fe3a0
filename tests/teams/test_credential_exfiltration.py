"""A stored secret is only ever sent where it was entered for. The attack: an admin points the
token URL (or, for a static token, the API URL) at a listener of their own, keeps the stored
secret ("leave empty to keep"), saves, and presses Test connection; the listener then got
`client_secret=…` (or `Authorization: Bearer …`). Here the listener must receive nothing of
the stored secret, whatever the admin does through the pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client
from django.urls import reverse

from audit.trail import Origin
from benchmarks.simulated_team import connect_to_simulator
from simulator.server import RunningSimulator
from teams import services
from teams.models import AuthKind, Role, Team, ThingsCredential
from tests.teams.credential_form import post_credential_form
from tests.teams.world import make_team, member_client, static_token

CLIENT_SECRET = "stored-client-secret-Qx7+/=&z 9"
STATIC_TOKEN = "stored-static-token-Zk4.e30.abc"


@dataclass
class Listener:
    """An HTTP server that keeps every request it gets, raw."""

    url: str = ""
    received: list[bytes] = field(default_factory=list)

    def everything(self) -> str:
        return b"\n".join(self.received).decode("latin-1")


@pytest.fixture
def listener() -> Iterator[Listener]:
    heard = Listener()

    class Handler(BaseHTTPRequestHandler):
        def _keep(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            heard.received.append(self.requestline.encode() + bytes(self.headers) + body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"access_token": "x", "items": []}')

        do_GET = do_POST = _keep

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    heard.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield heard
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Admin:
    client: Client
    team: Team

    @property
    def slug(self) -> str:
        return self.team.slug

    def save(self, credential: ThingsCredential, **changes: str) -> int:
        return post_credential_form(self.client, credential, **changes).status_code

    def test_connection(self) -> str:
        url = reverse("teams:credential_test", kwargs={"team_slug": self.slug})
        return self.client.post(url, headers={"HX-Request": "true"}).content.decode()


def admin_of(slug: str) -> Admin:
    team = make_team(slug, slug.capitalize())
    return Admin(member_client(team, f"{slug}-admin", Role.ADMIN), team)


@pytest.fixture
def grip(db: None, simulator: RunningSimulator) -> tuple[Admin, ThingsCredential]:
    admin = admin_of("grip")
    credential = connect_to_simulator(
        admin.team, simulator, tenant_id="grip-tenant", secret=CLIENT_SECRET
    )
    return admin, credential


def test_a_token_url_moved_to_a_listener_gets_nothing_of_the_stored_secret(
    grip: tuple[Admin, ThingsCredential], listener: Listener
) -> None:
    admin, credential = grip
    assert admin.save(credential, token_url=f"{listener.url}/token") == 400
    assert admin.save(credential, api_url=listener.url) == 400
    assert admin.save(credential, token_url=f"{listener.url}/token", audience="x") == 400
    assert "Connected" in admin.test_connection()  # the stored endpoints, untouched
    assert listener.received == []
    assert ThingsCredential.objects.get(pk=credential.pk).token_url == credential.token_url


def test_a_secret_typed_for_the_listener_is_all_it_gets(
    grip: tuple[Admin, ThingsCredential], listener: Listener
) -> None:
    admin, credential = grip
    typed = "typed-for-this-endpoint-only"
    admin.save(credential, token_url=f"{listener.url}/token", client_secret=typed)
    heard = listener.everything()
    assert typed in heard  # what the admin entered for it, and nothing else
    assert "stored-client-secret" not in heard
    assert "Qx7" not in heard


def test_a_static_token_moved_to_a_listener_gets_nothing(
    db: None, simulator: RunningSimulator, listener: Listener
) -> None:
    admin = admin_of("fixed")
    credential = static_token(admin.team, simulator.url, STATIC_TOKEN)
    assert admin.save(credential, api_url=listener.url) == 400
    admin.test_connection()
    assert listener.received == []


def test_the_service_refuses_it_too(
    grip: tuple[Admin, ThingsCredential], listener: Listener
) -> None:
    """The rule is the service's, not only the form's."""
    _, credential = grip
    moved = services.CredentialInput(
        api_url=credential.api_url,
        auth_kind=AuthKind.CLIENT_CREDENTIALS,
        tenant_id=credential.tenant_id,
        client_id=credential.client_id,
        token_url=f"{listener.url}/token",
        audience=credential.audience,
    )
    for save in (services.credential_update, services.credential_save):
        with pytest.raises(services.TeamRuleError, match="only ever sent where it was entered"):
            save(team=credential.team, data=moved, origin=Origin.system("tests"))
    assert listener.received == []
