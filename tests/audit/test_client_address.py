"""An audit entry keeps the client's address as the portal can know it, never one a client
wrote into X-Forwarded-For: the socket's with no proxy configured, the one our proxies
appended with TRUSTED_PROXY_COUNT of them, the socket's when the header is malformed.
Written through the real pages (sign-in, sign-out, password change, a team page)."""

import io
from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from audit.models import Action, AuditEntry
from teams.models import Team

PASSWORD = "correct horse battery staple 42"
FORGED = "6.6.6.6"
PROXY = "10.0.0.2"
CLIENT = "192.0.2.77"
OUTER_PROXY = "10.0.0.9"
SOCKET = "192.0.2.200"  # the client itself, with no proxy in front


@pytest.fixture
def person(db: None, settings: LazySettings) -> User:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return User.objects.create_user("dora", password=PASSWORD)


def browse(remote: str, xff: str) -> Client:
    """A browser whose every request arrives from `remote` carrying this X-Forwarded-For."""
    return Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=xff)


def walk(client: Client) -> None:
    """A failed sign-in, a sign-in, a password change and a sign-out: four kinds of entry."""
    sign_in = "/accounts/sign-in/"
    assert client.post(sign_in, {"username": "dora", "password": "nope"}).status_code == 200
    assert client.post(sign_in, {"username": "dora", "password": PASSWORD}).status_code == 302
    change: dict[str, Any] = {
        "old_password": PASSWORD,
        "new_password1": "a quite different passphrase 77",
        "new_password2": "a quite different passphrase 77",
    }
    assert client.post("/accounts/password/", change).status_code == 302
    assert client.post("/accounts/sign-out/").status_code == 302


WALKED = {Action.SIGN_IN_FAILED, Action.SIGN_IN, Action.PASSWORD_CHANGED, Action.SIGN_OUT}


def addresses() -> set[str | None]:
    entries = AuditEntry.objects.all()
    assert {entry.action for entry in entries} == WALKED
    return {entry.ip_address for entry in entries}


@pytest.mark.parametrize("xff", [FORGED, f"{FORGED}, {CLIENT}", "not-an-ip"])
def test_with_no_proxy_the_socket_address_is_kept(
    person: User, settings: LazySettings, xff: str
) -> None:
    settings.BEHIND_TLS_PROXY = True  # X-Forwarded-Proto may be trusted; the address is not
    settings.TRUSTED_PROXY_COUNT = 0
    walk(browse(SOCKET, xff))
    assert addresses() == {SOCKET}


@pytest.mark.parametrize(
    ("proxies", "xff"),
    [
        (1, CLIENT),
        (1, f"{FORGED}, {CLIENT}"),
        (1, f"not-an-ip, {FORGED}, {CLIENT}"),  # garbage the client wrote is ignored too
        (2, f"{CLIENT}, {OUTER_PROXY}"),
        (2, f"{FORGED}, {CLIENT}, {OUTER_PROXY}"),
    ],
)
def test_behind_proxies_the_address_they_appended_is_kept(
    person: User, settings: LazySettings, proxies: int, xff: str
) -> None:
    settings.TRUSTED_PROXY_COUNT = proxies
    walk(browse(PROXY, xff))
    assert addresses() == {CLIENT}


@pytest.mark.parametrize(
    ("proxies", "xff"),
    [
        (1, "not-an-ip"),
        (1, ""),
        (1, "1.2.3.4.5"),
        (1, "::g"),
        (1, f"{FORGED}, not-an-ip"),
        (1, f"{FORGED},"),
        (1, "0.0.0.0"),  # noqa: S104 (never a client's address)
        (2, FORGED),  # fewer entries than proxies: it was not our proxies that wrote it
        (2, f"{FORGED}, not-an-ip"),
    ],
)
def test_a_header_our_proxies_cannot_have_written_gives_the_socket_address(
    person: User, settings: LazySettings, proxies: int, xff: str
) -> None:
    settings.BEHIND_TLS_PROXY = True  # as in production
    settings.TRUSTED_PROXY_COUNT = proxies
    walk(browse(PROXY, xff))
    assert addresses() == {PROXY}
    call_command("verify_audit", stdout=io.StringIO())


def test_the_address_is_kept_in_the_form_the_database_reads_back(
    person: User, settings: LazySettings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    walk(browse(PROXY, f"{FORGED}, [2001:DB8:0::7]:51234"))
    assert addresses() == {"2001:db8::7"}
    call_command("verify_audit", stdout=io.StringIO())


def test_a_team_page_entry_keeps_the_proxied_address(
    person: User, team: Team, admin: User, settings: LazySettings
) -> None:
    """Entries written outside accounts (here: adding a member) use the same address."""
    settings.TRUSTED_PROXY_COUNT = 1
    client = browse(PROXY, f"{FORGED}, {CLIENT}")
    client.force_login(admin)
    response = client.post(f"/t/{team.slug}/members/add", {"username": "dora", "role": "viewer"})
    assert response.status_code == 302
    [entry] = AuditEntry.objects.filter(action=Action.MEMBER_ADDED)
    assert entry.ip_address == CLIENT
