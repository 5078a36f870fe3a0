"""Writing entries: attempts and their outcomes, secrets kept out, and entries that outlive
the people and teams they name."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from audit.models import Action, AuditEntry, Outcome, Phase
from audit.selectors import AuditFilters, audit_entries
from audit.trail import REDACTED, Origin, TeamRef, record, record_attempt, record_outcome
from teams import services
from teams.models import Membership, Role, Team
from tests.audit.conftest import origin_of
from tests.teams.world import make_user

DEVICE = "deveui:ea8fa35e2cf3489f"


def send_attempt(team: Team, origin: Origin, device: str = DEVICE) -> AuditEntry:
    return record_attempt(
        Action.DOWNLINK_SEND,
        origin=origin,
        team=TeamRef(team.pk, team.slug),
        target_kind="downlink",
        device_id=device,
        summary="Send 0102 on port 3",
        asked={"payloadHex": "0102", "fPort": 3},
    )


def test_an_outcome_links_to_its_attempt(team: Team, admin: User) -> None:
    attempt = send_attempt(team, origin_of(admin))

    outcome = record_outcome(
        attempt,
        outcome=Outcome.OK,
        origin=origin_of(admin),
        target_id="dl-123",
        answered={"status": 201},
    )

    assert (attempt.phase, attempt.outcome) == (Phase.ATTEMPT, Outcome.PENDING)
    assert (outcome.phase, outcome.outcome) == (Phase.OUTCOME, Outcome.OK)
    assert outcome.attempt_sequence == attempt.sequence
    assert outcome.sequence == attempt.sequence + 1
    assert outcome.action == Action.DOWNLINK_SEND
    # The outcome repeats the attempt's team and target, and adds what the API answered.
    assert (outcome.team_id, outcome.team_label) == (team.pk, team.slug)
    assert (outcome.target_kind, outcome.device_id) == ("downlink", DEVICE)
    assert outcome.target_id == "dl-123"
    assert outcome.answered == {"status": 201}


def test_an_attempt_without_outcome_is_marked_as_such(team: Team, admin: User) -> None:
    completed = send_attempt(team, origin_of(admin))
    record_outcome(completed, outcome=Outcome.REFUSED, origin=origin_of(admin))
    crashed = send_attempt(team, origin_of(admin), device="imei:350266800610993")

    shown = audit_entries(team_id=team.pk, filters=AuditFilters())
    # The selector annotates each entry with has_outcome.
    has_outcome = {entry.sequence: vars(entry)["has_outcome"] for entry in shown}

    assert has_outcome[completed.sequence] is True
    assert has_outcome[crashed.sequence] is False
    assert len(has_outcome) == 3  # the outcome entry itself is listed too


def test_the_audit_page_shows_outcome_unknown_for_an_attempt_without_outcome(
    team: Team, admin: User, admin_client: Client
) -> None:
    completed = send_attempt(team, origin_of(admin))
    record_outcome(completed, outcome=Outcome.OK, origin=origin_of(admin))

    page = admin_client.get(f"/t/{team.slug}/audit/").content.decode()
    assert "Outcome unknown" not in page
    assert "Sent downlink — accepted by the API" in page

    send_attempt(team, origin_of(admin))

    page = admin_client.get(f"/t/{team.slug}/audit/").content.decode()
    assert page.count("Outcome unknown") == 1
    assert "Send asked — outcome unknown" in page


def test_the_actor_stays_readable_after_the_user_is_deleted(team: Team, admin: User) -> None:
    boss = make_user("boss", superuser=True)
    bob = make_user("bob")
    services.member_add(team=team, username="bob", role=Role.ADMIN, origin=origin_of(bob))

    bob_id = bob.pk

    bob.delete()  # the trigger must not refuse this: entries have no foreign keys

    entry = AuditEntry.objects.get(action=Action.MEMBER_ADDED)
    assert (entry.actor_id, entry.actor_label) == (bob_id, "bob")
    client = Client()
    client.force_login(boss)
    page = client.get("/audit/", {"person": "bob"}).content.decode()
    assert "Added bob as admin" in page
    call_command("verify_audit", stdout=io.StringIO())


def test_entries_stay_readable_after_their_team_is_deleted(team: Team, admin: User) -> None:
    services.member_remove(
        membership=Membership.objects.create(team=team, user=make_user("bob")),
        origin=origin_of(admin),
    )
    team_id = team.pk

    team.delete()

    entry = AuditEntry.objects.get(action=Action.MEMBER_REMOVED)
    assert (entry.team_id, entry.team_label) == (team_id, "lighthouse")


def test_secrets_in_what_was_asked_and_answered_are_scrubbed(db: None) -> None:
    secrets = ["s3cret-value", "tok-value", "pa55-value", "Bearer abc", "key-value", "nested-tok"]
    asked = {
        "client_secret": secrets[0],
        "token": secrets[1],
        "password": secrets[2],
        "Authorization": secrets[3],
        "apiKey": secrets[4],
        "headers": [{"access_token": secrets[5], "accept": "application/json"}],
        "deviceId": DEVICE,
        # Not secrets, though their names look like it: kept.
        "tokenUrl": "https://idp.example.test/token",
        "secretChanged": True,
    }

    entry = record(
        Action.CREDENTIAL_TESTED,
        origin=Origin.system(),
        asked=asked,
        answered={"refresh_token": "refresh-value", "status": 200},
    )

    assert entry.asked == {
        "client_secret": REDACTED,
        "token": REDACTED,
        "password": REDACTED,
        "Authorization": REDACTED,
        "apiKey": REDACTED,
        "headers": [{"access_token": REDACTED, "accept": "application/json"}],
        "deviceId": DEVICE,
        "tokenUrl": "https://idp.example.test/token",
        "secretChanged": True,
    }
    assert entry.answered == {"refresh_token": REDACTED, "status": 200}
    stored = str(AuditEntry.objects.values().get())
    for secret in [*secrets, "refresh-value"]:
        assert secret not in stored


def test_long_fields_are_cut_to_fit_and_still_chain(db: None) -> None:
    origin = Origin(None, "x" * 400, "192.0.2.1", "agent " * 100)

    entry = record(Action.SIGN_IN_FAILED, origin=origin, summary="s" * 1000, device_id="d" * 200)

    stored = AuditEntry.objects.get(pk=entry.pk)
    assert len(stored.actor_label) == 150
    assert len(stored.user_agent) == 300
    assert len(stored.summary) == 300
    assert len(stored.device_id) == 100
    call_command("verify_audit", stdout=io.StringIO())


@pytest.mark.parametrize(
    "address",
    ["203.0.113.7", "2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001", "::ffff:192.0.2.1"],
)
def test_an_entry_chains_whatever_form_its_address_was_given_in(db: None, address: str) -> None:
    """The database may normalize an address; what is hashed must be what it stores."""
    record(Action.SIGN_IN, origin=Origin(1, "dora", address, "agent"))

    call_command("verify_audit", stdout=io.StringIO())
