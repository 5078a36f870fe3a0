"""A lockout, a password reset and a password change end the person's other sessions: a
client signed in before is sent to the sign-in page on its next request. Real requests
through the test Client, each client with its own session in the database."""

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
import redis
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from audit.models import Action, AuditEntry
from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of

SIGN_IN = "/accounts/sign-in/"
HOME = "192.0.2.44"
ATTACKER = "203.0.113.5"
NEW_PASSWORD = "a fresh passphrase nobody guesses 93"

pytestmark = pytest.mark.usefixtures("own_reset_limit_cache")


@pytest.fixture(autouse=True, params=["db", "cached_db"])
def session_engine(request: pytest.FixtureRequest, settings: LazySettings) -> Iterator[None]:
    """Both ways a deployment keeps sessions: in the database, and (with CACHE_URL) read
    from a shared cache in front of it, Redis where the environment has one (CI)."""
    settings.SESSION_ENGINE = f"django.contrib.sessions.backends.{request.param}"
    if request.param == "db":
        yield
        return
    prefix = f"sessions-test-{uuid4().hex}"
    cache = (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
        | {"LOCATION": settings.REDIS_URL, "KEY_PREFIX": prefix}
        if settings.REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": prefix}
    )
    settings.CACHES = {**settings.CACHES, "sessions-tests": cache}
    settings.SESSION_CACHE_ALIAS = "sessions-tests"
    yield
    if settings.REDIS_URL:  # not cache.clear(): that would empty the whole Redis database
        shared = redis.Redis.from_url(settings.REDIS_URL)
        for key in shared.scan_iter(f"{prefix}:*"):
            shared.delete(key)


def signed_in(username: str, password: str = PASSWORD, *, ip: str = HOME) -> Client:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(SIGN_IN, {"username": username, "password": password})
    assert response.status_code == 302, body_of(response)
    assert is_signed_in(client)
    return client


def is_signed_in(client: Client) -> bool:
    """The client's next request shows a page instead of sending it to sign in."""
    response = client.get("/teams/")
    if response.status_code == 302:
        assert response["Location"] == f"{SIGN_IN}?next=/teams/"
        return False
    assert response.status_code == 200
    return True


def guess(ip: str, username: str = "lena") -> Any:
    return Client().post(
        SIGN_IN, {"username": username, "password": "wrong password"}, REMOTE_ADDR=ip
    )


@pytest.fixture
def mats(db: None) -> User:
    return User.objects.create_user("mats", password=PASSWORD)


# --- Lockout --------------------------------------------------------------------------------


def test_a_lockout_ends_the_locked_persons_sessions(
    lena: User, mats: User, settings: LazySettings
) -> None:
    lena_at_home, lena_on_phone, mats_session = (
        signed_in("lena"),
        signed_in("lena"),
        signed_in("mats"),
    )
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        guess(ATTACKER)
    assert is_signed_in(lena_at_home)  # below the limit nothing ends
    assert guess(ATTACKER).status_code == 429  # the lock begins
    assert not is_signed_in(lena_at_home)
    assert not is_signed_in(lena_on_phone)
    assert is_signed_in(mats_session)
    entry = AuditEntry.objects.filter(action=Action.LOCKED_OUT).first()
    assert entry is not None
    assert entry.answered == {"sessions_ended": 2}


def test_refused_attempts_during_the_lock_end_no_new_session(
    lena: User, settings: LazySettings
) -> None:
    """Else anyone could keep lena signed out by guessing on from the locked address."""
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guess(ATTACKER)
    lena_at_home = signed_in("lena")  # her own address is not locked
    for _ in range(3):
        assert guess(ATTACKER).status_code == 429
    assert is_signed_in(lena_at_home)
    latest = AuditEntry.objects.filter(action=Action.LOCKED_OUT).first()
    assert latest is not None
    assert latest.answered == {}


def test_a_lockout_across_addresses_ends_the_sessions_too(
    lena: User, settings: LazySettings
) -> None:
    lena_at_home = signed_in("lena")
    for number in range(settings.AXES_USERNAME_FAILURE_LIMIT - 1):
        assert guess(f"198.51.100.{number + 1}").status_code == 200
    assert is_signed_in(lena_at_home)
    assert guess("198.51.100.200").status_code == 429
    assert not is_signed_in(lena_at_home)


def test_locking_a_username_nobody_has_ends_no_session(lena: User, settings: LazySettings) -> None:
    lena_at_home = signed_in("lena")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guess(ATTACKER, username="lena2")
    assert is_signed_in(lena_at_home)
    entry = AuditEntry.objects.filter(action=Action.LOCKED_OUT).first()
    assert entry is not None
    assert entry.answered == {"sessions_ended": 0}


# --- Password reset and change --------------------------------------------------------------


def test_a_password_reset_ends_every_session(lena: User, mats: User) -> None:
    lena.email = "lena@example.com"
    lena.save()
    lena_at_home, mats_session = signed_in("lena"), signed_in("mats")
    resetting = Client()
    resetting.post("/accounts/password/reset/", {"email": "lena@example.com"})
    found = re.search(r"http://testserver(/accounts/password/reset/\S+/)", str(mail.outbox[0].body))
    assert found
    form_page = resetting.get(found.group(1))["Location"]
    assert is_signed_in(lena_at_home)  # asking and opening the link end nothing
    resetting.post(form_page, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not is_signed_in(lena_at_home)
    assert is_signed_in(mats_session)
    assert is_signed_in(signed_in("lena", NEW_PASSWORD))


def test_a_password_change_keeps_this_session_and_ends_the_others(lena: User) -> None:
    changing, elsewhere = signed_in("lena"), signed_in("lena")
    response = changing.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == "/accounts/password/changed/"
    assert is_signed_in(changing)
    assert not is_signed_in(elsewhere)
