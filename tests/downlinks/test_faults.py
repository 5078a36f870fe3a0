"""Upstream faults, injected in the live simulator (timeouts, 5xx, 429, garbage bodies, dropped
connections, refused credentials): every page answers with a banner in words and a 502, 503
or 504, never a 500 page; a create whose answer never came is shown and audited as "outcome
unknown", and never sent again by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from audit.models import Action, AuditEntry, Outcome, Phase
from downlinks import polling
from downlinks.models import Downlink, SendState
from simulator.app import create_app
from simulator.clock import ManualClock
from simulator.config import SimulatorSettings
from simulator.server import RunningSimulator, start_in_thread
from teams import crypto
from teams.models import ThingsCredential
from tests.downlinks.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    COLLECTIONS,
    FORMS,
    TENANT,
    Dashboard,
    banners,
    make_dashboard,
    page_text,
)
from tests.teams.capture import body_of

# Each fault, and words its banner must hold.
READ_FAULTS: dict[str, tuple[dict[str, Any], str, int]] = {
    "timeout": (
        {"kind": "timeout", "delayMs": 3000},
        "The Things API did not answer within 1 second.",
        504,
    ),
    "500": ({"kind": "error", "status": 500}, "The Things API had an internal problem", 502),
    "503": ({"kind": "error", "status": 503}, "The Things API had an internal problem", 502),
    "429": (
        {"kind": "rate_limit", "retryAfter": 7},
        "The Things API is receiving too many requests",
        502,
    ),
    "garbage": (
        {"kind": "malformed"},
        "The Things API gave an answer that could not be understood (the body is not JSON).",
        502,
    ),
    "disconnect": (
        {"kind": "disconnect"},
        "The connection to the Things API broke before it answered",
        502,
    ),
}
# The sentence every banner once started with, whatever happened: no banner says it now.
GENERIC = "could not be reached or answered with an error"

type Page = Callable[[Dashboard, str, str], Any]

PAGES: dict[str, Page] = {
    "list": lambda dash, kind, downlink_id: dash.viewer.get(dash.url("list", kind)),
    "list fragment": lambda dash, kind, downlink_id: dash.viewer.get(
        dash.url("list", kind), headers={"HX-Request": "true"}
    ),
    "detail": lambda dash, kind, downlink_id: dash.viewer.get(
        dash.url("detail", kind, downlink_id)
    ),
    "detail fragment": lambda dash, kind, downlink_id: dash.viewer.get(
        dash.url("detail", kind, downlink_id), headers={"HX-Request": "true"}
    ),
    "raw": lambda dash, kind, downlink_id: dash.viewer.get(dash.url("raw", kind, downlink_id)),
    "clone": lambda dash, kind, downlink_id: dash.operator.get(
        f"{dash.url('send', kind)}?clone={downlink_id}"
    ),
    "cancel confirmation": lambda dash, kind, downlink_id: dash.operator.get(
        dash.url("cancel", kind, downlink_id)
    ),
    "cancel": lambda dash, kind, downlink_id: dash.operator.post(
        dash.url("cancel", kind, downlink_id)
    ),
}


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("fault", list(READ_FAULTS))
def test_a_read_that_fails_gives_a_banner_in_words(
    dash: Dashboard, quick_failures: None, kind: str, page: str, fault: str
) -> None:
    rule, words, status = READ_FAULTS[fault]
    created = dash.api_create(kind)
    dash.fault(**rule, method="GET", path=COLLECTIONS[kind])
    response = PAGES[page](dash, kind, created["id"])
    assert response.status_code == status
    (banner,) = banners(response)
    assert banner.startswith(words)
    assert GENERIC not in banner
    if fault == "429":
        assert "Try again in 7 seconds." in banner
    assert "Traceback" not in body_of(response)
    if "fragment" not in page:
        assert "<html" in body_of(response)  # the whole page, with its navigation
        assert "Ferry Operations" in body_of(response)
    assert dash.calls("DELETE") == 0  # a cancel that could not read the downlink sends nothing
    assert not AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).exists()


def test_reads_are_retried_before_a_banner_is_shown(dash: Dashboard, settings: Any) -> None:
    """With retries on (the default), one 503 or one 429 is not worth a banner."""
    settings.THINGS_RETRY_ATTEMPTS = 3
    created = dash.api_create("lora")
    dash.fault(kind="error", status=503, method="GET", path="/lora/downlinks", times=1)
    assert dash.viewer.get(dash.url("list", "lora")).status_code == 200
    dash.fault(kind="rate_limit", retryAfter=0, method="GET", path="/lora/downlinks", times=1)
    assert dash.viewer.get(dash.url("detail", "lora", created["id"])).status_code == 200
    assert dash.calls("GET", "/lora/downlinks") == 4  # each read tried twice


# --- Sending --------------------------------------------------------------------------------------

UNKNOWN_SEND_FAULTS: dict[str, tuple[dict[str, Any], str]] = {
    "timeout": (
        {"kind": "timeout", "delayMs": 3000},
        "The Things API did not answer within 1 second.",
    ),
    "500": ({"kind": "error", "status": 500}, "The Things API had an internal problem"),
    "garbage": ({"kind": "malformed"}, "could not be understood (the body is not JSON)"),
    "disconnect": ({"kind": "disconnect"}, "The connection to the Things API broke"),
}


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
@pytest.mark.parametrize("fault", list(UNKNOWN_SEND_FAULTS))
def test_a_create_without_a_usable_answer_is_outcome_unknown(
    dash: Dashboard, quick_failures: None, kind: str, fault: str
) -> None:
    rule, words = UNKNOWN_SEND_FAULTS[fault]
    dash.fault(**rule, method="POST", path=COLLECTIONS[kind])
    form = FORMS[kind](payload="c0ffee" if kind == "lora" else "open sesame")
    response = dash.operator.post(dash.url("send", kind), form)
    # Not the form again, ready to send: the record of this attempt, followed up.
    record = Downlink.objects.get(team=dash.team, kind=kind)
    assert response.status_code == 302
    assert response["Location"] == dash.attempt_url(kind, record.pk)
    page = dash.operator.get(response["Location"])
    assert page.status_code == 200
    words_on_page = page_text(page)
    assert words in words_on_page
    assert "It is not known whether this downlink was created." in words_on_page
    assert "The portal does not send it again by itself." in words_on_page
    assert 'class="send-form"' not in body_of(page)
    # Recorded and audited as unknown; sent exactly once.
    assert record.send_state == SendState.UNKNOWN
    assert record.remote_id is None
    attempt, outcome = AuditEntry.objects.filter(action=Action.DOWNLINK_SEND).order_by("sequence")
    assert (attempt.phase, attempt.outcome) == (Phase.ATTEMPT, Outcome.PENDING)
    assert (outcome.phase, outcome.outcome) == (Phase.OUTCOME, Outcome.UNKNOWN)
    assert outcome.attempt_sequence == attempt.sequence
    assert dash.calls_once_answered("POST", COLLECTIONS[kind]) == 1


def test_a_timed_out_create_is_never_sent_again(dash: Dashboard, quick_failures: None) -> None:
    dash.fault(kind="timeout", delayMs=3000, method="POST", path="/lora/downlinks", times=1)
    response = dash.operator.post(dash.url("send", "lora"), FORMS["lora"](payload="c0ffee"))
    assert response.status_code == 302
    # The simulator carried the create out although its answer was held back.
    listed = dash.viewer.get(dash.url("list", "lora"))
    assert listed.status_code == 200
    words = page_text(listed)
    assert (
        "Outcome unknown: 1 downlink sent from the portal got no answer from the API. They are "
        "not sent again automatically; the portal is looking for them."
    ) in words
    assert "3 bytes C0FFEE on fPort 1" in words
    # Neither pages nor a poll cycle send it again; the poll finds it and links it.
    dash.viewer.get(dash.url("list", "lora"))
    polling.poll_team(dash.team.pk)
    assert dash.calls_once_answered("POST", "/lora/downlinks") == 1
    record = Downlink.objects.get()
    assert record.send_state == SendState.SENT
    assert record.remote_id is not None
    assert "Outcome unknown" not in page_text(dash.viewer.get(dash.url("list", "lora")))


def test_a_rate_limited_create_is_not_sent_and_says_when_to_try_again(dash: Dashboard) -> None:
    """A 429 is the API's congestion, not the input's fault: nothing was created."""
    dash.fault(kind="rate_limit", retryAfter=30, method="POST", path="/mqtt/downlinks")
    response = dash.operator.post(dash.url("send", "mqtt"), FORMS["mqtt"]())
    assert response.status_code == 502
    (banner,) = banners(response)
    assert "too many requests" in banner
    assert "Try again in 30 seconds." in banner
    assert "Nothing was sent." in banner
    assert banner.lower().count("too many requests") == 1
    assert dash.calls("POST", "/mqtt/downlinks") == 1  # a create is never repeated
    assert Downlink.objects.get().send_state == SendState.FAILED


# The attempt entry is committed before the API is called, so that a crash during the call
# still leaves it. Proved from inside the simulator while it holds the create: it reads the
# portal's database over a connection of its own, which sees only committed rows.


@pytest.fixture
def probing_simulator(tmp_path: Path) -> Iterator[tuple[RunningSimulator, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    def look_at_the_portal(seconds: float) -> None:
        try:
            attempts = AuditEntry.objects.filter(action=Action.DOWNLINK_SEND)
            seen.append(
                {
                    "attempts": list(attempts.values_list("phase", "outcome")),
                    "records": list(Downlink.objects.values_list("send_state", flat=True)),
                }
            )
        finally:
            connections.close_all()  # this thread's connections only

    app = create_app(
        SimulatorSettings(database=str(tmp_path / "probing.sqlite3")),
        clock=ManualClock(),
        sleep=look_at_the_portal,
    )
    running = start_in_thread(app)
    yield running, seen
    running.stop()
    app.store.close()


@pytest.mark.django_db(transaction=True)
def test_the_attempt_is_committed_before_the_call_even_when_it_then_fails(
    probing_simulator: tuple[RunningSimulator, list[dict[str, Any]]],
) -> None:
    simulator, seen = probing_simulator
    dash = make_dashboard(simulator)
    # A latency of 1 ms makes the simulator "sleep" (look) before it answers 400.
    dash.fault(kind="latency", delayMs=1, method="POST", path="/lora/downlinks")
    dash.fault(kind="error", status=400, method="POST", path="/lora/downlinks")
    response = dash.operator.post(dash.url("send", "lora"), FORMS["lora"]())
    assert response.status_code == 400
    assert seen == [{"attempts": [("attempt", "pending")], "records": ["sending"]}]
    outcomes = AuditEntry.objects.filter(action=Action.DOWNLINK_SEND, phase=Phase.OUTCOME)
    assert [entry.outcome for entry in outcomes] == [Outcome.REFUSED]


# --- Cancelling -----------------------------------------------------------------------------------

CANCEL_FAULTS: dict[str, tuple[dict[str, Any], int, str, Outcome]] = {
    "timeout": (
        {"kind": "timeout", "delayMs": 3000},
        504,
        "The cancellation may or may not have been accepted",
        Outcome.UNKNOWN,
    ),
    "500": (
        {"kind": "error", "status": 500},
        502,
        "The cancellation may or may not have been accepted",
        Outcome.UNKNOWN,
    ),
    "disconnect": (
        {"kind": "disconnect"},
        502,
        "The cancellation may or may not have been accepted",
        Outcome.UNKNOWN,
    ),
    "429": (
        {"kind": "rate_limit", "retryAfter": 3},
        502,
        "Try again in 3 seconds. The cancellation was not sent.",
        Outcome.FAILED,
    ),
}


@pytest.mark.parametrize("fault", list(CANCEL_FAULTS))
def test_a_cancel_that_fails_upstream_is_not_called_a_refusal(
    dash: Dashboard, quick_failures: None, fault: str
) -> None:
    rule, status, words, outcome = CANCEL_FAULTS[fault]
    created = dash.api_create("lora")
    dash.fault(**rule, method="DELETE", path="/lora/downlinks")
    response = dash.operator.post(dash.url("cancel", "lora", created["id"]))
    assert dash.calls_once_answered("DELETE", "/lora/downlinks") == 1  # never repeated
    entries = AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).order_by("sequence")
    assert [(entry.phase, entry.outcome) for entry in entries] == [
        (Phase.ATTEMPT, Outcome.PENDING),
        (Phase.OUTCOME, outcome),
    ]
    if outcome == Outcome.UNKNOWN:
        # It may have been accepted: the downlink's page says it is being checked, and does
        # not offer Cancel again until the poller has seen whether it took effect.
        assert response.status_code == 302
        assert response["Location"] == dash.url("detail", "lora", created["id"])
        detail = dash.operator.get(response["Location"])
        assert words in page_text(detail)
        assert "outcome unknown: the portal checks whether it took effect" in page_text(detail)
        assert dash.url("cancel", "lora", created["id"]) not in body_of(detail)
        return
    assert response.status_code == status
    (banner,) = banners(response)
    assert words in banner
    assert "Not cancelled" not in banner
    assert 'name="forced"' in body_of(response)  # nothing was sent: it can be tried again


# --- The team's credential ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["list", "detail", "raw", "clone", "cancel confirmation"])
def test_a_team_without_a_credential_is_told_so(dash: Dashboard, page: str) -> None:
    created = dash.api_create("lora")
    ThingsCredential.objects.filter(team=dash.team).delete()
    response = PAGES[page](dash, "lora", created["id"])
    assert response.status_code == 503
    admins = ", ".join(dash.team.admin_usernames())
    assert banners(response) == [
        f"Ferry Operations has no Things API credential yet. Ask a team admin to enter one: "
        f"{admins}."
    ]


def test_a_send_without_a_credential_sends_nothing(dash: Dashboard) -> None:
    ThingsCredential.objects.filter(team=dash.team).delete()
    response = dash.operator.post(dash.url("send", "lora"), FORMS["lora"]())
    assert response.status_code == 502
    (banner,) = banners(response)
    assert "has no Things API credential yet" in banner
    assert "Nothing was sent." in banner
    assert dash.calls() == 0
    assert Downlink.objects.get().send_state == SendState.FAILED


def test_a_refused_credential_is_explained_with_who_can_fix_it(dash: Dashboard) -> None:
    dash.simulator.store.revoke_client("ferry-portal")
    admins = ", ".join(dash.team.admin_usernames())
    assert admins
    for response in (
        dash.viewer.get(dash.url("list", "mqtt")),
        dash.operator.post(dash.url("send", "mqtt"), FORMS["mqtt"]()),
    ):
        assert response.status_code == 502
        (banner,) = banners(response)
        assert "Could not get an access token from KPN's identity service" in banner
        assert "invalid_client" in banner
        assert f"Ask a team admin to check it: {admins}." in banner
        assert "ferry-client-secret" not in body_of(response)
    (banner,) = banners(dash.admin.get(dash.url("list", "mqtt")))
    assert "You are an admin of this team: check it on its Credential page." in banner
    assert dash.writes() == 0


def test_a_credential_without_the_delete_scope_cannot_cancel(dash: Dashboard) -> None:
    dash.simulator.store.register_client(TENANT, CLIENT_ID, CLIENT_SECRET, ("downlink.read",))
    created = dash.api_create("lora")
    response = dash.operator.post(dash.url("cancel", "lora", created["id"]))
    assert response.status_code == 502
    (banner,) = banners(response)
    assert "The team's credential is not allowed to do this" in banner
    assert "The cancellation was not sent." in banner


def test_an_undecryptable_credential_is_explained(dash: Dashboard, settings: Any) -> None:
    settings.FIELD_ENCRYPTION_KEYS = [crypto.new_key()]
    response = dash.viewer.get(dash.url("list", "lora"))
    assert response.status_code == 503
    (banner,) = banners(response)
    assert "cannot be decrypted with the portal's current keys" in banner
    assert "FIELD_ENCRYPTION_KEYS" in banner
    assert dash.calls() == 0
