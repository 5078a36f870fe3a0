"""Signing in, failing to, being locked out, signing out and changing one's password each
leave one audit entry, written through the real pages."""

import json
import time
from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client

from audit.models import Action, AuditEntry, Outcome

PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "Tr0ub4dor&3-is-wrong"
NEW_PASSWORD = "a quite different passphrase 77"
AGENT = "pytest-browser/2.0"


@pytest.fixture
def fast_hashing(settings: LazySettings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(db: None, fast_hashing: None) -> User:
    return User.objects.create_user("dora", password=PASSWORD)


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_USER_AGENT=AGENT)


def entries(action: Action) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


def row_text() -> str:
    """Every stored value of every entry, as one string to search for leaks."""
    return json.dumps(list(AuditEntry.objects.values()), default=str)


def sign_in(browser: Client, password: str, username: str = "dora") -> Any:
    return browser.post("/accounts/sign-in/", {"username": username, "password": password})


def test_sign_in_leaves_one_entry(person: User, browser: Client) -> None:
    response = sign_in(browser, PASSWORD)

    assert response.status_code == 302
    [entry] = AuditEntry.objects.all()
    assert entry.action == Action.SIGN_IN
    assert entry.outcome == Outcome.OK
    assert (entry.actor_id, entry.actor_label) == (person.pk, "dora")
    assert entry.ip_address == "127.0.0.1"
    assert entry.user_agent == AGENT
    assert PASSWORD not in row_text()


def test_failed_sign_in_leaves_one_entry_with_the_username_and_never_the_password(
    person: User, browser: Client
) -> None:
    response = sign_in(browser, WRONG_PASSWORD)

    assert response.status_code == 200  # the form again, with its error
    [entry] = AuditEntry.objects.all()
    assert entry.action == Action.SIGN_IN_FAILED
    assert entry.outcome == Outcome.REFUSED
    assert entry.actor_id is None
    assert entry.actor_label == "dora"
    assert entry.ip_address == "127.0.0.1"
    assert WRONG_PASSWORD not in row_text()
    assert "********" not in row_text()  # not even Django's cleansed placeholder


def test_failed_sign_in_with_an_unknown_username_is_recorded_too(
    db: None, fast_hashing: None, browser: Client
) -> None:
    sign_in(browser, WRONG_PASSWORD, username="mallory")

    [entry] = entries(Action.SIGN_IN_FAILED)
    assert entry.actor_label == "mallory"
    assert WRONG_PASSWORD not in row_text()


def test_lockout_leaves_one_lockout_entry(
    person: User, browser: Client, settings: LazySettings
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(browser, WRONG_PASSWORD)

    assert response.status_code == 429
    [lockout] = entries(Action.LOCKED_OUT)
    assert lockout.actor_label == "dora"
    assert lockout.ip_address == "127.0.0.1"
    assert lockout.outcome == Outcome.REFUSED
    assert len(entries(Action.SIGN_IN_FAILED)) == settings.AXES_FAILURE_LIMIT
    assert WRONG_PASSWORD not in row_text()


def test_sign_out_leaves_one_entry(person: User, browser: Client) -> None:
    sign_in(browser, PASSWORD)

    response = browser.post("/accounts/sign-out/")

    assert response.status_code == 302
    [entry] = entries(Action.SIGN_OUT)
    assert (entry.actor_id, entry.actor_label) == (person.pk, "dora")
    assert entry.user_agent == AGENT
    assert entry.summary == ""
    assert AuditEntry.objects.count() == 2  # the sign-in and the sign-out


def test_signing_out_when_not_signed_in_leaves_no_entry(db: None, browser: Client) -> None:
    browser.post("/accounts/sign-out/")

    assert not AuditEntry.objects.exists()


def test_idle_sign_out_says_why(person: User, browser: Client, settings: LazySettings) -> None:
    sign_in(browser, PASSWORD)
    session = browser.session
    session["last_activity"] = time.time() - settings.SESSION_IDLE_MINUTES * 60 - 5
    session.save()

    browser.get("/teams/")

    [entry] = entries(Action.SIGN_OUT)
    assert entry.actor_label == "dora"
    assert entry.summary == f"After {settings.SESSION_IDLE_MINUTES} minutes without activity"


def test_password_change_leaves_one_entry_without_passwords(person: User, browser: Client) -> None:
    sign_in(browser, PASSWORD)

    response = browser.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    [entry] = entries(Action.PASSWORD_CHANGED)
    assert (entry.actor_id, entry.actor_label) == (person.pk, "dora")
    assert entry.outcome == Outcome.OK
    assert AuditEntry.objects.count() == 2  # the sign-in and the change
    assert PASSWORD not in row_text()
    assert NEW_PASSWORD not in row_text()


def test_a_refused_password_change_leaves_no_entry(person: User, browser: Client) -> None:
    sign_in(browser, PASSWORD)

    response = browser.post(
        "/accounts/password/",
        {
            "old_password": WRONG_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert not entries(Action.PASSWORD_CHANGED)
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
