"""Upstream services that echo what they were sent: an identity service that puts the token
request (the client secret, form-encoded) into its `error_description`, an API that puts the
Authorization header into a Problem's `detail`. The canary secrets have `+/=&` and a space,
so every encoding differs from the raw text. None of them may reach a page, a log line, an
audit row or the CSV export."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, quote_plus

import pytest
from django.test import Client
from django.urls import reverse

from audit.trail import Origin
from teams import services
from teams.models import AuthKind, Role, Team
from tests.teams.capture import body_of, database_text, debug_logging, text_of
from tests.teams.world import join, make_team, make_user, sign_in

CLIENT_SECRET = "CANARY+enc/9=x y&z-secret"
STATIC_TOKEN = "CANARY+tok/7=a b&c-token"


def shapes(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


@pytest.fixture
def echo() -> Iterator[str]:
    """Answers a token request with 400 echoing its body, anything else with a 401 Problem
    echoing the Authorization header."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            answer: dict[str, object]
            if "/token" in self.path:
                status = 400
                answer = {"error": "invalid_client", "error_description": f"got {body}"}
            else:
                status = 401
                answer = {
                    "type": "about:blank",
                    "title": "Unauthorized",
                    "status": 401,
                    "detail": f"bad header {self.headers.get('Authorization')}",
                }
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def team_with(slug: str, data: services.CredentialInput) -> tuple[Team, Client]:
    team = make_team(slug, slug.capitalize())
    services.credential_update(team=team, data=data, origin=Origin.system("tests"))
    person = make_user(f"{slug}-admin", superuser=True)
    join(person, team, Role.ADMIN)
    return team, sign_in(Client(), person)


@pytest.mark.django_db
def test_echoed_secrets_appear_nowhere(echo: str) -> None:
    grip, grip_admin = team_with(
        "echo-grip",
        services.CredentialInput(
            api_url=echo,
            auth_kind=AuthKind.CLIENT_CREDENTIALS,
            tenant_id="t",
            client_id="c",
            token_url=f"{echo}/token",
            audience="a",
            secret=CLIENT_SECRET,
        ),
    )
    fixed, fixed_admin = team_with(
        "echo-static",
        services.CredentialInput(
            api_url=echo, auth_kind=AuthKind.STATIC_TOKEN, secret=STATIC_TOKEN
        ),
    )
    seen: list[str] = []
    with debug_logging() as logs:
        for team, admin in ((grip, grip_admin), (fixed, fixed_admin)):
            slug = team.slug
            test_url = reverse("teams:credential_test", kwargs={"team_slug": slug})
            seen.append(text_of(admin.post(test_url, headers={"HX-Request": "true"})))
            seen.append(text_of(admin.post(test_url, follow=True)))
            for kind in ("lora", "mqtt"):
                seen.append(text_of(admin.get(f"/t/{slug}/{kind}/")))
            seen.append(text_of(admin.get(reverse("teams:audit", kwargs={"team_slug": slug}))))
            csv = admin.get(reverse("teams:audit_csv", kwargs={"team_slug": slug}))
            seen.append(body_of(csv))
    pages = "\n".join(seen)
    # The echoes did arrive (so the test shows what it claims), with the secrets taken out.
    assert "got grant_type=client_credentials" in pages
    assert "bad header Bearer [redacted]" in pages
    everything = "\n".join([pages, logs.text, database_text()])
    for secret in (CLIENT_SECRET, STATIC_TOKEN):
        for shape in shapes(secret):
            assert shape not in everything, shape
