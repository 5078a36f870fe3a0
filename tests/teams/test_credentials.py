"""A team's Things credential: encrypted at rest with keys of its own, rotated by command,
shown write-only, and tested with one real call to the (simulated) Things API."""

import re
from dataclasses import dataclass
from html import unescape
from io import StringIO

import httpx
import pytest
from cryptography.fernet import Fernet
from django.conf import LazySettings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import Action, AuditEntry, Outcome
from audit.trail import Origin
from benchmarks.simulated_team import client_credentials, register_simulator_client
from simulator.server import RunningSimulator
from teams import crypto, services
from teams.connections import team_credential
from teams.crypto import DecryptionError
from teams.models import AuthKind, Role, Team, ThingsCredential
from tests.teams.capture import body_of
from tests.teams.credential_form import credential_form
from tests.teams.world import make_team, member_client, static_token

CLIENT_SECRET = "grip-client-secret-7c1d9e0aB42x"
STATIC_TOKEN = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.static-token-tail-Zq81"
MASK = "••••••••"


@dataclass(frozen=True)
class GripTeam:
    team: Team
    client: Client  # signed in as an admin of the team
    simulator: RunningSimulator

    @property
    def credential(self) -> ThingsCredential:
        return ThingsCredential.objects.get(team=self.team)

    @property
    def page_url(self) -> str:
        return reverse("teams:credential", kwargs={"team_slug": self.team.slug})

    @property
    def test_url(self) -> str:
        return reverse("teams:credential_test", kwargs={"team_slug": self.team.slug})

    def form(self, **changes: str) -> dict[str, str]:
        return credential_form(self.credential, **changes)


def grip_team(simulator: RunningSimulator, *, secret: str = CLIENT_SECRET) -> GripTeam:
    """A team whose credential the simulator accepts (unless `secret` is another one)."""
    register_simulator_client(simulator, "acme-tenant", "acme-portal", CLIENT_SECRET)
    team = make_team("acme", "Acme Metering")
    client_credentials(
        team, simulator.url, tenant_id="acme-tenant", client_id="acme-portal", secret=secret
    )
    return GripTeam(team, member_client(team, "ada", Role.ADMIN), simulator)


@pytest.fixture
def acme(db: None, simulator: RunningSimulator) -> GripTeam:
    return grip_team(simulator)


def add_fault(simulator: RunningSimulator, **rule: object) -> None:
    httpx.post(f"{simulator.url}/_sim/faults", json=rule, timeout=5).raise_for_status()


def rows_of_credentials() -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM teams_thingscredential")
        return list(cursor.fetchall())


# --- Encryption at rest ---------------------------------------------------------------------


def test_the_stored_row_holds_only_ciphertext(acme: GripTeam, settings: LazySettings) -> None:
    (row,) = rows_of_credentials()
    assert not any(CLIENT_SECRET in str(value) for value in row)
    assert CLIENT_SECRET[-4:] in row  # the hint column, and nothing more of the secret
    ciphertext = acme.credential.secret_ciphertext
    key = settings.FIELD_ENCRYPTION_KEYS[0]
    assert Fernet(key.encode()).decrypt(ciphertext.encode()).decode() == CLIENT_SECRET


def test_a_wrong_key_raises_instead_of_falling_back(acme: GripTeam, settings: LazySettings) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [crypto.new_key()]
    with pytest.raises(DecryptionError) as raised:
        acme.credential.secret()
    assert CLIENT_SECRET not in str(raised.value)
    assert "FIELD_ENCRYPTION_KEYS" in str(raised.value)


def test_the_keys_are_not_derived_from_the_secret_key(
    acme: GripTeam, settings: LazySettings
) -> None:
    settings.SECRET_KEY = "an entirely different secret key, 50 characters long"
    assert acme.credential.secret() == CLIENT_SECRET
    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        acme.credential.secret()


