"""Which address a sign-in counts against: the socket's with no proxy configured, the one our
proxy appended to X-Forwarded-For with TRUSTED_PROXY_COUNT = 1, never an entry the client
wrote. A header our proxy cannot have written falls back to the socket's address, and is
never a 500 (django-axes keeps the address in an `inet` column on PostgreSQL). Real sign-ins
through the test Client; the compose file must keep the port for the proxy alone."""

import ipaddress
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import LazySettings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client

from audit.models import Action, AuditEntry
from tests.accounts.conftest import PASSWORD
from tests.things_portal.image import compose

SIGN_IN = "/accounts/sign-in/"
ATTACKER = "203.0.113.5"
PROXY = "10.0.0.2"
CLIENT = "192.0.2.77"  # what the proxy saw and appended
ELSEWHERE = "198.51.100.7"

MALFORMED = [
    "not-an-ip",
    "",
    "1.2.3.4.5",
    "::g",
    "198.51.100.66, not-an-ip",  # a valid address before a bad last entry is not taken
    "198.51.100.66, ",  # an empty last entry
    "198.51.100.66,::g",
]


def post(client: Client, password: str, *, remote: str, xff: str | None = None) -> Any:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return client.post(SIGN_IN, {"username": "lena", "password": password}, **meta)


def attempt_addresses() -> set[str | None]:
    stored = AccessAttempt.objects.values_list("ip_address", flat=True)
    return {None if address is None else str(address) for address in stored}


def audited_addresses(action: Action) -> list[str | None]:
    return list(AuditEntry.objects.filter(action=action).values_list("ip_address", flat=True))


def assert_failures_counted_against(address: str) -> None:
    """Every failed sign-in so far counted against `address`, by django-axes and the trail."""
    assert attempt_addresses() == {address}
    assert set(audited_addresses(Action.SIGN_IN_FAILED)) == {address}


def assert_locked_out(*, remote: str, xff: str) -> None:
    """The right password, sent from there, is refused (429) and signs nobody in."""
    client = Client()
    response = post(client, PASSWORD, remote=remote, xff=xff)
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


@pytest.fixture
def no_proxy(settings: LazySettings) -> None:
    """No proxy in front, even though X-Forwarded-Proto is still trusted: the count decides."""
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_COUNT = 0


@pytest.fixture(params=[True, False], ids=["tls-proxy", "plain-proxy"])
def one_proxy(request: pytest.FixtureRequest, settings: LazySettings) -> None:
    """One proxy of ours in front: as in production (with BEHIND_TLS_PROXY), and without it, as
    the count alone decides whether the header is read."""
    settings.BEHIND_TLS_PROXY = request.param
    settings.TRUSTED_PROXY_COUNT = 1


def test_without_a_proxy_the_header_does_not_spread_guesses(
    lena: User, no_proxy: None, settings: LazySettings
) -> None:
    for number in range(settings.AXES_FAILURE_LIMIT):
        post(Client(), "wrong password", remote=ATTACKER, xff=f"198.51.100.{number + 1}")
    assert_failures_counted_against(ATTACKER)

    assert_locked_out(remote=ATTACKER, xff=ELSEWHERE)
    assert audited_addresses(Action.LOCKED_OUT)[-1] == ATTACKER


