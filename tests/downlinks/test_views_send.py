"""The send forms (LoRa and MQTT) against the live simulator: what is entered is converted and
sent as the specs say, every invalid input is refused on its field without an API call, the
API's refusals are shown in words with the input kept, clone pre-fills the form, and each
send leaves the portal's own record and an audit attempt/outcome pair."""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import pytest

from audit.models import Action, AuditEntry, Outcome, Phase
from downlinks.forms.send import SEND_EMPTY_LABEL
from downlinks.models import Downlink, SendState
from tests.downlinks.conftest import (
    COLLECTIONS,
    FORMS,
    LORA_DEVICE,
    MQTT_DEVICE,
    Dashboard,
    banners,
    checked_radio,
    downlink_id_of,
    field_errors,
    form_values,
    input_value,
    is_checked,
    lora_body,
    lora_form,
    mqtt_body,
    mqtt_form,
    page_text,
    selected_option,
)
from tests.teams.capture import body_of


def send(dash: Dashboard, kind: str, **changes: str) -> Any:
    return dash.operator.post(dash.url("send", kind), FORMS[kind](**changes))


def sent(dash: Dashboard, kind: str, **changes: str) -> dict[str, Any]:
    """Send through the portal, and return the downlink as the API now has it."""
    response = send(dash, kind, **changes)
    assert response.status_code == 302, field_errors(response) or banners(response)
    return dash.api_get(kind, downlink_id_of(response))


# --- What is sent ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload_format", "payload", "payload_hex"),
    [
        ("hex", "0102", "0102"),
        ("hex", "DE AD:be\nEF", "deadbeef"),  # separators are dropped, case does not matter
        ("hex", "0x0A0b", "0a0b"),
        ("base64", "AQID", "010203"),
        ("base64", "SGVs bG8=", "48656c6c6f"),
        ("text", "hé!", "68c3a921"),  # UTF-8: é is two bytes
    ],
)
def test_lora_payloads_are_converted_to_hex(
    dash: Dashboard, payload_format: str, payload: str, payload_hex: str
) -> None:
    downlink = sent(dash, "lora", payload_format=payload_format, payload=payload)
    assert downlink["message"]["payloadHex"] == payload_hex
    preview = dash.operator.post(
        dash.url("send_preview", "lora"),
        lora_form(payload_format=payload_format, payload=payload),
    )
    size = len(payload_hex) // 2
    assert f"Payload: {size} bytes" in page_text(preview)
    assert f"sent as payloadHex {payload_hex.upper()}" in page_text(preview)


@pytest.mark.parametrize("f_port", ["1", "223", "42"])
def test_lora_fport_and_retry_limit_are_sent(dash: Dashboard, f_port: str) -> None:
    downlink = sent(dash, "lora", f_port=f_port, retry_limit="4")
    assert downlink["message"]["fPort"] == int(f_port)
    assert downlink["retryLimit"] == 4


def test_mqtt_text_is_sent_as_text(dash: Dashboard) -> None:
    downlink = sent(
        dash,
        "mqtt",
        payload="open the valve ✓",
        topic="cmd/valve",
        content_type="text/plain",
        qos="AT_MOST_ONCE",
    )
    assert downlink["message"] == {
        "type": "text",
        "payload": "open the valve ✓",
        "topic": "cmd/valve",
        "contentType": "text/plain",
        "qos": "AT_MOST_ONCE",
    }


def test_mqtt_without_qos_or_content_type_leaves_them_to_the_platform(dash: Dashboard) -> None:
    downlink = sent(dash, "mqtt", content_type="", qos="")
    assert "contentType" not in downlink["message"]
    assert downlink["message"]["qos"] == "AT_MOST_ONCE"  # the simulator's (the spec's) default
    (create,) = Downlink.objects.filter(team=dash.team, kind="mqtt")
    assert "qos" not in create.request_body["message"]
    assert "contentType" not in create.request_body["message"]


