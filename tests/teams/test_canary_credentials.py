"""Canary credentials: secrets that must appear nowhere the portal writes or shows things.

Three teams reach the live simulator: one with GRIP client credentials (its client secret a
canary), one with a static bearer token (a real JWT from the simulator), one with a client
secret the simulator does not accept. An admin of all three (also a superuser) then visits
every route of the access table, plain and as htmx, tests each connection (including one
answered by an injected 500), saves a credential with wrong input, and sees the 403 and 404
pages; while all loggers log at DEBUG. Then no canary may be in any response, log line, audit
row or database value; pages may show only the last four characters of a secret.
"""

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEntry, Outcome
from benchmarks.simulated_team import client_credentials, team_on_simulator
from simulator.server import RunningSimulator
from teams import connections
from teams.models import Role, Team, ThingsCredential
from tests.teams.capture import database_text, debug_logging, text_of
from tests.teams.credential_form import credential_form
from tests.teams.world import TeamObjects, join, make_team, make_user, sign_in, static_token
from tests.test_authorization import ROUTES
from things_api import ClientCredentials

MASK = "••••••••"


def canary(label: str) -> str:
    # URL-safe characters only, so a form- or URL-encoded copy would still match.
    return f"canary-{label}-{secrets.token_urlsafe(24)}"


def canary_jwt() -> str:
    """Looks like a JWT (and is one, unsigned), so nothing treats it as plain text."""
    return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjYW5hcnkifQ." + secrets.token_urlsafe(
        32
    )


UPSTREAM_FAILURE = (502, 503, 504)


@dataclass
class Pages:
    """Every response seen, followed through its redirects so messages are rendered."""

    client: Client
    texts: list[str] = field(default_factory=list)

    def visit(
        self, method: str, url: str, data: dict[str, str] | None = None, *, htmx: bool = False
    ) -> Any:
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            response = self.client.get(url, headers=headers)
        else:
            response = self.client.post(url, data or {}, headers=headers)
        self.texts.append(text_of(response))
        for _ in range(5):
            if response.status_code not in (301, 302) or not response["Location"].startswith("/"):
                break
            response = self.client.get(response["Location"])
            self.texts.append(text_of(response))
        # Never a server error; 502/503/504 are the dashboard's answers (with a banner in
        # words) when the Things API refuses the team's credential or fails.
        assert response.status_code < 500 or response.status_code in UPSTREAM_FAILURE, (
            method,
            url,
            response.status_code,
        )
        if response.status_code in UPSTREAM_FAILURE:
            assert 'class="banner"' in text_of(response)
        return response

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def add_fault(simulator: RunningSimulator, **rule: object) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json=rule, timeout=5).raise_for_status()


def issued_access_token(credential: ThingsCredential) -> str:
    """The access token the portal holds for a client-credentials credential."""
    auth = connections.things_client_for(credential).auth
    assert isinstance(auth, ClientCredentials)
    token = auth._token
    assert token is not None, "no access token was fetched"
    return token.value.get_secret_value()


