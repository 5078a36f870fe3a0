"""Session hardening: a new key at sign-in, cookie flags, and the idle timeout."""

import time

import pytest
from django.conf import LazySettings, settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts.middleware import BACKGROUND_HEADER, LAST_ACTIVITY_KEY
from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of

SIGN_IN = "/accounts/sign-in/"


def sign_in(client: Client) -> None:
    response = client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert response.status_code == 302


def last_activity(client: Client) -> float:
    value = client.session[LAST_ACTIVITY_KEY]
    assert isinstance(value, float)
    return value


def idle_for(client: Client, seconds: float) -> None:
    """As if the person's last request was `seconds` ago (the middleware reads the wall clock)."""
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - seconds
    session.save()


@pytest.fixture
def signed_in(lena: User) -> Client:
    client = Client()
    sign_in(client)
    client.get("/teams/")  # a request of the person's own: the activity time is set
    return client


# --- Sign-in ----------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_key(lena: User) -> None:
    client = Client()
    session = client.session
    session["before_sign_in"] = True
    session.save()
    before = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == before
    sign_in(client)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert client.session[SESSION_KEY] == str(lena.pk)


def test_the_session_cookie_is_httponly_samesite_and_secure_as_configured(lena: User) -> None:
    client = Client()
    response = client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert bool(cookie["secure"]) is settings.SECURE_COOKIES
    assert settings.SESSION_COOKIE_AGE - 60 < int(cookie["max-age"]) <= settings.SESSION_COOKIE_AGE


def test_with_secure_cookies_the_session_cookie_is_secure(
    lena: User, settings: LazySettings
) -> None:
    settings.SESSION_COOKIE_SECURE = True  # what SECURE_COOKIES=true sets (see test_settings)
    response = Client().post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert response.cookies[settings.SESSION_COOKIE_NAME]["secure"] is True


def test_activity_does_not_extend_the_session_past_its_maximum_length(
    signed_in: Client, settings: LazySettings
) -> None:
    ends_at = signed_in.session.get_expiry_date()
    remaining = (ends_at - timezone.now()).total_seconds()
    assert settings.SESSION_COOKIE_AGE - 60 < remaining <= settings.SESSION_COOKIE_AGE
    idle_for(signed_in, 120)  # so the next request saves the session (a new activity time)
    response = signed_in.get("/teams/")
    assert signed_in.session.get_expiry_date() == ends_at
    assert int(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) <= remaining


# --- Idle timeout -----------------------------------------------------------------------------


def test_a_request_within_the_idle_time_keeps_the_session(
    signed_in: Client, settings: LazySettings
) -> None:
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 - 30)
    assert signed_in.get("/teams/").status_code == 200
    assert time.time() - last_activity(signed_in) < 5  # refreshed


def test_after_the_idle_time_the_next_request_signs_out_with_a_message(
    signed_in: Client, settings: LazySettings
) -> None:
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = signed_in.get("/teams/?page=2")
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=/teams/%3Fpage%3D2"
    assert SESSION_KEY not in signed_in.session
    page = body_of(signed_in.get(response["Location"]))
    assert (
        f"You were signed out after {settings.SESSION_IDLE_MINUTES} minutes without activity."
        in page
    )


def test_an_idle_htmx_request_is_sent_to_sign_in_with_hx_redirect(
    signed_in: Client, settings: LazySettings
) -> None:
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = signed_in.get("/teams/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{SIGN_IN}?next=/teams/"
    assert SESSION_KEY not in signed_in.session


def test_background_requests_do_not_refresh_the_activity_time(
    signed_in: Client, settings: LazySettings
) -> None:
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 - 60)
    before = last_activity(signed_in)
    response = signed_in.get("/teams/", headers={BACKGROUND_HEADER: "1"})
    assert response.status_code == 200
    assert last_activity(signed_in) == before
    # So background refreshes alone end in a sign-out once the idle time has passed.
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = signed_in.get("/teams/", headers={BACKGROUND_HEADER: "1", "HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(SIGN_IN)


def test_a_request_of_the_persons_own_refreshes_the_activity_time(
    signed_in: Client, settings: LazySettings
) -> None:
    idle_for(signed_in, settings.SESSION_IDLE_MINUTES * 60 - 60)
    before = last_activity(signed_in)
    signed_in.get("/teams/")
    assert last_activity(signed_in) > before + settings.SESSION_IDLE_MINUTES * 60 - 120


def test_anonymous_requests_are_not_timed(db: None, client: Client) -> None:
    assert client.get(SIGN_IN).status_code == 200
    assert LAST_ACTIVITY_KEY not in client.session


# --- Without a session ---------------------------------------------------------------------------


def test_a_page_without_a_session_goes_to_sign_in_and_back() -> None:
    response = Client().get("/teams/?page=2")
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next=/teams/%3Fpage%3D2"


def test_an_htmx_request_without_a_session_sends_the_browser_to_sign_in_for_its_page() -> None:
    """The region's own URL is not where the person was: the page in the browser is."""
    response = Client().get(
        "/t/lighthouse/lora/?page=abc",
        headers={
            "HX-Request": "true",
            "HX-Target": "results",
            "HX-Current-URL": "http://testserver/t/lighthouse/lora/?device_id=imei%3A1#top",
        },
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == (
        f"{SIGN_IN}?next=/t/lighthouse/lora/%3Fdevice_id%3Dimei%253A1"
    )
    assert response.content == b""


@pytest.mark.parametrize(
    "current_url",
    ["https://elsewhere.example/t/x/", "http://testserver", "javascript:alert(1)", "", "//x/y"],
)
def test_an_htmx_page_elsewhere_is_not_where_sign_in_returns_to(current_url: str) -> None:
    response = Client().get(
        "/teams/?page=2", headers={"HX-Request": "true", "HX-Current-URL": current_url}
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{SIGN_IN}?next=/teams/%3Fpage%3D2"


def test_signing_out_says_so_on_the_sign_in_page(signed_in: Client) -> None:
    response = signed_in.post("/accounts/sign-out/")
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert "You are signed out." in body_of(signed_in.get(SIGN_IN))
    assert "You are signed out." not in body_of(signed_in.get(SIGN_IN))  # said once
