"""Resetting a forgotten password by email: the whole flow through the test Client, the same
answer whether or not an address has an account, the limits, and what the audit trail keeps.
Emails land in django.core.mail.outbox (Django's test runner uses the locmem backend)."""

import re
from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from accounts.services import Limit, password_reset_limit
from audit.models import Action, AuditEntry, Outcome
from tests.accounts.conftest import PASSWORD
from tests.teams.capture import body_of, database_text

SIGN_IN = "/accounts/sign-in/"
RESET = "/accounts/password/reset/"
SENT = "/accounts/password/reset/sent/"
COMPLETE = "/accounts/password/reset/done/"
NEW_PASSWORD = "a fresh passphrase nobody guesses 93"
LENA_EMAIL = "lena@example.com"
LINK = re.compile(r"http://testserver(/accounts/password/reset/([^/\s]+)/([^/\s]+)/)")

pytestmark = pytest.mark.usefixtures("own_reset_limit_cache")


@pytest.fixture
def lena_with_email(lena: User) -> User:
    lena.email = LENA_EMAIL
    lena.save()
    return lena


def ask(client: Client, email: str, *, ip: str = "127.0.0.1") -> Any:
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def link_of(message: mail.EmailMessage) -> re.Match[str]:
    found = LINK.search(str(message.body))
    assert found, message.body
    return found


def without_per_rendering_values(page: str) -> str:
    """A page without its CSRF token and CSP nonces, which are new on every rendering."""
    return re.sub(r'"X-CSRFToken": "[^"]+"|nonce="[^"]+"', "", page)


def set_new_password(client: Client, link_path: str, password: str = NEW_PASSWORD) -> Any:
    """Open the emailed link, then choose `password` on the page it leads to."""
    opened = client.get(link_path)
    assert opened.status_code == 302
    form_page = opened["Location"]
    assert form_page.endswith("/set-password/")  # the token is out of the address bar
    assert 'name="new_password1"' in body_of(client.get(form_page))
    return client.post(form_page, {"new_password1": password, "new_password2": password})


# --- The flow -------------------------------------------------------------------------------


def test_the_sign_in_page_links_to_the_reset(db: None, client: Client) -> None:
    page = body_of(client.get(SIGN_IN))
    assert f'<a href="{RESET}">Forgot your password?</a>' in page
    reset_page = client.get(RESET)
    assert reset_page.status_code == 200
    assert "Reset your password" in body_of(reset_page)
    assert 'autocomplete="email"' in body_of(reset_page)


def test_the_whole_reset_flow(lena_with_email: User, client: Client) -> None:
    response = ask(client, LENA_EMAIL)
    assert response.status_code == 302
    assert response["Location"] == SENT
    sent = body_of(client.get(SENT))
    assert "Check your email" in sent
    assert "The link works once, for 1 hour." in sent  # PASSWORD_RESET_MINUTES' default

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [LENA_EMAIL]
    assert message.subject == "Reset your Things Portal password"
    assert "Hello lena," in str(message.body)
    assert "The link works once, for 1 hour." in str(message.body)

    done = set_new_password(client, link_of(message).group(1))
    assert done.status_code == 302
    assert done["Location"] == COMPLETE
    assert "Your password has been reset" in body_of(client.get(COMPLETE))

    lena_with_email.refresh_from_db()
    assert lena_with_email.check_password(NEW_PASSWORD)
    old = Client().post(SIGN_IN, {"username": "lena", "password": PASSWORD})
    assert old.status_code == 200
    assert "Please enter a correct username and password." in body_of(old)
    new = Client()
    assert new.post(SIGN_IN, {"username": "lena", "password": NEW_PASSWORD})["Location"] == "/"
    assert new.session[SESSION_KEY] == str(lena_with_email.pk)


def test_the_links_lifetime_is_told_as_configured(
    lena_with_email: User, client: Client, settings: LazySettings
) -> None:
    settings.PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600
    ask(client, LENA_EMAIL)
    assert "The link works once, for 3 days." in str(mail.outbox[0].body)
    assert "The link works once, for 3 days." in body_of(client.get(SENT))


def test_an_unknown_address_gets_the_same_answer_and_no_email(lena_with_email: User) -> None:
    known, unknown = Client(), Client()
    known_response = ask(known, LENA_EMAIL)
    assert len(mail.outbox) == 1
    unknown_response = ask(unknown, "nobody@example.com")
    assert len(mail.outbox) == 1  # nothing more was sent
    assert (unknown_response.status_code, unknown_response["Location"]) == (
        known_response.status_code,
        known_response["Location"],
    )
    unknown_page, known_page = body_of(unknown.get(SENT)), body_of(known.get(SENT))
    assert without_per_rendering_values(unknown_page) == without_per_rendering_values(known_page)