def test_without_a_proxy_a_forged_header_cannot_lock_someone_else_out(
    lena: User, no_proxy: None, settings: LazySettings
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post(Client(), "wrong password", remote=ATTACKER, xff=ELSEWHERE)
    assert post(Client(), PASSWORD, remote=ELSEWHERE).status_code == 302


def test_behind_one_proxy_the_address_it_appended_counts(
    lena: User, one_proxy: None, settings: LazySettings
) -> None:
    for number in range(settings.AXES_FAILURE_LIMIT):
        # The client made up the leading entries; the proxy appended what it saw.
        forged = f"198.51.100.{number + 1}, 10.9.8.{number + 1}"
        post(Client(), "wrong password", remote=PROXY, xff=f"{forged}, {CLIENT}")
    assert_failures_counted_against(CLIENT)

    assert_locked_out(remote=PROXY, xff=CLIENT)
    # Someone else behind the same proxy is not locked out.
    assert post(Client(), PASSWORD, remote=PROXY, xff=ELSEWHERE).status_code == 302
    assert audited_addresses(Action.SIGN_IN) == [ELSEWHERE]


def test_behind_one_proxy_a_forged_leading_entry_is_not_the_address(
    lena: User, one_proxy: None
) -> None:
    response = post(Client(), PASSWORD, remote=PROXY, xff=f"{ELSEWHERE}, {CLIENT}")
    assert response.status_code == 302
    assert audited_addresses(Action.SIGN_IN) == [CLIENT]


def test_behind_two_proxies_the_outer_ones_address_counts(
    lena: User, settings: LazySettings
) -> None:
    settings.TRUSTED_PROXY_COUNT = 2
    post(Client(), "wrong password", remote=PROXY, xff=f"{ATTACKER}, {CLIENT}, 10.0.0.9")
    assert attempt_addresses() == {CLIENT}
    # One entry is fewer than two proxies write: the socket's address instead.
    post(Client(), "wrong password", remote=PROXY, xff=CLIENT)
    assert attempt_addresses() == {CLIENT, PROXY}


@pytest.mark.parametrize("xff", MALFORMED)
def test_a_malformed_last_entry_falls_back_to_the_socket_address(
    lena: User, one_proxy: None, xff: str
) -> None:
    refused = post(Client(), "wrong password", remote=PROXY, xff=xff)
    assert refused.status_code == 200
    assert attempt_addresses() == {PROXY}
    client = Client()
    accepted = post(client, PASSWORD, remote=PROXY, xff=xff)
    assert accepted.status_code == 302
    assert SESSION_KEY in client.session
    # The sign-in reset the failures of its own address, so that address was the socket's.
    assert not AccessAttempt.objects.exists()

    assert audited_addresses(Action.SIGN_IN_FAILED) == [PROXY]
    assert audited_addresses(Action.SIGN_IN) == [PROXY]


@pytest.mark.parametrize("xff", MALFORMED)
def test_a_malformed_header_still_counts_towards_a_lockout(
    lena: User, one_proxy: None, settings: LazySettings, xff: str
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post(Client(), "wrong password", remote=PROXY, xff=xff)
    assert_locked_out(remote=PROXY, xff=xff)
    assert audited_addresses(Action.LOCKED_OUT)[-1] == PROXY


@pytest.mark.parametrize("remote", ["", "not-an-ip"])
def test_no_usable_address_at_all_is_none_not_a_500(
    lena: User, one_proxy: None, remote: str
) -> None:
    assert post(Client(), "wrong password", remote=remote, xff="not-an-ip").status_code == 200
    assert attempt_addresses() == {None}
    response = post(Client(), PASSWORD, remote=remote, xff="not-an-ip")
    assert response.status_code == 302
    assert audited_addresses(Action.SIGN_IN_FAILED) == [None]
    assert audited_addresses(Action.SIGN_IN) == [None]


def test_every_stored_address_is_an_ip(lena: User, one_proxy: None) -> None:
    unusual = ["2001:DB8::0:1", "[2001:db8::2]:443", "fe80::3%eth0", "::ffff:192.0.2.4"]
    for xff in [*MALFORMED, f"{ATTACKER}, {CLIENT}", *unusual]:
        post(Client(), "wrong password", remote=PROXY, xff=xff)
    for address in attempt_addresses() | set(audited_addresses(Action.SIGN_IN_FAILED)):
        assert address is not None
        ipaddress.ip_address(address)
    # In the form PostgreSQL's inet keeps (no zone), the same in axes and in the audit trail.
    assert {"2001:db8::1", "2001:db8::2", "fe80::3", "192.0.2.4"} <= attempt_addresses()
    assert attempt_addresses() == set(audited_addresses(Action.SIGN_IN_FAILED))


def test_compose_publishes_the_web_port_to_the_host_only() -> None:
    """Reachable from anywhere, the port would let anyone write the header the portal trusts."""
    web = compose()["services"]["web"]
    for mapping in web.get("ports", []):
        assert str(mapping).startswith(("127.0.0.1:", "[::1]:")), mapping
