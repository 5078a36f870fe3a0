"""The portal calls only the Things API and its identity service: a team admin cannot make it
probe its own network (Redis, PostgreSQL, the cloud metadata address), neither by the URL
they enter nor by a name that resolves to an internal address, and a failed connection
test says the same words whatever is (or is not) listening there."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf import LazySettings
from django.test import Client
from django.urls import reverse

from audit.trail import Origin
from simulator.server import RunningSimulator
from teams import services
from teams.models import AuthKind, Role, Team, ThingsCredential
from tests.ports import free_port
from tests.teams.world import make_team, member_client, static_token
from things_api import (
    GuardedTransport,
    OutboundPolicy,
    StaticBearerToken,
    ThingsClient,
    ThingsConnectionError,
)

PRODUCTION = ["api.kpnthings.com", "auth.grip-on-it.com"]
INTERNAL = [
    "http://127.0.0.1:6379",
    "http://[::1]:5432",
    "http://10.0.0.5",
    "http://192.168.1.1:8080",
    "http://169.254.169.254/latest/meta-data",
    "http://localhost:8001",
    "https://api.kpnthings.com.evil.example",
    "https://user:pass@api.kpnthings.com",
    "ftp://api.kpnthings.com",
]


@pytest.fixture
def admin(db: None) -> tuple[Team, Client]:
    team = make_team("probe", "Probe")
    return team, member_client(team, "probe-admin", Role.ADMIN)


def form(**changes: str) -> dict[str, str]:
    data = {
        "api_url": "https://api.kpnthings.com",
        "auth_kind": AuthKind.CLIENT_CREDENTIALS,
        "tenant_id": "tenant",
        "client_id": "client",
        "token_url": "https://auth.grip-on-it.com/v2/{tenant_id}/oidc/idp/c1/token",
        "audience": "app",
        "client_secret": "a-secret-for-the-real-platform",
        "static_token": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("url", INTERNAL)
@pytest.mark.parametrize("field", ["api_url", "token_url"])
def test_a_url_outside_the_allowed_hosts_is_refused_on_the_form(
    admin: tuple[Team, Client], settings: LazySettings, field: str, url: str
) -> None:
    settings.THINGS_ALLOWED_HOSTS = PRODUCTION
    team, client = admin
    page = client.post(reverse("teams:credential", args=[team.slug]), form(**{field: url}))
    assert page.status_code == 400
    text = page.content.decode()
    assert "may not call" in text or "Use an http" in text or "user name or password" in text
    assert not ThingsCredential.objects.filter(team=team).exists()


def test_the_service_refuses_them_too(admin: tuple[Team, Client], settings: LazySettings) -> None:
    settings.THINGS_ALLOWED_HOSTS = PRODUCTION
    team, _ = admin
    for url in INTERNAL[:5]:
        data = services.CredentialInput(api_url=url, auth_kind=AuthKind.STATIC_TOKEN, secret="t")
        with pytest.raises(services.TeamRuleError, match="The API URL"):
            services.credential_update(team=team, data=data, origin=Origin.system("tests"))


def test_an_internal_address_needs_to_be_listed_as_exactly_that() -> None:
    policy = OutboundPolicy.of(["127.0.0.1", ".kpnthings.com"])
    assert policy.refusal("http://127.0.0.1:8001") is None  # the simulator, as make run has it
    assert policy.refusal("https://eu.api.kpnthings.com") is None
    assert policy.refusal("http://[::1]:8001") is not None


def resolving_to(address: str) -> Any:
    """A resolver for a name whose DNS an attacker controls (there is none here)."""

    def resolve(host: str, port: int, **kwargs: Any) -> list[tuple[Any, ...]]:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.1.2.3", "169.254.169.254"])
def test_an_allowed_name_resolving_to_an_internal_address_is_refused_at_connect(
    simulator: RunningSimulator, address: str
) -> None:
    policy = OutboundPolicy.of([".kpnthings.com"])
    transport = GuardedTransport(policy, resolve=resolving_to(address))
    port = httpx.URL(simulator.url).port
    with (
        ThingsClient(
            f"http://eu.api.kpnthings.com:{port}", StaticBearerToken("t"), transport=transport
        ) as client,
        pytest.raises(ThingsConnectionError),
    ):
        client.lora.search()
    assert simulator.app.request_log.count() == 0  # nothing reached the simulator


def test_a_name_listed_exactly_may_resolve_to_loopback(simulator: RunningSimulator) -> None:
    token = simulator.token("demo")
    transport = GuardedTransport(OutboundPolicy.of(["sim.local"]), resolving_to("127.0.0.1"))
    port = httpx.URL(simulator.url).port
    with ThingsClient(
        f"http://sim.local:{port}", StaticBearerToken(token), transport=transport
    ) as client:
        assert client.lora.search().items == []


@pytest.fixture
def open_port_that_is_not_http() -> Iterator[int]:
    """Accepts a connection and closes it at once, as Redis or PostgreSQL would to HTTP."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_closed_port_and_an_open_one_read_the_same(
    admin: tuple[Team, Client], open_port_that_is_not_http: int, settings: LazySettings
) -> None:
    settings.THINGS_RETRY_ATTEMPTS = 1
    team, client = admin
    closed = free_port()  # nothing listens on it
    answers = []
    for port in (closed, open_port_that_is_not_http):
        ThingsCredential.objects.filter(team=team).delete()
        static_token(team, f"http://127.0.0.1:{port}", "some-token")
        url = reverse("teams:credential_test", args=[team.slug])
        answers.append(client.post(url, headers={"HX-Request": "true"}).content.decode())
    assert answers[0] == answers[1]
    assert "Could not reach the Things API at 127.0.0.1." in answers[0]
