"""The portal's own pages for signing in, signing out (by POST) and changing one's password."""

from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client

from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of

SIGN_IN = "/accounts/sign-in/"


def is_signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def change_password(client: Client, old: str, new: str, **options: Any) -> Any:
    """Posts the change-password form, the new password typed twice."""
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        **options,
    )


def test_the_sign_in_page_is_open_to_everyone(db: None, client: Client) -> None:
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    page = body_of(response)
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'autocomplete="current-password"' in page


def test_signing_in_goes_to_the_portal(lena: User, client: Client) -> None:
    response = client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_signed_in(client)


def test_signing_in_goes_back_to_the_page_asked_for(lena: User, client: Client) -> None:
    asked = client.get("/teams/")
    assert asked["Location"] == f"{SIGN_IN}?next=/teams/"
    response = client.post(
        asked["Location"], {"username": "lena", "password": PASSWORD, "next": "/teams/"}
    )
    assert response["Location"] == "/teams/"


def test_signing_in_never_sends_people_to_another_site(lena: User, client: Client) -> None:
    response = client.post(
        SIGN_IN, {"username": "lena", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_in_words(lena: User, client: Client) -> None:
    response = client.post(SIGN_IN, {"username": "lena", "password": "not it"})
    assert response.status_code == 200
    assert "Please enter a correct username and password." in body_of(response)
    assert "not it" not in body_of(response)
    assert not is_signed_in(client)


def test_a_signed_in_person_is_sent_on_from_the_sign_in_page(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert client.get(SIGN_IN)["Location"] == "/"


def test_signing_out_takes_a_post(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert client.get("/accounts/sign-out/").status_code == 405
    assert is_signed_in(client)
    response = client.post("/accounts/sign-out/")
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    assert not is_signed_in(client)
    assert client.get("/teams/")["Location"] == f"{SIGN_IN}?next=/teams/"


def test_every_page_offers_signing_out_by_post(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    page = body_of(client.get("/teams/"))
    assert '<form method="post" action="/accounts/sign-out/"' in page


def test_changing_ones_password(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    new = "a quite different passphrase 77"
    response = change_password(client, PASSWORD, new, follow=True)
    assert response.redirect_chain == [("/accounts/password/changed/", 302)]
    assert "Your password has been changed." in body_of(response)
    assert is_signed_in(client)  # this session stays valid
    lena.refresh_from_db()
    assert lena.check_password(new)


def test_a_wrong_current_password_is_refused_in_words(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    response = change_password(client, "nope", "x" * 20)
    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in body_of(response)
    lena.refresh_from_db()
    assert lena.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_in_words(lena: User, client: Client) -> None:
    client.post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    response = change_password(client, PASSWORD, "12345678")
    assert response.status_code == 200
    assert "This password is too common." in body_of(response)