def test_keys_that_are_not_fernet_keys_are_a_configuration_error(
    settings: LazySettings,
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(ImproperlyConfigured, match="Fernet keys"):
        crypto.encrypt("anything")


# --- Key rotation ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_rotation_re_encrypts_every_row_with_the_newest_key(
    settings: LazySettings,
) -> None:
    old_key, new_key = crypto.new_key(), crypto.new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    secrets_by_team = {
        "grip": CLIENT_SECRET,
        "static": STATIC_TOKEN,
        "other": "third-secret-abcdef",
    }
    client_credentials(
        make_team("grip", "Grip"),
        "http://127.0.0.1:9",
        tenant_id="t",
        client_id="c",
        secret=secrets_by_team["grip"],
    )
    static_token(make_team("static", "Static"), "http://127.0.0.1:9", secrets_by_team["static"])
    static_token(make_team("other", "Other"), "http://127.0.0.1:9", secrets_by_team["other"])
    make_team("empty", "No credential")
    before = dict(ThingsCredential.objects.values_list("team__slug", "secret_ciphertext"))

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    for credential in ThingsCredential.objects.all():
        with pytest.raises(DecryptionError):
            credential.secret()

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 3 secret(s)" in out.getvalue()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    after = dict(ThingsCredential.objects.values_list("team__slug", "secret_ciphertext"))
    assert after.keys() == before.keys() == secrets_by_team.keys()
    for slug, ciphertext in after.items():
        assert ciphertext != before[slug]
        assert (
            Fernet(new_key.encode()).decrypt(ciphertext.encode()).decode() == secrets_by_team[slug]
        )
        assert ThingsCredential.objects.get(team__slug=slug).secret() == secrets_by_team[slug]
    (entry,) = AuditEntry.objects.filter(action=Action.ENCRYPTION_KEYS_ROTATED)
    assert entry.outcome == Outcome.OK
    assert entry.actor_label == "manage.py rotate_encryption_keys"


@pytest.mark.django_db
def test_rotation_stops_on_a_secret_no_key_decrypts_and_changes_nothing(
    settings: LazySettings,
) -> None:
    old_key, lost_key, new_key = crypto.new_key(), crypto.new_key(), crypto.new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    static_token(make_team("kept", "Kept"), "http://127.0.0.1:9", STATIC_TOKEN)
    settings.FIELD_ENCRYPTION_KEYS = [lost_key]
    static_token(make_team("lost", "Lost"), "http://127.0.0.1:9", "a-secret-of-a-lost-key")
    before = dict(ThingsCredential.objects.values_list("team__slug", "secret_ciphertext"))

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    with pytest.raises(CommandError, match="cannot be decrypted with any key"):
        call_command("rotate_encryption_keys", stdout=StringIO())
    assert dict(ThingsCredential.objects.values_list("team__slug", "secret_ciphertext")) == before
    assert not AuditEntry.objects.filter(action=Action.ENCRYPTION_KEYS_ROTATED).exists()


# --- The credential page --------------------------------------------------------------------


def test_the_page_shows_the_secret_masked_to_its_last_four_characters(acme: GripTeam) -> None:
    response = acme.client.get(acme.page_url)
    assert response.status_code == 200
    page = body_of(response)
    assert f"{MASK}{CLIENT_SECRET[-4:]}" in page
    assert CLIENT_SECRET not in page
    assert CLIENT_SECRET[-5:] not in page
    # The secret inputs start empty: write-only.
    for name in ("client_secret", "static_token"):
        (field,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', page)
        assert "value=" not in field
    assert "none fetched yet" in page


def test_saving_unchanged_values_with_an_empty_secret_keeps_the_stored_one(
    acme: GripTeam,
) -> None:
    version = acme.credential.version
    response = acme.client.post(acme.page_url, acme.form())
    assert response.status_code == 302
    credential = acme.credential
    assert credential.secret() == CLIENT_SECRET
    assert credential.version == version + 1
    entry = AuditEntry.objects.filter(action=Action.CREDENTIAL_CHANGED).first()
    assert entry is not None
    assert entry.asked["secretChanged"] is False
    assert entry.actor_label == "ada"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("client_id", "acme-portal-2", "Client id (the API key's id)"),
        ("tenant_id", "other-tenant", "GRIP tenant id"),
        ("audience", "another-app", "Audience (the KPN Things application id)"),
        ("token_url", "http://127.0.0.1:9/token", "Token URL"),
        ("api_url", "http://127.0.0.1:9", "Things API URL"),
    ],
)
def test_changing_where_the_secret_goes_needs_it_entered_again(
    acme: GripTeam, field: str, value: str, label: str
) -> None:
    before = acme.credential
    response = acme.client.post(acme.page_url, acme.form(**{field: value}))
    assert response.status_code == 400
    assert f"You changed {label}: enter the client secret again." in unescape(body_of(response))
    after = acme.credential
    assert (after.version, getattr(after, field)) == (before.version, getattr(before, field))
    assert not AuditEntry.objects.filter(action=Action.CREDENTIAL_CHANGED, actor_label="ada")