def admin_pages(pages: Pages) -> None:
    """Django's admin, for every registered model: its list and each object's page."""
    pages.visit("GET", reverse("admin:index"))
    for model in admin.site._registry:
        meta = model._meta
        pages.visit("GET", reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        for pk in model._default_manager.values_list("pk", flat=True)[:20]:
            pages.visit(
                "GET", reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
            )


def every_route(pages: Pages, objects: TeamObjects) -> None:
    """Each route of the access table with each of its methods, plainly and as htmx."""
    for name, rule in ROUTES.items():
        if name == "accounts:sign_out":
            continue  # last, or the rest would be visited signed out
        url = reverse(name, kwargs=rule.kwargs(objects))
        for method in rule.methods:
            for htmx in (False, True):
                pages.visit(method, url, rule.data(objects), htmx=htmx)


@pytest.mark.django_db
def test_canary_secrets_appear_nowhere(simulator: RunningSimulator) -> None:
    client_secret = canary("client-secret")
    rejected_secret = canary("rejected-secret")
    replaced_secret = canary("replaced-secret")
    typed_secret = canary("typed-secret")
    typed_token = canary_jwt()
    bearer_token = simulator.token("static-tenant", ttl_seconds=3600)

    with debug_logging() as logs:
        teams: dict[str, Team] = {
            # Its client ("canary-portal") is registered with the simulator; the rejected
            # team's ("unknown-portal") is not.
            "grip": team_on_simulator(
                simulator,
                "canary",
                "Canary Metering",
                tenant_id="canary-tenant",
                secret=client_secret,
            ),
            "static": make_team("canary-static", "Canary Static"),
            "rejected": make_team("canary-rejected", "Canary Rejected"),
        }
        static_token(teams["static"], simulator.url, bearer_token)
        client_credentials(
            teams["rejected"],
            simulator.url,
            tenant_id="canary-tenant",
            client_id="unknown-portal",
            secret=rejected_secret,
        )
        ada = make_user("ada", superuser=True)
        vic = make_user("vic")
        make_user("drifter")
        objects: dict[str, TeamObjects] = {}
        for key, team in teams.items():
            join(ada, team, Role.ADMIN)
            join(vic, team, Role.VIEWER)
            objects[key] = TeamObjects(team, join(make_user(f"tara-{key}"), team, Role.VIEWER))

        pages = Pages(sign_in(Client(), ada))
        for team in teams.values():
            test_url = reverse("teams:credential_test", kwargs={"team_slug": team.slug})
            pages.visit("POST", test_url)
            pages.visit("POST", test_url, htmx=True)
        access_token = issued_access_token(ThingsCredential.objects.get(team=teams["grip"]))

        # A 500 from the API, reported in words.
        add_fault(simulator, kind="error", status=500, path="/lora", times=1)
        grip_test_url = reverse("teams:credential_test", kwargs={"team_slug": "canary"})
        failed = pages.visit("POST", grip_test_url, htmx=True)
        assert "The connection failed" in failed.content.decode()

        # Wrong input with a newly typed secret: refused, and the secret is not echoed.
        for key, typed in (
            ("grip", {"client_secret": typed_secret}),
            ("static", {"static_token": typed_token}),
        ):
            credential = ThingsCredential.objects.get(team=teams[key])
            url = reverse("teams:credential", kwargs={"team_slug": teams[key].slug})
            refused = pages.visit(
                "POST", url, credential_form(credential, api_url="not a url", **typed)
            )
            assert refused.status_code == 400
        # A replaced secret, saved.
        rejected = ThingsCredential.objects.get(team=teams["rejected"])
        url = reverse("teams:credential", kwargs={"team_slug": "canary-rejected"})
        pages.visit(
            "POST",
            url,
            credential_form(rejected, client_secret=replaced_secret, save_anyway="on"),
        )
        assert ThingsCredential.objects.get(team=teams["rejected"]).secret() == replaced_secret

        # The error pages.
        assert pages.visit("GET", "/t/no-such-team/").status_code == 404
        assert pages.visit("POST", "/t/canary/members/999999/remove").status_code == 404
        refused_pages = Pages(sign_in(Client(), vic))
        for method, url in (
            ("GET", reverse("teams:credential", kwargs={"team_slug": "canary"})),
            ("POST", grip_test_url),
            ("GET", reverse("teams:all_audit")),
        ):
            for htmx in (False, True):
                assert refused_pages.visit(method, url, htmx=htmx).status_code == 403

        for key in teams:
            every_route(pages, objects[key])
        admin_pages(pages)
        pages.visit("POST", reverse("accounts:sign_out"))

        audit_rows = "\n".join(repr(row) for row in AuditEntry.objects.values())
        stored = database_text()

    page_text = f"{pages.text}\n{refused_pages.text}"
    places = {"pages": page_text, "logs": logs.text, "audit rows": audit_rows, "database": stored}
    canaries = {
        "client secret": client_secret,
        "rejected client secret": rejected_secret,
        "replaced client secret": replaced_secret,
        "typed client secret": typed_secret,
        "typed bearer token": typed_token,
        "static bearer token": bearer_token,
        "issued access token": access_token,
    }

    # The capture saw what it should (so the absence below means something).
    assert logs.levels >= {10, 20, 30}  # DEBUG, INFO, WARNING
    assert {"simulator.requests", "things_api", "django.db.backends"} <= logs.names
    assert "/oidc/idp/c1/token -> 200" in logs.text
    assert "/oidc/idp/c1/token -> 401" in logs.text
    assert ThingsCredential.objects.get(team=teams["grip"]).secret_ciphertext in stored
    assert f"{MASK}{client_secret[-4:]}" in page_text
    assert f"{MASK}{bearer_token[-4:]}" in page_text
    assert "Connected: the Things API answered" in page_text
    assert "client id or client secret was not accepted" in page_text
    assert "There is nothing here, or it belongs to a team you are not in." in page_text
    assert "Not allowed for your role" in page_text
    assert AuditEntry.objects.filter(
        action=Action.CREDENTIAL_TESTED, outcome=Outcome.FAILED
    ).exists()
    assert User.objects.filter(username="drifter", teams__slug="canary").exists()

    found = [
        f"{label} in {place}"
        for label, value in canaries.items()
        for place, text in places.items()
        if value in text
    ]
    assert not found, found
    # Pages show at most the last four characters (the hint), never more of a secret.
    tails = [label for label, value in canaries.items() if value[-8:] in page_text]
    assert not tails, f"more than the last four characters shown of: {tails}"