@pytest.mark.parametrize(
    ("payload_format", "payload", "as_base64"),
    [
        ("base64", "AQID", "AQID"),
        ("base64", "SGVs\nbG8=", "SGVsbG8="),
        ("hex", "01 02 03", "AQID"),
        ("text", "Hello", "SGVsbG8="),
    ],
)
def test_mqtt_binary_payloads_are_converted_to_base64(
    dash: Dashboard, payload_format: str, payload: str, as_base64: str
) -> None:
    downlink = sent(
        dash,
        "mqtt",
        message_type="binary",
        payload_format=payload_format,
        payload=payload,
        content_type="application/octet-stream",
    )
    assert downlink["message"]["type"] == "binary"
    assert downlink["message"]["payload"] == as_base64
    assert downlink["message"]["contentType"] == "application/octet-stream"
    preview = dash.operator.post(
        dash.url("send_preview", "mqtt"),
        mqtt_form(message_type="binary", payload_format=payload_format, payload=payload),
    )
    size = len(base64.b64decode(as_base64))
    assert f"Payload: {size} bytes" in page_text(preview)


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
@pytest.mark.parametrize(
    ("days", "hours", "minutes", "iso"),
    [
        ("0", "0", "10", "PT10M"),
        ("0", "1", "0", "PT1H"),
        ("1", "2", "5", "P1DT2H5M"),
        ("2", "0", "0", "P2DT0H"),
        ("0", "23", "59", "PT23H59M"),
        ("0", "0", "90", "PT1H30M"),  # as a person may count it
        ("0", "36", "0", "P1DT12H"),
    ],
)
def test_the_feedback_timeout_is_shown_and_sent_as_iso(
    dash: Dashboard, kind: str, days: str, hours: str, minutes: str, iso: str
) -> None:
    timeout = {"timeout_days": days, "timeout_hours": hours, "timeout_minutes": minutes}
    preview = dash.operator.post(dash.url("send_preview", kind), FORMS[kind](**timeout))
    assert f"Feedback timeout sent as {iso}" in page_text(preview)
    assert sent(dash, kind, **timeout)["feedbackTimeout"] == iso


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_dry_run_is_sent_and_shown(dash: Dashboard, kind: str) -> None:
    response = send(dash, kind, dry_run="on")
    downlink_id = downlink_id_of(response)
    assert dash.api_get(kind, downlink_id)["dryRun"] is True
    detail = page_text(dash.viewer.get(dash.url("detail", kind, downlink_id)))
    assert "Dry run yes (not delivered to the device)" in detail
    assert sent(dash, kind)["dryRun"] is False


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_send_goes_to_the_detail_page_with_a_message(dash: Dashboard, kind: str) -> None:
    response = send(dash, kind)
    downlink_id = downlink_id_of(response)
    assert response["Location"] == dash.url("detail", kind, downlink_id)
    page = page_text(dash.operator.get(response["Location"]))
    assert "The downlink was sent." in page
    assert str(downlink_id) in page
    assert dash.calls("POST", COLLECTIONS[kind]) == 1


def test_the_preview_calls_nothing(dash: Dashboard) -> None:
    for kind in ("lora", "mqtt"):
        response = dash.operator.post(dash.url("send_preview", kind), FORMS[kind]())
        assert response.status_code == 200
        invalid = dash.operator.post(
            dash.url("send_preview", kind), FORMS[kind](device_id="nope", timeout_hours="0")
        )
        assert invalid.status_code == 200
        words = page_text(invalid)
        assert "Device id: “nope” is not a device id." in words
        assert "The feedback timeout must be at least 10 minutes; 0 minutes is too short." in words
    assert dash.calls() == 0
    assert not Downlink.objects.exists()


# --- Invalid input: a field error in words, and no API call ----------------------------------