def test_saving_a_new_secret_replaces_the_stored_one(acme: GripTeam) -> None:
    new_secret = "a-brand-new-client-secret-WXYZ"
    register_simulator_client(acme.simulator, "acme-tenant", "acme-portal-2", new_secret)
    response = acme.client.post(
        acme.page_url, acme.form(client_id="acme-portal-2", client_secret=new_secret)
    )
    assert response.status_code == 302
    assert acme.credential.secret() == new_secret
    assert acme.credential.secret_hint == "WXYZ"
    entry = AuditEntry.objects.filter(action=Action.CREDENTIAL_CHANGED).first()
    assert entry is not None
    assert entry.asked["secretChanged"] is True
    assert new_secret not in repr(entry.asked)


def test_values_that_do_not_connect_are_not_saved_unless_saved_anyway(acme: GripTeam) -> None:
    wrong = "a-secret-the-identity-service-refuses"
    refused = acme.client.post(acme.page_url, acme.form(client_secret=wrong))
    assert refused.status_code == 400
    page = body_of(refused)
    assert "Not saved: the connection test with these values failed." in page
    assert "the client id or client secret was not accepted" in page
    assert 'name="save_anyway"' in page
    assert acme.credential.secret() == CLIENT_SECRET
    tested = AuditEntry.objects.filter(action=Action.CREDENTIAL_TESTED).first()
    assert tested is not None
    assert (tested.outcome, tested.summary[:14]) == (Outcome.FAILED, "Before saving:")
    # The platform may be down: the admin can still save, and is told it did not connect.
    anyway = acme.client.post(
        acme.page_url, acme.form(client_secret=wrong, save_anyway="on"), follow=True
    )
    assert "The credential was saved without a working connection." in body_of(anyway)
    assert acme.credential.secret() == wrong


def test_switching_to_a_static_token_needs_the_token(acme: GripTeam) -> None:
    response = acme.client.post(acme.page_url, acme.form(auth_kind=AuthKind.STATIC_TOKEN))
    assert response.status_code == 400
    assert "Enter the bearer token." in body_of(response)
    assert acme.credential.auth_kind == AuthKind.CLIENT_CREDENTIALS


def test_a_new_credential_needs_every_grip_field_and_the_secret(db: None) -> None:
    team = make_team("fresh", "Fresh")
    client = member_client(team, "ada", Role.ADMIN)
    url = reverse("teams:credential", kwargs={"team_slug": "fresh"})
    page = body_of(client.get(url))
    assert "This team has no credential yet" in page
    response = client.post(
        url, {"api_url": "http://127.0.0.1:9", "auth_kind": "client_credentials"}
    )
    assert response.status_code == 400
    page = body_of(response)
    assert "Needed for GRIP client credentials." in page
    assert "Enter the client secret." in page
    assert not ThingsCredential.objects.filter(team=team).exists()


# --- Test connection ------------------------------------------------------------------------