def test_the_address_is_matched_whatever_its_case(lena_with_email: User, client: Client) -> None:
    ask(client, "Lena@Example.COM")
    assert [message.to for message in mail.outbox] == [[LENA_EMAIL]]


def test_inactive_and_passwordless_accounts_get_no_email(
    lena_with_email: User, client: Client
) -> None:
    lena_with_email.is_active = False
    lena_with_email.save()
    assert ask(client, LENA_EMAIL)["Location"] == SENT
    lena_with_email.is_active = True
    lena_with_email.set_unusable_password()
    lena_with_email.save()
    assert ask(client, LENA_EMAIL)["Location"] == SENT
    assert mail.outbox == []
    outcomes = AuditEntry.objects.filter(action=Action.PASSWORD_RESET_REQUESTED)
    assert {entry.outcome for entry in outcomes} == {Outcome.NOT_SENT}


def test_an_address_of_two_accounts_gets_a_link_for_each(
    lena_with_email: User, client: Client
) -> None:
    User.objects.create_user("lena-admin", email=LENA_EMAIL, password=PASSWORD)
    ask(client, LENA_EMAIL)
    greetings = sorted(str(message.body).splitlines()[0] for message in mail.outbox)
    assert greetings == ["Hello lena,", "Hello lena-admin,"]
    entries = AuditEntry.objects.filter(action=Action.PASSWORD_RESET_REQUESTED)
    assert sorted(entry.target_id for entry in entries) == ["lena", "lena-admin"]


# --- Links that do not work -----------------------------------------------------------------


def assert_link_does_not_work(response: Any) -> None:
    assert response.status_code == 200
    page = body_of(response)
    assert "This link does not work" in page
    assert "Your password has not been changed." in page
    assert f'<a href="{RESET}">Ask for a new link</a>' in page