BROKEN_DEVICE_IDS = {
    "uuid": "478a82d4-128f-47a6-aa61-2eac3f2a23a",
    "imei": "imei:35026680061099",
    "deveui": "deveui:ea8fa35e2cf3489g",
    "dvnuuid": "dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979",
    "urn:dev:imei": "urn:dev:imei:35026680061099312",
    "urn:dev:deveui": "urn:dev:deveui:ea8fa35e2cf348",
    "urn:dev:dvnuuid": "urn:dev:dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f::",
    "no format": "sensor-17",
}

Refusal = tuple[str, dict[str, str], str, str]


def refused(kind: str, field: str, value: str, words: str, **also: str) -> Refusal:
    """A case: the `kind` form with `field` set to `value` (and the `also` changes) is refused,
    on `field`, with these words (a part of the complaint)."""
    return (kind, {**also, field: value}, field, words)


# Payloads that both forms read the same way (the MQTT one for a binary message): how the
# payload is entered, the payload, words of the complaint.
PAYLOAD_REFUSALS = [
    ("hex", "01 0G zz", "Hex uses only the digits 0-9 and the letters a-f"),
    ("hex", "xy", "Hex uses only the digits 0-9"),
    ("hex", "012", "Hex takes two digits per byte, and this has an odd number (3)"),
    ("base64", "AQI$", "This is not valid base64: use only A-Z"),
    ("base64", "AQI", "its length (3) must be a multiple of 4"),
    ("base64", "AQIDB", "its length (5) must be a multiple of 4"),
    ("base64", "A===", "This is not valid base64"),
    ("base64", "AQ=A", "This is not valid base64"),
]
BINARY = {"lora": {}, "mqtt": {"message_type": "binary"}}
TOO_SHORT = "The feedback timeout must be at least 10 minutes; 9 minutes is too short."
NO_WILDCARDS = "A topic to publish to cannot contain the wildcards + or #."
EMPTY_MESSAGE = f"The payload is empty. Enter one, or tick “{SEND_EMPTY_LABEL}”"

INVALID_INPUTS: list[Refusal] = [
    *[
        refused(kind, "device_id", broken, "is not a device id. Use a UUID")
        for kind in ("lora", "mqtt")
        for broken in BROKEN_DEVICE_IDS.values()
    ],
    *[
        refused(kind, "payload", payload, words, **BINARY[kind], payload_format=entered_as)
        for kind in ("lora", "mqtt")
        for entered_as, payload, words in PAYLOAD_REFUSALS
    ],
    *[
        case
        for kind in ("lora", "mqtt")
        for case in (
            refused(kind, "timeout_minutes", "9", TOO_SHORT, timeout_hours="0"),
            refused(kind, "timeout_minutes", "-5", "Minutes cannot be negative."),
        )
    ],
    refused("lora", "device_id", "", "This field is required."),
    refused("lora", "payload", "", "This field is required."),
    refused("lora", "payload", "0x", "Enter the payload.", payload_format="hex"),
    # An empty MQTT message is asked about instead (see test_views_send_form_fields.py).
    refused("mqtt", "payload", "", EMPTY_MESSAGE),
    refused("mqtt", "payload", "0x", EMPTY_MESSAGE, **BINARY["mqtt"], payload_format="hex"),
    refused("lora", "payload_format", "morse", "Select a valid choice."),
    refused(
        "lora", "f_port", "0", "fPort must be between 1 and 223; 0 is reserved for MAC commands."
    ),
    refused(
        "lora", "f_port", "224", "fPort must be between 1 and 223; 224 and above are reserved."
    ),
    refused("lora", "f_port", "-5", "fPort must be between 1 and 223; a port cannot be negative."),
    refused("lora", "f_port", "one", "Enter a whole number."),
    refused("lora", "retry_limit", "-1", "The retry limit cannot be negative."),
    refused("mqtt", "message_type", "smoke", "Select a valid choice."),
    refused("mqtt", "topic", "sensors/#", NO_WILDCARDS),
    refused("mqtt", "topic", "a/+/b", NO_WILDCARDS),
    refused("mqtt", "topic", "", "This field is required."),
    refused("mqtt", "qos", "EXACTLY_TWICE", "Select a valid choice."),
]


