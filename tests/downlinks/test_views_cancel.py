"""Cancelling a downlink from the portal: a confirmation in words, 202 shown as "Cancellation
pending" on the list and the detail page until the platform reports it DONE, refusals (409)
explained in words, forced cancels of executing downlinks, the audit pair of every attempt,
and viewers refused without an API call."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from audit.models import Action, AuditEntry, Outcome, Phase
from downlinks import polling
from downlinks.models import CancelState, Downlink, Origin, SendState
from tests.downlinks.conftest import (
    COLLECTIONS,
    FORMS,
    TENANT,
    Dashboard,
    banners,
    downlink_id_of,
    lora_body,
    page_text,
)
from tests.teams.capture import body_of


def deletes(dash: Dashboard, kind: str) -> list[bool]:
    """Whether each cancel the simulator received for `kind` was forced (absent: not)."""
    return [
        parse_qs(entry.query).get("forced", ["false"]) == ["true"]
        for entry in dash.simulator.app.request_log.entries()
        if entry.method == "DELETE" and entry.path.startswith(COLLECTIONS[kind] + "/")
    ]


def cancel(dash: Dashboard, kind: str, downlink_id: object, *, forced: bool = False) -> Any:
    data = {"forced": "on"} if forced else {}
    return dash.operator.post(dash.url("cancel", kind, downlink_id), data)


def list_row(dash: Dashboard, kind: str, downlink_id: object) -> str:
    page = body_of(dash.viewer.get(dash.url("list", kind)))
    return page.split(f'id="row-{downlink_id}"')[1].split("</tr>")[0]


# --- Confirmation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "label"), [("lora", "LoRa"), ("mqtt", "MQTT")])
def test_the_confirmation_says_what_will_happen(dash: Dashboard, kind: str, label: str) -> None:
    created = dash.api_create(kind)
    response = dash.operator.get(dash.url("cancel", kind, created["id"]))
    assert response.status_code == 200
    words = page_text(response)
    assert f"Cancel this {label} downlink?" in words
    assert f"To device {created['deviceId']}" in words
    assert "it is now Pending" in words
    assert "If it has not started yet, it ends as DONE, cancelled shortly after" in words
    assert "Force the cancellation" in words
    assert "A forced cancel aborts it even then; the device may already have received it." in words
    assert 'name="forced"' in body_of(response)
    assert dash.calls("DELETE") == 0  # asking is not cancelling


def test_the_confirmation_of_a_finished_downlink_offers_nothing(dash: Dashboard) -> None:
    created = dash.api_create("lora")
    dash.advance(16)
    response = dash.operator.get(dash.url("cancel", "lora", created["id"]))
    assert response.status_code == 200
    assert "It has already finished, so there is nothing to cancel." in page_text(response)
    assert '<form method="post" action="/t/ferry/lora/' not in body_of(response)


# --- Accepted (202) -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_an_accepted_cancel_is_pending_until_the_platform_is_done(
    dash: Dashboard, kind: str
) -> None:
    created = dash.api_create(kind)
    response = cancel(dash, kind, created["id"])
    assert response.status_code == 302
    assert response["Location"] == dash.url("detail", kind, created["id"])
    assert deletes(dash, kind) == [False]
    detail = page_text(dash.operator.get(response["Location"]))
    assert "Cancellation requested. The Things API accepted it" in detail
    assert "waiting for the platform." in detail
    assert "Cancel…" not in detail  # not offered twice
    row = list_row(dash, kind, created["id"])
    assert "Cancellation pending" in row
    assert "cancel-link" not in row
    dash.advance(2)  # the simulator processes a cancel 2 s after accepting it
    detail = page_text(dash.viewer.get(dash.url("detail", kind, created["id"])))
    assert "Cancelled" in detail
    assert "Cancelled before delivery started: nothing was sent to the device." in detail
    assert "waiting for the platform" not in detail
    row = list_row(dash, kind, created["id"])
    assert "Cancellation pending" not in row
    assert "Cancelled" in row


def test_a_cancel_leaves_a_record_for_a_downlink_sent_elsewhere(dash: Dashboard) -> None:
    created = dash.api_create("lora")
    assert cancel(dash, "lora", created["id"]).status_code == 302
    record = Downlink.objects.get(remote_id=created["id"])
    assert record.team == dash.team
    assert record.kind == "lora"
    assert record.origin == Origin.CANCELLED_HERE
    assert record.device_id == created["deviceId"]
    assert record.send_state == SendState.SENT
    assert record.cancel_requested_at is not None
    assert record.cancel_forced is False
    assert record.status == "PENDING"


def test_a_cancel_of_a_downlink_sent_here_updates_its_record(dash: Dashboard) -> None:
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "mqtt"), FORMS["mqtt"]()))
    assert cancel(dash, "mqtt", downlink_id).status_code == 302
    (record,) = Downlink.objects.all()
    assert record.remote_id == downlink_id
    assert record.origin == Origin.SENT_HERE
    assert record.cancel_requested_at is not None


# --- Refused (409) --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
@pytest.mark.parametrize("forced", [False, True])
def test_a_finished_downlink_cannot_be_cancelled(dash: Dashboard, kind: str, forced: bool) -> None:
    created = dash.api_create(kind)
    dash.advance(16)
    response = cancel(dash, kind, created["id"], forced=forced)
    assert response.status_code == 409
    (refusal,) = banners(response)
    assert refusal.startswith(
        "Not cancelled. This downlink cannot be cancelled: it has already finished (it was "
        "delivered successfully)."
    )
    assert "The Things API said: Cancellation not permitted" in refusal
    assert deletes(dash, kind) == [forced]
    assert not Downlink.objects.exists()
    outcome = AuditEntry.objects.get(action=Action.DOWNLINK_CANCEL, phase=Phase.OUTCOME)
    assert outcome.outcome == Outcome.REFUSED
    assert outcome.answered["status"] == 409


def test_a_failed_or_cancelled_downlink_says_how_it_ended(dash: Dashboard) -> None:
    failed = dash.api_create(
        "lora", lora_body(message={"payloadHex": b"sim:EVICTED".hex(), "fPort": 1})
    )
    cancelled = dash.api_create("lora")
    assert cancel(dash, "lora", cancelled["id"]).status_code == 302
    dash.advance(16)
    assert "it failed with EVICTED" in banners(cancel(dash, "lora", failed["id"]))[0]
    assert "it was cancelled already" in banners(cancel(dash, "lora", cancelled["id"]))[0]


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_an_executing_downlink_needs_a_forced_cancel(dash: Dashboard, kind: str) -> None:
    created = dash.api_create(kind)
    dash.advance(6)  # EXECUTING
    refused = cancel(dash, kind, created["id"])
    assert refused.status_code == 409
    (refusal,) = banners(refused)
    assert (
        "This downlink is already being delivered, so a normal cancel is refused. A forced "
        "cancel aborts it anyway (the device may have received it already)."
    ) in refusal
    assert 'name="forced"' in body_of(refused)  # offered again, to force it this time
    forced = cancel(dash, kind, created["id"], forced=True)
    assert forced.status_code == 302
    assert deletes(dash, kind) == [False, True]
    record = Downlink.objects.get(remote_id=created["id"])
    assert record.cancel_forced is True
    detail = page_text(dash.viewer.get(dash.url("detail", kind, created["id"])))
    assert "(forced); waiting for the platform." in detail
    dash.advance(2)
    assert dash.api_get(kind, created["id"])["lastFailureReason"] == "CANCELLED"
    # What the page says of the end matches the warning given before.
    detail = page_text(dash.viewer.get(dash.url("detail", kind, created["id"])))
    assert "the device may already have received it" in detail
    assert "nothing was sent to the device" not in detail
    assert "before it was delivered" not in detail


def test_a_cancel_from_another_tool_is_told_as_what_the_portal_cannot_know(
    dash: Dashboard,
) -> None:
    created = dash.api_create("lora")
    token = dash.simulator.token(TENANT)
    httpx.delete(
        f"{dash.simulator.url}/lora/downlinks/{created['id']}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).raise_for_status()
    dash.advance(2)
    detail = page_text(dash.viewer.get(dash.url("detail", "lora", created["id"])))
    assert "Cancelled, not from the portal: if it was already being delivered" in detail


# --- Audit ----------------------------------------------------------------------------------------


def test_each_cancel_is_audited_as_an_attempt_then_its_outcome(dash: Dashboard) -> None:
    created = dash.api_create("mqtt")
    dash.advance(6)
    cancel(dash, "mqtt", created["id"])
    cancel(dash, "mqtt", created["id"], forced=True)
    entries = list(AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).order_by("sequence"))
    assert [(entry.phase, entry.outcome) for entry in entries] == [
        (Phase.ATTEMPT, Outcome.PENDING),
        (Phase.OUTCOME, Outcome.REFUSED),
        (Phase.ATTEMPT, Outcome.PENDING),
        (Phase.OUTCOME, Outcome.OK),
    ]
    assert entries[1].attempt_sequence == entries[0].sequence
    assert entries[3].attempt_sequence == entries[2].sequence
    assert entries[0].asked == {"forced": False, "statusBefore": "EXECUTING"}
    assert entries[2].asked == {"forced": True, "statusBefore": "EXECUTING"}
    assert entries[3].answered == {"status": 202}
    assert {entry.target_id for entry in entries} == {created["id"]}
    assert {entry.actor_label for entry in entries} == {"ferry-operator"}
    assert {entry.team_id for entry in entries} == {dash.team.pk}
    assert entries[0].summary == "Cancel MQTT downlink"
    assert entries[2].summary == "Cancel (forced) MQTT downlink"


# --- Who may cancel -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_viewer_cannot_cancel(dash: Dashboard, kind: str) -> None:
    created = dash.api_create(kind)
    calls = dash.calls()
    for forced in ({}, {"forced": "on"}):
        response = dash.viewer.post(dash.url("cancel", kind, created["id"]), forced)
        assert response.status_code == 403
        assert "Not allowed" in body_of(response)
    assert dash.viewer.get(dash.url("cancel", kind, created["id"])).status_code == 403
    assert dash.calls() == calls
    assert dash.api_get(kind, created["id"])["status"] == "PENDING"
    assert not AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).exists()
    assert "Cancellation pending" not in list_row(dash, kind, created["id"])


def test_the_list_offers_cancel_only_to_operators_and_only_while_running(
    dash: Dashboard,
) -> None:
    running = dash.api_create("lora")
    link = f'href="{dash.url("cancel", "lora", running["id"])}"'
    assert link in body_of(dash.operator.get(dash.url("list", "lora")))
    assert link not in body_of(dash.viewer.get(dash.url("list", "lora")))
    dash.advance(16)
    assert link not in body_of(dash.operator.get(dash.url("list", "lora")))


# --- A cancel whose outcome is unknown --------------------------------------------------------


def cancel_outcomes(dash: Dashboard) -> list[tuple[str, str, str]]:
    entries = AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).order_by("sequence")
    return [(entry.phase, entry.outcome, entry.actor_label) for entry in entries]


def test_a_cancel_answered_200_with_a_broken_body_is_outcome_unknown_until_the_poller_looks(
    dash: Dashboard, settings: Any
) -> None:
    settings.CANCEL_SETTLE_SECONDS = 0
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "lora"), FORMS["lora"]()))
    dash.fault(kind="malformed", method="DELETE", path="/lora/downlinks", times=1)

    response = cancel(dash, "lora", downlink_id)

    # Not "accepted": the spec's only success is 202, and this body says nothing usable.
    detail_url = dash.url("detail", "lora", downlink_id)
    assert (response.status_code, response["Location"]) == (302, detail_url)
    record = Downlink.objects.get(remote_id=downlink_id)
    assert record.cancel_state == CancelState.UNKNOWN
    assert cancel_outcomes(dash) == [
        (Phase.ATTEMPT, Outcome.PENDING, "ferry-operator"),
        (Phase.OUTCOME, Outcome.UNKNOWN, "ferry-operator"),
    ]
    detail = dash.operator.get(detail_url)
    words = page_text(detail)
    assert "HTTP 200 instead of 202 Accepted" in words  # the message after the redirect
    assert "outcome unknown: the portal checks whether it took effect" in words
    assert dash.url("cancel", "lora", downlink_id) not in body_of(detail)
    assert dash.api_get("lora", downlink_id)["status"] == "PENDING"  # nothing was cancelled

    # The poller sees it still running: the cancellation did not take effect, and says so.
    polling.poll_team(dash.team.pk)
    record.refresh_from_db()
    assert record.cancel_state == CancelState.NOT_TAKEN
    assert cancel_outcomes(dash)[-1] == (Phase.OUTCOME, Outcome.FAILED, "poller")
    detail = dash.operator.get(detail_url)
    assert "did not take effect: the platform still shows it PENDING" in page_text(detail)
    assert dash.url("cancel", "lora", downlink_id) in body_of(detail)  # offered again

    # And a second cancel, answered 202, is accepted as usual.
    assert cancel(dash, "lora", downlink_id).status_code == 302
    record.refresh_from_db()
    assert record.cancel_state == CancelState.ACCEPTED
    assert deletes(dash, "lora") == [False, False]


def test_a_cancel_whose_answer_was_lost_but_took_effect_is_settled_by_the_poller(
    dash: Dashboard, settings: Any, quick_failures: None
) -> None:
    settings.CANCEL_SETTLE_SECONDS = 0
    downlink_id = downlink_id_of(dash.operator.post(dash.url("send", "lora"), FORMS["lora"]()))
    dash.fault(kind="timeout", delayMs=3000, method="DELETE", path="/lora/downlinks", times=1)
    assert cancel(dash, "lora", downlink_id).status_code == 302
    dash.calls_once_answered("DELETE", "/lora/downlinks")  # the held answer has gone out
    dash.advance(5)  # the simulator carries the cancellation out
    polling.poll_team(dash.team.pk)
    record = Downlink.objects.get(remote_id=downlink_id)
    assert (record.status, record.last_failure_reason) == ("DONE", "CANCELLED")
    assert record.cancel_state == CancelState.ACCEPTED
    last = AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).order_by("sequence").last()
    assert last is not None
    assert (last.outcome, last.summary) == (
        Outcome.OK,
        "The cancellation took effect: the downlink ended as CANCELLED",
    )