def test_a_wrong_token_shows_a_page_in_words(lena_with_email: User, client: Client) -> None:
    ask(client, LENA_EMAIL)
    found = link_of(mail.outbox[0])
    uid = found.group(2)
    assert_link_does_not_work(client.get(f"{RESET}{uid}/not-the-token/"))
    assert_link_does_not_work(client.get(f"{RESET}not-a-user/{found.group(3)}/"))
    assert_link_does_not_work(client.get(f"{RESET}{uid}/set-password/"))  # no link opened
    posted = client.post(
        f"{RESET}{uid}/not-the-token/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert_link_does_not_work(posted)
    lena_with_email.refresh_from_db()
    assert lena_with_email.check_password(PASSWORD)


def test_a_used_link_no_longer_works(lena_with_email: User, client: Client) -> None:
    ask(client, LENA_EMAIL)
    link = link_of(mail.outbox[0]).group(1)
    assert set_new_password(client, link)["Location"] == COMPLETE
    assert_link_does_not_work(Client().get(link))
    assert_link_does_not_work(client.get(link))


def test_a_new_link_ends_the_older_ones_once_used(lena_with_email: User, client: Client) -> None:
    ask(client, LENA_EMAIL)
    ask(client, LENA_EMAIL)
    first, second = (link_of(message).group(1) for message in mail.outbox)
    assert set_new_password(Client(), second)["Location"] == COMPLETE
    assert_link_does_not_work(Client().get(first))


def test_a_weak_new_password_is_refused_in_words(lena_with_email: User, client: Client) -> None:
    ask(client, LENA_EMAIL)
    response = set_new_password(client, link_of(mail.outbox[0]).group(1), "12345678")
    assert response.status_code == 200
    assert "This password is too common." in body_of(response)
    lena_with_email.refresh_from_db()
    assert lena_with_email.check_password(PASSWORD)


# --- Limits ---------------------------------------------------------------------------------


def test_the_sixth_request_for_an_address_sends_nothing_and_looks_the_same(
    lena_with_email: User,
) -> None:
    for number in range(5):
        assert ask(Client(), LENA_EMAIL, ip=f"192.0.2.{number + 1}")["Location"] == SENT
    assert len(mail.outbox) == 5
    sixth = Client()
    response = ask(sixth, "LENA@example.com", ip="192.0.2.99")  # any case, any client
    assert response.status_code == 302
    assert response["Location"] == SENT
    assert "Check your email" in body_of(sixth.get(SENT))
    assert len(mail.outbox) == 5
    refused = AuditEntry.objects.filter(action=Action.PASSWORD_RESET_REQUESTED).first()
    assert refused is not None
    assert (refused.outcome, refused.actor_label, refused.ip_address) == (
        Outcome.REFUSED,
        "lena",
        "192.0.2.99",
    )
    assert refused.summary == (
        "Over the limit of 5 requests in 1 hour for this email address: no email sent"
    )


def test_the_limit_for_one_address_leaves_other_addresses_alone(lena_with_email: User) -> None:
    User.objects.create_user("mats", email="mats@example.com", password=PASSWORD)
    for _ in range(6):
        ask(Client(), LENA_EMAIL)
    ask(Client(), "mats@example.com")
    assert [message.to for message in mail.outbox][-1] == ["mats@example.com"]
    assert len(mail.outbox) == 6


def test_one_ip_may_ask_twenty_times_an_hour_whatever_the_addresses(
    lena_with_email: User,
) -> None:
    for number in range(20):
        ask(Client(), f"nobody-{number}@example.com", ip="203.0.113.9")
    response = ask(Client(), LENA_EMAIL, ip="203.0.113.9")
    assert response["Location"] == SENT
    assert mail.outbox == []
    refused = AuditEntry.objects.filter(action=Action.PASSWORD_RESET_REQUESTED).first()
    assert refused is not None
    assert refused.outcome == Outcome.REFUSED
    assert "from this IP address: no email sent" in refused.summary
    ask(Client(), LENA_EMAIL, ip="198.51.100.4")  # another client is not held back
    assert len(mail.outbox) == 1


def test_the_limits_follow_the_settings(lena_with_email: User, settings: LazySettings) -> None:
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 1
    ask(Client(), LENA_EMAIL)
    ask(Client(), LENA_EMAIL)
    assert len(mail.outbox) == 1


def test_the_count_starts_again_in_the_next_window(settings: LazySettings) -> None:
    settings.PASSWORD_RESET_LIMIT_WINDOW_SECONDS = 3600
    start = 7200.0 * 1000  # the start of a window
    counts = [
        password_reset_limit(email="a@example.com", ip_address="192.0.2.1", now=start + n)
        for n in range(6)
    ]
    assert counts == [None] * 5 + [Limit.EMAIL]
    later = start + 3599
    assert password_reset_limit(email="a@example.com", ip_address="192.0.2.1", now=later)
    assert password_reset_limit(
        email="a@example.com", ip_address="192.0.2.1", now=start + 3600
    ) is (None)


# --- The audit trail ------------------------------------------------------------------------


def test_the_request_and_the_reset_are_audited_without_the_token(
    lena_with_email: User, client: Client
) -> None:
    ask(client, LENA_EMAIL, ip="192.0.2.44")
    found = link_of(mail.outbox[0])
    set_new_password(client, found.group(1))

    asked = AuditEntry.objects.get(action=Action.PASSWORD_RESET_REQUESTED)
    assert (asked.actor_id, asked.actor_label, asked.outcome) == (None, "lena", Outcome.OK)
    assert (asked.target_kind, asked.target_id, asked.ip_address) == ("user", "lena", "192.0.2.44")
    assert asked.summary == "Emailed a reset link"
    done = AuditEntry.objects.get(action=Action.PASSWORD_RESET_DONE)
    assert (done.actor_id, done.actor_label, done.outcome) == (
        lena_with_email.pk,
        "lena",
        Outcome.OK,
    )
    assert done.summary == f"With the link emailed to {LENA_EMAIL}"

    token, link = found.group(3), found.group(1)
    entries = repr(list(AuditEntry.objects.values()))
    assert token not in entries
    assert link not in entries
    assert NEW_PASSWORD not in entries
    stored = database_text()  # every table and every session, once the reset is done
    assert token not in stored
    assert NEW_PASSWORD not in stored


def test_an_unknown_address_is_not_kept(db: None, client: Client) -> None:
    ask(client, "Stranger@Example.org")
    entry = AuditEntry.objects.get(action=Action.PASSWORD_RESET_REQUESTED)
    assert (entry.actor_label, entry.target_id, entry.outcome) == ("", "", Outcome.NOT_SENT)
    assert entry.ip_address == "127.0.0.1"
    assert "stranger" not in repr(list(AuditEntry.objects.values())).lower()


def test_a_request_while_signed_in_says_who_was_signed_in(
    lena_with_email: User, client: Client
) -> None:
    User.objects.create_user("mats", password=PASSWORD)
    client.post(SIGN_IN, {"username": "mats", "password": PASSWORD})
    ask(client, LENA_EMAIL)
    entry = AuditEntry.objects.get(action=Action.PASSWORD_RESET_REQUESTED)
    assert (entry.actor_id, entry.actor_label) == (None, "lena")
    assert entry.summary == "Emailed a reset link (asked while signed in as mats)"