@pytest.mark.parametrize(
    ("kind", "changes", "field", "words"),
    INVALID_INPUTS,
    ids=[
        f"{kind}-{'-'.join(f'{k}={v}' for k, v in changes.items())}"
        for kind, changes, _, _ in INVALID_INPUTS
    ],
)
def test_invalid_input_is_refused_on_its_field_without_an_api_call(
    dash: Dashboard, kind: str, changes: dict[str, str], field: str, words: str
) -> None:
    audited = AuditEntry.objects.count()
    response = send(dash, kind, **changes)
    assert response.status_code == 400
    errors = field_errors(response)
    assert field in errors, errors
    assert words in errors[field]
    # The page keeps what was entered, and sends nothing.
    for name, value in changes.items():
        if name in ("device_id", "payload", "topic", "f_port", "retry_limit", "timeout_minutes"):
            assert input_value(response, name) == value
    assert dash.writes() == 0
    assert dash.calls() == 0  # not even a token was fetched
    assert not Downlink.objects.exists()
    assert AuditEntry.objects.count() == audited


@pytest.mark.parametrize(
    "timeout",
    [
        {"timeout_days": "366", "timeout_hours": "1"},
        {"timeout_days": "0", "timeout_hours": "0", "timeout_minutes": str(10**30)},
        {"timeout_days": "200", "timeout_hours": str(200 * 24)},
    ],
)
def test_the_timeout_is_bounded_in_all(dash: Dashboard, timeout: dict[str, str]) -> None:
    response = send(dash, "lora", **timeout)
    assert response.status_code == 400
    assert "The feedback timeout can be at most 366 days." in page_text(response)
    assert dash.writes() == 0


def test_exactly_ten_minutes_is_enough(dash: Dashboard) -> None:
    downlink = sent(dash, "lora", timeout_hours="0", timeout_minutes="10")
    assert downlink["feedbackTimeout"] == "PT10M"


# --- The API refuses: the Problem in words, the input kept ---------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_problem_from_the_api_is_shown_in_words_with_the_input_kept(
    dash: Dashboard, kind: str
) -> None:
    dash.fault(kind="error", status=400, method="POST", path=COLLECTIONS[kind], times=1)
    changes = (
        {"payload": "c0ffee", "f_port": "17", "retry_limit": "2"}
        if kind == "lora"
        else {"payload": "close the gate", "topic": "cmd/gate", "content_type": "text/plain"}
    )
    response = send(dash, kind, **changes)
    assert response.status_code == 400
    (banner,) = banners(response)
    assert banner.startswith("The Things API refused the downlink.")
    assert "The service answered 400 (a fault injected in the simulator)" in banner
    values = form_values(response)
    posted = {**FORMS[kind](), **changes}
    for name, value in posted.items():
        if name != "submission_key":
            assert values.get(name, "") == value, name
    # The key is spent (nothing was created under it): the form comes back with a new one.
    assert values["submission_key"] not in ("", posted["submission_key"])
    # Refused, once: not retried, recorded and audited as refused.
    assert dash.calls("POST", COLLECTIONS[kind]) == 1
    record = Downlink.objects.get(team=dash.team, kind=kind)
    assert record.send_state == SendState.REFUSED
    assert record.remote_id is None
    assert record.send_problem["status"] == 400
    outcome = AuditEntry.objects.get(action=Action.DOWNLINK_SEND, phase=Phase.OUTCOME)
    assert outcome.outcome == Outcome.REFUSED
    # Sent again once the API accepts it: a new attempt, which works.
    again = dash.operator.post(dash.url("send", kind), values)
    assert again.status_code == 302


# --- Clone -----------------------------------------------------------------------------------


