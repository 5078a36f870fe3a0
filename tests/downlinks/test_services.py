"""The dashboard's service and selector functions, called directly (the views' tests reach
them through HTTP): summaries, what the audit trail keeps, recording observations once,
explaining conflicts, and the sync overview."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from audit.models import Action, AuditEntry
from audit.trail import Origin
from devices.models import Kind
from downlinks import selectors, services
from downlinks.models import CancelState, Downlink, SendState, StatusEvent
from teams.models import ThingsCredential
from tests.downlinks.conftest import Dashboard, mqtt_body
from things_api import (
    LoraDownlink,
    MqttDownlink,
    NewLoraDownlink,
    Problem,
    ThingsConflict,
)

ORIGIN = Origin(None, "tests")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def lora(**changes: Any) -> LoraDownlink:
    raw: dict[str, Any] = {
        "id": str(uuid4()),
        "status": "PENDING",
        "deviceId": "imei:350266800610993",
        "createdAt": "2026-03-01T12:00:00.000Z",
        "modifiedAt": "2026-03-01T12:00:00.000Z",
        "feedbackTimeout": "PT1H",
        "message": {"payloadHex": "0102", "fPort": 1},
        "retryLimit": 0,
        "retryCount": 0,
    }
    raw.update(changes)
    return LoraDownlink.model_validate(raw)


def conflict(detail: str = "The downlink is already done.") -> ThingsConflict:
    problem = Problem(title="Cancellation not permitted", status=409, detail=detail)
    return ThingsConflict(
        status_code=409, problem=problem, retry_after=None, method="DELETE", path="/x"
    )


# --- Summaries and the audit trail's copy ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "wire", "summary"),
    [
        ("lora", {"message": {"payloadHex": "0102", "fPort": 5}}, "2 bytes 0102 on fPort 5"),
        ("lora", {"message": {"payloadHex": "ab", "fPort": 1}}, "1 byte AB on fPort 1"),
        (
            "lora",
            {"message": {"payloadHex": "ab" * 20, "fPort": 1}},
            f"20 bytes {'AB' * 16}… on fPort 1",
        ),
        (
            "mqtt",
            {"message": {"type": "text", "payload": "hello", "topic": "t/1"}},
            "text “hello” to t/1",
        ),
        (
            "mqtt",
            {"message": {"type": "text", "payload": "x" * 50, "topic": "t"}},
            f"text “{'x' * 40}…” to t",
        ),
        (
            "mqtt",
            {"message": {"type": "binary", "payload": "AQID", "topic": "b"}},
            "binary (4 base64 characters) to b",
        ),
    ],
)
def test_payload_summaries(kind: str, wire: dict[str, Any], summary: str) -> None:
    assert services.payload_summary(kind, wire) == summary


def test_the_audit_trail_keeps_a_preview_of_the_payload_only() -> None:
    wire: dict[str, Any] = {
        "deviceId": "imei:350266800610993",
        "message": {"payloadHex": "ab" * 40, "fPort": 3},
    }
    asked = services.audit_asked("lora", wire)
    assert asked == {
        "deviceId": "imei:350266800610993",
        "message": {"fPort": 3, "payloadHexLength": 80, "payloadHexPreview": "ab" * 16},
    }
    assert wire["message"]["payloadHex"] == "ab" * 40  # the body sent is not changed


# --- Conflicts in words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("downlink", "forced", "words"),
    [
        (
            lora(status="DONE"),
            False,
            "it has already finished (it was delivered successfully)",
        ),
        (
            lora(status="DONE", lastFailureReason="CANCELLED"),
            True,
            "it has already finished (it was cancelled already)",
        ),
        (
            lora(status="DONE", lastFailureReason="EVICTED"),
            False,
            "it has already finished (it failed with EVICTED)",
        ),
        (
            lora(status="EXECUTING"),
            False,
            "already being delivered, so a normal cancel is refused. A forced cancel aborts it",
        ),
        (
            lora(status="EXECUTING"),
            True,
            "The Things API refused to cancel this downlink in its current state.",
        ),
        (None, False, "The Things API refused to cancel this downlink in its current state."),
    ],
)
def test_conflicts_are_explained_from_the_downlinks_state(
    downlink: LoraDownlink | None, forced: bool, words: str
) -> None:
    message = services.explain_conflict(conflict(), downlink, forced=forced)
    assert words in message
    assert message.endswith(
        "(The Things API said: Cancellation not permitted: The downlink is already done.)"
    )


# --- Observations ---------------------------------------------------------------------------------


@pytest.fixture
def record(dash: Dashboard) -> Downlink:
    return Downlink.objects.create(
        team=dash.team,
        kind=Kind.LORA,
        device_id="imei:350266800610993",
        send_state=SendState.SENT,
        remote_id=uuid4(),
    )


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_each_change_is_recorded_once(record: Downlink) -> None:
    pending = lora(id=str(record.remote_id), modifiedAt=at(0))
    executing = lora(id=str(record.remote_id), status="EXECUTING", modifiedAt=at(5))
    assert services.record_observation(record, pending, source="list") is True
    assert services.record_observation(record, pending, source="poller") is False
    assert services.record_observation(record, executing, source="detail") is True
    # An older answer arriving late does not take the record back.
    assert services.record_observation(record, pending, source="list") is False
    record.refresh_from_db()
    assert record.status == "EXECUTING"
    assert record.remote_modified_at == T0 + timedelta(seconds=5)
    assert record.last_seen_at is not None
    assert list(StatusEvent.objects.values_list("status", "source")) == [
        ("PENDING", "list"),
        ("EXECUTING", "detail"),
    ]


def test_a_change_of_retry_count_or_reason_is_a_change(record: Downlink) -> None:
    base = {"id": str(record.remote_id), "status": "EXECUTING"}
    services.record_observation(record, lora(**base, modifiedAt=at(0)), source="poller")
    assert services.record_observation(
        record, lora(**base, retryCount=1, modifiedAt=at(5)), source="poller"
    )
    assert services.record_observation(
        record,
        lora(
            id=str(record.remote_id),
            status="DONE",
            retryCount=1,
            lastFailureReason="NOT_ACKNOWLEDGED_BY_DEVICE",
            modifiedAt=at(10),
        ),
        source="poller",
    )
    assert list(
        StatusEvent.objects.values_list("status", "retry_count", "last_failure_reason")
    ) == [
        ("EXECUTING", 0, ""),
        ("EXECUTING", 1, ""),
        ("DONE", 1, "NOT_ACKNOWLEDGED_BY_DEVICE"),
    ]


def test_pages_record_only_downlinks_the_portal_follows(dash: Dashboard, record: Downlink) -> None:
    followed = lora(id=str(record.remote_id), status="EXECUTING", modifiedAt=at(5))
    stranger = lora(status="EXECUTING", modifiedAt=at(5))
    mqtt_twin = MqttDownlink.model_validate(
        {**followed.raw, "message": {"type": "text", "payload": "x", "topic": "t"}}
    )
    changed = services.downlinks_observe(
        team=dash.team, kind="lora", downlinks=[followed, stranger], source="list"
    )
    assert changed == 1
    assert (
        services.downlinks_observe(
            team=dash.team, kind="mqtt", downlinks=[mqtt_twin], source="list"
        )
        == 0
    )
    assert (
        services.downlinks_observe(team=dash.team, kind="lora", downlinks=[followed], source="list")
        == 0
    )
    assert Downlink.objects.count() == 1
    assert StatusEvent.objects.count() == 1


# --- Sending and cancelling, called directly ------------------------------------------------------


def send_lora(dash: Dashboard) -> services.SendResult:
    """A LoRa downlink sent through the service for the team (origin "tests", no user)."""
    new = NewLoraDownlink.model_validate(
        {
            "device_id": "imei:350266800610993",
            "message": {"payload_hex": "0102", "f_port": 1},
            "feedback_timeout": "PT1H",
        }
    )
    return services.downlink_send(
        submission_key=services.new_submission_key(),
        team=dash.team,
        kind="lora",
        new=new,
        origin=ORIGIN,
        user=None,
    )


def test_a_send_returns_the_created_downlink(dash: Dashboard) -> None:
    result = send_lora(dash)
    assert result.outcome == "ok"
    assert result.downlink is not None
    assert result.record is not None
    assert result.record.remote_id == result.downlink.id
    assert result.record.sent_by is None
    assert result.record.sent_by_label == "tests"
    assert dash.api_get("lora", result.downlink.id)["message"]["payloadHex"] == "0102"


def test_a_send_without_a_credential_fails_before_any_call(dash: Dashboard) -> None:
    ThingsCredential.objects.filter(team=dash.team).delete()
    dash.team.refresh_from_db()  # as a request loads it: without the credential it held
    result = send_lora(dash)
    assert result.outcome == "failed"
    assert result.record is not None
    assert result.record.send_state == SendState.FAILED
    assert result.message.endswith("Nothing was sent.")
    assert dash.calls() == 0


def test_a_cancel_of_an_unknown_downlink_audits_nothing(dash: Dashboard) -> None:
    # A cancel starts from the downlink as read; an unknown one never reaches the service.
    response = dash.operator.post(dash.url("cancel", "lora", uuid4()), {})
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action=Action.DOWNLINK_CANCEL).exists()
    assert dash.calls("DELETE") == 0


def test_a_refused_cancel_says_so_and_keeps_the_conflict(dash: Dashboard) -> None:
    created = dash.api_create("mqtt", mqtt_body())
    dash.advance(16)
    before = selectors.downlink_fetch(team=dash.team, kind="mqtt", downlink_id=created["id"])
    result = services.downlink_cancel(
        team=dash.team, kind="mqtt", before=before, forced=True, origin=ORIGIN
    )
    assert result.accepted is False
    assert result.outcome == "refused"
    assert isinstance(result.error, ThingsConflict)
    assert "it has already finished" in result.message


# --- Selectors ------------------------------------------------------------------------------------


def test_the_cursor_is_taken_from_the_apis_link() -> None:
    assert selectors.cursor_of("https://api.example/lora/downlinks?cursor=abc%3D&x=1") == "abc="
    assert selectors.cursor_of("https://api.example/lora/downlinks?x=1") is None
    assert selectors.cursor_of(None) is None
    assert selectors.cursor_of("") is None


def test_cancel_pending_only_while_the_downlink_runs(record: Downlink) -> None:
    running = lora(id=str(record.remote_id), status="EXECUTING")
    done = lora(id=str(record.remote_id), status="DONE", lastFailureReason="CANCELLED")
    assert selectors.DownlinkRow(running, record).cancel_pending is False
    record.cancel_requested_at = T0
    for state in (CancelState.ACCEPTED, CancelState.UNKNOWN):
        record.cancel_state = state
        assert selectors.DownlinkRow(running, record).cancel_pending is True
        assert selectors.DownlinkRow(done, record).cancel_pending is False
    # Seen by the poller not to have taken effect: Cancel is offered again.
    record.cancel_state = CancelState.NOT_TAKEN
    assert selectors.DownlinkRow(running, record).cancel_pending is False
    assert selectors.DownlinkRow(running, None).cancel_pending is False


def test_the_sync_overview_counts_what_is_followed(dash: Dashboard) -> None:
    for state, status in (
        (SendState.SENT, "PENDING"),
        (SendState.SENT, "EXECUTING"),
        (SendState.SENT, "DONE"),
        (SendState.UNKNOWN, ""),
    ):
        Downlink.objects.create(
            team=dash.team,
            kind=Kind.MQTT,
            device_id="imei:350266800610993",
            send_state=state,
            status=status,
            remote_id=uuid4() if state == SendState.SENT else None,
        )
    overview = {row.kind: row for row in selectors.sync_overview(team=dash.team)}
    assert (overview["mqtt"].following, overview["mqtt"].unknown_outcomes) == (2, 1)
    assert (overview["lora"].following, overview["lora"].unknown_outcomes) == (0, 0)
    assert overview["lora"].lag_seconds is None
