"""Brute-force protection: a username is locked on one address after repeated failures."""

from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client

from audit.models import Action, AuditEntry, Outcome
from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of

SIGN_IN = "/accounts/sign-in/"
ATTACKER = "203.0.113.5"
ELSEWHERE = "198.51.100.7"


def attempt(
    client: Client, password: str, *, ip: str, username: str = "lena", **headers: str
) -> Any:
    return client.post(
        SIGN_IN, {"username": username, "password": password}, REMOTE_ADDR=ip, headers=headers
    )


@pytest.fixture
def locked(lena: User, settings: LazySettings) -> None:
    """lena, locked out on ATTACKER after AXES_FAILURE_LIMIT wrong passwords."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "wrong password", ip=ATTACKER)


def assert_locked_page(response: Any, settings: LazySettings) -> None:
    assert response.status_code == 429
    page = body_of(response)
    assert "Signing in is locked for now" in page
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"There were {settings.AXES_FAILURE_LIMIT} failed attempts" in page
    assert f"signing in is locked for {minutes} minutes" in page


def test_failures_below_the_limit_are_ordinary_refusals(lena: User, settings: LazySettings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(Client(), "wrong password", ip=ATTACKER)
        assert response.status_code == 200
        assert "Please enter a correct username and password." in body_of(response)
    response = attempt(Client(), PASSWORD, ip=ATTACKER)
    assert response.status_code == 302


def test_after_the_limit_even_the_right_password_meets_the_locked_page(
    locked: None, settings: LazySettings
) -> None:
    client = Client()
    response = attempt(client, PASSWORD, ip=ATTACKER)
    assert_locked_page(response, settings)
    assert SESSION_KEY not in client.session


def test_the_locked_page_replaces_the_body_for_htmx(locked: None, settings: LazySettings) -> None:
    response = attempt(Client(), PASSWORD, ip=ATTACKER, **{"HX-Request": "true"})
    assert_locked_page(response, settings)
    assert response["HX-Retarget"] == "body"
    assert response["HX-Reswap"] == "innerHTML"


def test_the_same_person_can_still_sign_in_from_another_address(locked: None) -> None:
    client = Client()
    response = attempt(client, PASSWORD, ip=ELSEWHERE)
    assert response.status_code == 302
    assert SESSION_KEY in client.session


def test_other_people_can_still_sign_in_from_that_address(locked: None) -> None:
    User.objects.create_user("mats", password=PASSWORD)
    response = attempt(Client(), PASSWORD, ip=ATTACKER, username="mats")
    assert response.status_code == 302


def test_the_lockout_is_audited(locked: None) -> None:
    attempt(Client(), PASSWORD, ip=ATTACKER)
    entries = list(AuditEntry.objects.filter(action=Action.LOCKED_OUT))
    assert entries
    entry = entries[-1]
    assert (entry.actor_label, entry.ip_address, entry.outcome) == (
        "lena",
        ATTACKER,
        Outcome.REFUSED,
    )
    assert "Too many failed sign-ins" in entry.summary
    assert PASSWORD not in repr(list(AuditEntry.objects.values()))