def test_clone_prefills_the_lora_form(dash: Dashboard) -> None:
    original = dash.api_create(
        "lora",
        lora_body(
            message={"payloadHex": "CAFE01", "fPort": 42},
            retryLimit=3,
            feedbackTimeout="P1DT2H3M",
            dryRun=True,
        ),
    )
    response = dash.operator.get(f"{dash.url('send', 'lora')}?clone={original['id']}")
    assert response.status_code == 200
    assert f"A copy of the downlink {original['id']} to {LORA_DEVICE}" in page_text(response)
    values = form_values(response)
    assert UUID(values.pop("submission_key"))  # a one-time key of its own
    assert values == {
        "device_id": LORA_DEVICE,
        "payload_format": "hex",
        "payload": "CAFE01",
        "f_port": "42",
        "retry_limit": "3",
        "timeout_days": "1",
        "timeout_hours": "2",
        "timeout_minutes": "3",
        "dry_run": "on",
    }
    # Sending the pre-filled form sends the same downlink again.
    copy = dash.operator.post(dash.url("send", "lora"), form_values(response))
    again = dash.api_get("lora", downlink_id_of(copy))
    assert again["deviceId"] == original["deviceId"]
    assert again["message"]["payloadHex"].lower() == "cafe01"
    assert again["message"]["fPort"] == 42
    assert again["retryLimit"] == 3
    assert again["feedbackTimeout"] == "P1DT2H3M"
    assert again["dryRun"] is True


def test_clone_prefills_the_mqtt_form_for_text_and_binary(dash: Dashboard) -> None:
    text = dash.api_create(
        "mqtt",
        mqtt_body(
            message={
                "type": "text",
                "payload": "reboot & report",
                "topic": "cmd/reboot",
                "contentType": "text/plain",
                "qos": "AT_MOST_ONCE",
            }
        ),
    )
    page = dash.operator.get(f"{dash.url('send', 'mqtt')}?clone={text['id']}")
    assert checked_radio(page, "message_type") == "text"
    assert input_value(page, "payload") == "reboot & report"
    assert input_value(page, "topic") == "cmd/reboot"
    assert input_value(page, "content_type") == "text/plain"
    assert selected_option(page, "qos") == "AT_MOST_ONCE"
    assert input_value(page, "device_id") == MQTT_DEVICE
    binary = dash.api_create(
        "mqtt",
        mqtt_body(
            message={"type": "binary", "payload": "AQID", "topic": "bin"},
            feedbackTimeout="PT10M30S",
        ),
    )
    page = dash.operator.get(f"{dash.url('send', 'mqtt')}?clone={binary['id']}")
    assert checked_radio(page, "message_type") == "binary"
    assert selected_option(page, "payload_format") == "base64"
    assert input_value(page, "payload") == "AQID"
    assert input_value(page, "topic") == "bin"
    assert not is_checked(page, "dry_run")
    # 10 minutes 30 seconds cannot be entered; it is rounded up to whole minutes.
    assert (input_value(page, "timeout_hours"), input_value(page, "timeout_minutes")) == (
        "0",
        "11",
    )
    copy = dash.operator.post(dash.url("send", "mqtt"), form_values(page))
    assert dash.api_get("mqtt", downlink_id_of(copy))["message"]["payload"] == "AQID"


@pytest.mark.parametrize("clone", ["not-a-uuid", "7d0c7a43-34a5-4b8e-9e63-2f3b0e6c1c11"])
def test_clone_of_an_unknown_downlink_is_404(dash: Dashboard, clone: str) -> None:
    response = dash.operator.get(f"{dash.url('send', 'lora')}?clone={clone}")
    assert response.status_code == 404


def test_clone_of_the_other_kind_is_404(dash: Dashboard) -> None:
    lora = dash.api_create("lora")
    response = dash.operator.get(f"{dash.url('send', 'mqtt')}?clone={lora['id']}")
    assert response.status_code == 404


