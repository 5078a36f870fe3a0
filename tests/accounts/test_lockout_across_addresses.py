"""Guessing one username's password from ever new addresses still ends in a lockout: besides
AXES_FAILURE_LIMIT per username and address, AXES_USERNAME_FAILURE_LIMIT counts a username's
failures from all addresses together. Real sign-ins through the test Client."""

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import LazySettings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client

from audit.models import Action, AuditEntry, Outcome
from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of

SIGN_IN = "/accounts/sign-in/"
PROXY = "10.0.0.2"  # our TLS proxy, as the portal's socket sees it
HOME = "192.0.2.44"  # where lena really signs in from
GUESSES = 30


def forwarded(number: int) -> str:
    """A different client address for each guess, as the proxy would append it."""
    return f"198.51.{number // 250}.{number % 250 + 1}"


def post(client: Client, password: str, *, remote: str, xff: str | None = None) -> Any:
    meta: dict[str, Any] = {"REMOTE_ADDR": remote}
    if xff is not None:
        meta["HTTP_X_FORWARDED_FOR"] = xff
    return client.post(SIGN_IN, {"username": "lena", "password": password}, **meta)


def guess(number: int, mode: str) -> Any:
    """One wrong password from a new address: through the proxy (X-Forwarded-For) or directly."""
    if mode == "forwarded":
        return post(Client(), "wrong password", remote=PROXY, xff=forwarded(number))
    return post(Client(), "wrong password", remote=forwarded(number))


@pytest.fixture(params=["forwarded", "direct"])
def mode(request: pytest.FixtureRequest, settings: LazySettings) -> str:
    """Behind one proxy with rotated X-Forwarded-For, or with no proxy and rotated sockets."""
    settings.BEHIND_TLS_PROXY = request.param == "forwarded"
    settings.TRUSTED_PROXY_COUNT = 1 if request.param == "forwarded" else 0
    return str(request.param)


def assert_locked_across_addresses(response: Any, settings: LazySettings) -> None:
    assert response.status_code == 429
    page = " ".join(body_of(response).split())
    assert "Signing in is locked for now" in page
    assert (
        f"There were {settings.AXES_USERNAME_FAILURE_LIMIT} failed attempts to sign in with "
        "this username from several addresses" in page
    )


def test_the_limits_are_what_the_attack_needs(settings: LazySettings) -> None:
    assert settings.AXES_FAILURE_LIMIT < settings.AXES_USERNAME_FAILURE_LIMIT < GUESSES


def test_rotating_addresses_still_locks_the_username(
    lena: User, mode: str, settings: LazySettings
) -> None:
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    statuses = [guess(number, mode).status_code for number in range(GUESSES)]

    # Every guess came from its own address, so no address reached AXES_FAILURE_LIMIT.
    assert AccessAttempt.objects.filter(username="lena").count() == GUESSES
    assert statuses[: limit - 1] == [200] * (limit - 1)
    assert statuses[limit - 1 :] == [429] * (GUESSES - limit + 1)

    # The right password, from yet another address, meets the lockout page.
    client = Client()
    if mode == "forwarded":
        response = post(client, PASSWORD, remote=PROXY, xff=HOME)
    else:
        response = post(client, PASSWORD, remote=HOME)
    assert_locked_across_addresses(response, settings)
    assert SESSION_KEY not in client.session


def test_just_below_the_username_limit_the_right_password_still_works(
    lena: User, mode: str, settings: LazySettings
) -> None:
    for number in range(settings.AXES_USERNAME_FAILURE_LIMIT - 1):
        assert guess(number, mode).status_code == 200
    client = Client()
    if mode == "forwarded":
        response = post(client, PASSWORD, remote=PROXY, xff=HOME)
    else:
        response = post(client, PASSWORD, remote=HOME)
    assert response.status_code == 302
    assert SESSION_KEY in client.session


def test_signing_in_at_home_does_not_wipe_what_was_guessed_elsewhere(
    lena: User, mode: str, settings: LazySettings
) -> None:
    limit = settings.AXES_USERNAME_FAILURE_LIMIT
    for number in range(limit - 5):
        guess(number, mode)
    home = post(Client(), PASSWORD, remote=HOME)
    assert home.status_code == 302
    for number in range(limit - 5, limit - 1):
        assert guess(number, mode).status_code == 200
    assert guess(limit - 1, mode).status_code == 429


def test_the_username_lockout_is_audited(lena: User, mode: str, settings: LazySettings) -> None:
    for number in range(settings.AXES_USERNAME_FAILURE_LIMIT):
        guess(number, mode)
    [entry] = AuditEntry.objects.filter(action=Action.LOCKED_OUT)
    assert (entry.actor_label, entry.outcome) == ("lena", Outcome.REFUSED)
    assert entry.ip_address == forwarded(settings.AXES_USERNAME_FAILURE_LIMIT - 1)
    assert entry.summary == "Too many failed sign-ins for this username, from several addresses"


def test_other_usernames_are_not_locked_by_lenas_guesses(
    lena: User, mode: str, settings: LazySettings
) -> None:
    for number in range(GUESSES):
        guess(number, mode)
    User.objects.create_user("mats", password=PASSWORD)
    response = Client().post(
        SIGN_IN, {"username": "mats", "password": PASSWORD}, REMOTE_ADDR=forwarded(1)
    )
    assert response.status_code == 302


def test_a_lower_username_limit_from_the_settings_applies(
    lena: User, mode: str, settings: LazySettings
) -> None:
    settings.AXES_USERNAME_FAILURE_LIMIT = 8
    statuses = [guess(number, mode).status_code for number in range(10)]
    assert statuses == [200] * 7 + [429] * 3