def test_a_working_credential_connects_and_shows_the_token_expiry(acme: GripTeam) -> None:
    response = acme.client.post(acme.test_url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    result = body_of(response)
    assert "Connected: the Things API answered and accepted the credential." in result
    assert "The access token is valid until" in result
    page = body_of(acme.client.get(acme.page_url))
    assert "none fetched yet" not in page
    assert re.search(r"valid until <time [^>]+>\d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \w+</time>", page)
    requests = [
        (entry.method, entry.path, entry.status)
        for entry in acme.simulator.app.request_log.entries()
    ]
    assert ("POST", "/v2/acme-tenant/oidc/idp/c1/token", 200) in requests
    assert ("GET", "/lora/downlinks", 200) in requests
    entry = AuditEntry.objects.filter(action=Action.CREDENTIAL_TESTED).first()
    assert entry is not None
    assert entry.outcome == Outcome.OK


def test_without_htmx_the_result_is_a_message_on_the_page(acme: GripTeam) -> None:
    response = acme.client.post(acme.test_url, follow=True)
    assert response.redirect_chain == [(acme.page_url, 302)]
    assert "Connected: the Things API answered" in body_of(response)


def test_a_static_token_connects(db: None, simulator: RunningSimulator) -> None:
    team = make_team("static", "Static")
    token = simulator.token("static-tenant", ttl_seconds=1800)
    static_token(team, simulator.url, token)
    client = member_client(team, "ada", Role.ADMIN)
    url = reverse("teams:credential_test", kwargs={"team_slug": "static"})
    result = body_of(client.post(url, headers={"HX-Request": "true"}))
    assert "Connected" in result
    assert "valid until" in result  # from the token's exp claim
    assert token not in result


def test_a_wrong_secret_is_reported_in_words(db: None, simulator: RunningSimulator) -> None:
    acme = grip_team(simulator, secret="a-secret-the-api-refuses-1234")
    response = acme.client.post(acme.test_url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    result = body_of(response)
    assert "The connection failed." in result
    assert "the client id or client secret was not accepted" in result
    assert "a-secret-the-api-refuses" not in result
    assert CLIENT_SECRET not in result
    entry = AuditEntry.objects.filter(action=Action.CREDENTIAL_TESTED).first()
    assert entry is not None
    assert entry.outcome == Outcome.FAILED


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/v2/", "the identity service answered HTTP 500"),
        ("/lora/", "The Things API had an internal problem"),
    ],
)
def test_a_server_error_is_reported_in_words_not_as_a_500(
    acme: GripTeam, path: str, words: str
) -> None:
    add_fault(acme.simulator, kind="error", status=500, path=path)
    response = acme.client.post(acme.test_url, follow=True)
    assert response.status_code == 200
    page = body_of(response)
    assert "The connection failed." in page
    assert words in page
    assert "Something went wrong on our side" not in page
    htmx = acme.client.post(acme.test_url, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert words in body_of(htmx)


def test_a_secret_no_key_decrypts_is_reported_in_words(
    acme: GripTeam, settings: LazySettings
) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [crypto.new_key()]
    result = body_of(acme.client.post(acme.test_url, headers={"HX-Request": "true"}))
    assert "cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS" in result
    # The page still shows the credential (the hint needs no key).
    assert f"{MASK}{CLIENT_SECRET[-4:]}" in body_of(acme.client.get(acme.page_url))


def test_a_team_without_a_credential_is_told_so(db: None) -> None:
    client = member_client(make_team("bare", "Bare"), "ada", Role.ADMIN)
    url = reverse("teams:credential_test", kwargs={"team_slug": "bare"})
    result = body_of(client.post(url, headers={"HX-Request": "true"}))
    assert "Bare has no Things API credential yet." in result


# --- The credential a request uses ----------------------------------------------------------


def test_a_team_page_reads_the_credential_with_the_memberships(acme: GripTeam) -> None:
    with CaptureQueriesContext(connection) as captured:
        page = acme.client.get(reverse("teams:credential", kwargs={"team_slug": acme.team.slug}))
        acme.client.post(acme.test_url)
    assert page.status_code == 200
    alone = [q["sql"] for q in captured if q["sql"].lstrip().startswith("SELECT")]
    # Neither the page nor the connection test's client asked again: it came with the team.
    credential_reads = [sql for sql in alone if 'FROM "teams_thingscredential"' in sql]
    membership_reads = [sql for sql in alone if 'FROM "teams_membership"' in sql]
    assert membership_reads
    assert all('"teams_thingscredential"' in sql for sql in membership_reads)
    assert credential_reads == []


TEST = Origin.system("test")


def same_endpoints(stored: ThingsCredential, secret: str) -> services.CredentialInput:
    """What an admin enters to change only the secret of `stored`."""
    return services.CredentialInput(
        api_url=stored.api_url,
        auth_kind=AuthKind(stored.auth_kind),
        tenant_id=stored.tenant_id,
        client_id=stored.client_id,
        token_url=stored.token_url,
        audience=stored.audience,
        secret=secret,
    )


def test_values_that_are_not_saved_are_never_the_teams_credential(acme: GripTeam) -> None:
    stored = acme.credential
    team = Team.objects.select_related("credential").get(pk=acme.team.pk)
    refused = services.credential_save(
        team=team, data=same_endpoints(stored, "a-secret-the-identity-service-refuses"), origin=TEST
    )
    assert refused.saved is None
    in_use = team_credential(team)
    assert in_use is not None
    assert (in_use.pk, in_use.version) == (stored.pk, stored.version)
    assert in_use.secret() == CLIENT_SECRET


def test_a_saved_credential_is_the_one_the_rest_of_the_request_uses(acme: GripTeam) -> None:
    stored = acme.credential
    team = Team.objects.select_related("credential").get(pk=acme.team.pk)
    saved = services.credential_update(
        team=team, data=same_endpoints(stored, "the-next-secret-of-acme-9f2"), origin=TEST
    )
    in_use = team_credential(team)
    assert in_use is not None
    assert in_use.version == stored.version + 1 == saved.version
    assert in_use.secret() == "the-next-secret-of-acme-9f2"