# --- The portal's own record and the audit trail ---------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_send_leaves_a_record_of_who_sent_what(dash: Dashboard, kind: str) -> None:
    response = send(dash, kind)
    downlink_id = downlink_id_of(response)
    record = Downlink.objects.get(remote_id=downlink_id)
    assert record.team == dash.team
    assert record.kind == kind
    assert record.sent_by == dash.operator_user
    assert record.sent_by_label == "ferry-operator"
    assert record.device_id == (LORA_DEVICE if kind == "lora" else MQTT_DEVICE)
    assert record.send_state == SendState.SENT
    assert record.status == "PENDING"
    assert record.request_body == {**BODY_SENT[kind], "dryRun": False}
    # The record follows the downlink's status as pages show it.
    dash.advance(16)
    dash.viewer.get(dash.url("detail", kind, downlink_id))
    record.refresh_from_db()
    assert record.status == "DONE"
    assert record.last_failure_reason == ""


BODY_SENT: dict[str, dict[str, Any]] = {
    "lora": {
        "deviceId": LORA_DEVICE,
        "message": {"payloadHex": "0102", "fPort": 1},
        "feedbackTimeout": "PT1H",
        "retryLimit": 0,
    },
    "mqtt": {
        "deviceId": MQTT_DEVICE,
        "message": {"type": "text", "payload": "hello", "topic": "downlink"},
        "feedbackTimeout": "PT1H",
    },
}


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_send_is_audited_as_an_attempt_then_its_outcome(dash: Dashboard, kind: str) -> None:
    # As long as the team's LoRa limit allows (and longer than the trail's preview).
    long_payload = "ab" * dash.team.lora_payload_limit if kind == "lora" else "x" * 200
    downlink_id = downlink_id_of(send(dash, kind, payload=long_payload))
    attempt, outcome = AuditEntry.objects.filter(action=Action.DOWNLINK_SEND).order_by("sequence")
    assert attempt.phase == Phase.ATTEMPT
    assert attempt.outcome == Outcome.PENDING
    assert attempt.actor_label == "ferry-operator"
    assert attempt.team_id == dash.team.pk
    assert attempt.target_kind == kind
    assert attempt.device_id == (LORA_DEVICE if kind == "lora" else MQTT_DEVICE)
    # The trail keeps a preview and the length of the payload, not all of it.
    key = "payloadHex" if kind == "lora" else "payload"
    assert attempt.asked["message"][f"{key}Length"] == len(long_payload)
    assert attempt.asked["message"][f"{key}Preview"] == long_payload[:32]
    assert key not in attempt.asked["message"]
    assert outcome.phase == Phase.OUTCOME
    assert outcome.attempt_sequence == attempt.sequence
    assert outcome.outcome == Outcome.OK
    assert outcome.target_id == str(downlink_id)
    assert outcome.answered["id"] == str(downlink_id)
    assert Downlink.objects.get(remote_id=downlink_id).send_attempt_sequence == attempt.sequence
    # Both show on the downlink's page.
    page = page_text(dash.viewer.get(dash.url("detail", kind, downlink_id)))
    assert "ferry-operator: Send asked" in page
    assert "ferry-operator: Sent downlink — accepted by the API" in page


# --- Who may send ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lora", "mqtt"])
def test_a_viewer_cannot_send_nor_preview(dash: Dashboard, kind: str) -> None:
    for name in ("send", "send_preview"):
        response = dash.viewer.post(dash.url(name, kind), FORMS[kind]())
        assert response.status_code == 403
        assert "Not allowed" in body_of(response)
    assert dash.viewer.get(dash.url("send", kind)).status_code == 403
    assert dash.calls() == 0
    assert not Downlink.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.DOWNLINK_SEND).exists()


def test_the_list_offers_sending_only_to_operators(dash: Dashboard) -> None:
    send_link = f'href="{dash.url("send", "lora")}"'
    assert send_link in body_of(dash.operator.get(dash.url("list", "lora")))
    assert send_link not in body_of(dash.viewer.get(dash.url("list", "lora")))
