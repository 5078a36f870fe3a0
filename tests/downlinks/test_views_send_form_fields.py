"""The send forms' fields that apply only sometimes, against the live simulator: the MQTT
binary format is ignored for a text message (and marked for the page to hide), the LoRa payload
is held to the team's limit before anything is sent, each kind's device placeholder is an id of
that kind, and an empty MQTT message is sent only once it is confirmed."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.urls import reverse

from audit.models import Action, AuditEntry
from devices.fields import DEVICE_ID_EXAMPLES
from downlinks.forms import MqttSendForm, validate_device_id
from downlinks.forms.send import SEND_EMPTY_LABEL
from downlinks.models import Downlink
from teams.forms import LoraPayloadLimitForm
from teams.models import LORA_PAYLOAD_LIMIT_DEFAULT, LORA_PAYLOAD_LIMIT_MAX
from tests.downlinks.conftest import (
    COLLECTIONS,
    Dashboard,
    banners,
    downlink_id_of,
    field_errors,
    form_values,
    lora_form,
    mqtt_form,
    page_text,
)
from tests.teams.capture import body_of


def send(dash: Dashboard, kind: str, data: dict[str, str]) -> Any:
    return dash.operator.post(dash.url("send", kind), data)


def sent(dash: Dashboard, kind: str, data: dict[str, str]) -> dict[str, Any]:
    """Send through the portal; the downlink as the API now has it."""
    response = send(dash, kind, data)
    assert response.status_code == 302, field_errors(response) or banners(response)
    return dash.api_get(kind, downlink_id_of(response))


def preview(dash: Dashboard, kind: str, data: dict[str, str]) -> str:
    response = dash.operator.post(dash.url("send_preview", kind), data)
    assert response.status_code == 200
    return page_text(response)


def wrapper_attributes(html: str, field: str) -> str:
    """The attributes of the wrapper of `field` (its <div class="field field-…">)."""
    match = re.search(rf'<div class="field field-{field}"([^>]*)>', html)
    assert match is not None, f"no wrapper for {field}"
    return match.group(1)


# --- MQTT: the binary payload's format applies to binary messages only -----------------------


def test_the_page_marks_the_binary_format_as_applying_to_binary_only(dash: Dashboard) -> None:
    html = body_of(dash.operator.get(dash.url("send", "mqtt")))
    for name in MqttSendForm.base_fields:
        if name in ("submission_key", *MqttSendForm.confirmations):
            continue
        attributes = wrapper_attributes(html, name) if "timeout" not in name else ""
        if name in MqttSendForm.shown_when:
            other, choice = MqttSendForm.shown_when[name]
            assert f'data-shown-when="{other}={choice}"' in attributes
            assert "hidden" not in attributes  # without JavaScript, it shows
        else:
            assert "data-shown-when" not in attributes, name
    assert MqttSendForm.shown_when == {"payload_format": ("message_type", "binary")}


@pytest.mark.parametrize(
    "payload_format",
    ["hex", "morse", None],  # hex would refuse "zz"; morse is no format; None: not posted
)
def test_a_text_message_ignores_the_binary_format(
    dash: Dashboard, payload_format: str | None
) -> None:
    data = mqtt_form(message_type="text", payload="zz")
    if payload_format is None:
        del data["payload_format"]  # as a browser sends the disabled field: not at all
    else:
        data["payload_format"] = payload_format
    downlink = sent(dash, "mqtt", data)
    assert downlink["message"]["type"] == "text"
    assert downlink["message"]["payload"] == "zz"


def test_a_binary_message_reads_its_format(dash: Dashboard) -> None:
    refused = send(dash, "mqtt", mqtt_form(message_type="binary", payload_format="morse"))
    assert refused.status_code == 400
    assert "Select a valid choice." in field_errors(refused)["payload_format"]
    downlink = sent(
        dash, "mqtt", mqtt_form(message_type="binary", payload_format="hex", payload="0102")
    )
    assert downlink["message"]["payload"] == "AQI="


# --- LoRa: the team's payload limit ----------------------------------------------------------


def set_limit(dash: Dashboard, limit: int) -> None:
    """As a team admin does it, on the credential page."""
    url = reverse("teams:credential", kwargs={"team_slug": dash.team.slug})
    response = dash.admin.post(url, {f"{LoraPayloadLimitForm.prefix}-lora_payload_limit": limit})
    assert response.status_code == 302
    dash.team.refresh_from_db()
    assert dash.team.lora_payload_limit == limit


def test_a_payload_up_to_the_default_limit_is_sent_and_one_byte_more_is_refused(
    dash: Dashboard,
) -> None:
    assert dash.team.lora_payload_limit == LORA_PAYLOAD_LIMIT_DEFAULT
    limit = LORA_PAYLOAD_LIMIT_DEFAULT
    downlink = sent(dash, "lora", lora_form(payload="ab" * limit))
    assert downlink["message"]["payloadHex"] == "ab" * limit
    writes = dash.writes()
    audited = AuditEntry.objects.filter(action=Action.DOWNLINK_SEND).count()

    response = send(dash, "lora", lora_form(payload="ab" * (limit + 1)))

    assert response.status_code == 400
    error = field_errors(response)["payload"]
    assert f"This payload is {limit + 1} bytes" in error
    assert f"this team's LoRa payload limit of {limit} bytes" in error
    assert "on the team's Credential page" in error
    assert dash.writes() == writes
    assert Downlink.objects.filter(team=dash.team).count() == 1
    assert AuditEntry.objects.filter(action=Action.DOWNLINK_SEND).count() == audited


OVER = LORA_PAYLOAD_LIMIT_DEFAULT + 1


@pytest.mark.parametrize(
    ("payload_format", "payload"),
    [
        # Half as many characters as bytes: the bytes are counted, not the characters.
        ("text", "é" * (OVER // 2 + OVER % 2)),
        ("base64", base64.b64encode(bytes(OVER)).decode()),
        ("hex", "AB:" * OVER),
    ],
    ids=["text", "base64", "hex"],
)
def test_the_limit_counts_the_bytes_sent_whatever_the_entry(
    dash: Dashboard, payload_format: str, payload: str
) -> None:
    data = lora_form(payload_format=payload_format, payload=payload)
    response = send(dash, "lora", data)
    assert response.status_code == 400
    assert f"limit of {LORA_PAYLOAD_LIMIT_DEFAULT} bytes" in field_errors(response)["payload"]
    assert dash.calls() == 0


def test_the_preview_counts_against_the_limit(dash: Dashboard) -> None:
    limit = LORA_PAYLOAD_LIMIT_DEFAULT
    assert f"5 of {limit} bytes" in preview(dash, "lora", lora_form(payload="0102030405"))
    over = preview(dash, "lora", lora_form(payload="ab" * (limit + 1)))
    assert f"{limit + 1} of {limit} bytes" in over
    assert f"Payload: This payload is {limit + 1} bytes" in over  # the problem, as one types
    assert dash.calls() == 0


def test_a_raised_limit_lets_a_longer_payload_through(dash: Dashboard) -> None:
    set_limit(dash, LORA_PAYLOAD_LIMIT_MAX)
    longest = "cd" * LORA_PAYLOAD_LIMIT_MAX
    assert f"{LORA_PAYLOAD_LIMIT_MAX} of {LORA_PAYLOAD_LIMIT_MAX} bytes" in preview(
        dash, "lora", lora_form(payload=longest)
    )
    assert sent(dash, "lora", lora_form(payload=longest))["message"]["payloadHex"] == longest
    page = page_text(dash.operator.get(dash.url("send", "lora")))
    assert f"At most {LORA_PAYLOAD_LIMIT_MAX} bytes, this team's LoRa payload limit" in page


def test_a_lowered_limit_refuses_what_the_default_allows(dash: Dashboard) -> None:
    set_limit(dash, 2)
    assert sent(dash, "lora", lora_form(payload="0102"))["message"]["payloadHex"] == "0102"
    response = send(dash, "lora", lora_form(payload="010203"))
    assert response.status_code == 400
    assert "limit of 2 bytes" in field_errors(response)["payload"]
    # The form given back under a new key, after the API refused it, keeps the team's limit.
    dash.fault(kind="error", status=400, method="POST", path=COLLECTIONS["lora"], times=1)
    refused = send(dash, "lora", lora_form(payload="02"))
    assert refused.status_code == 400
    assert banners(refused)[0].startswith("The Things API refused the downlink.")
    assert "At most 2 bytes, this team's LoRa payload limit" in page_text(refused)


def test_the_mqtt_form_knows_no_lora_limit(dash: Dashboard) -> None:
    set_limit(dash, 1)
    payload = "ab" * (LORA_PAYLOAD_LIMIT_MAX + 1)
    downlink = sent(
        dash, "mqtt", mqtt_form(message_type="binary", payload_format="hex", payload=payload)
    )
    assert downlink["message"]["type"] == "binary"
    assert "of 1 bytes" not in preview(dash, "mqtt", mqtt_form(payload="x" * 300))


# --- The device id's placeholder: an id of the form's kind --------------------------------


@pytest.mark.parametrize(("kind", "prefix"), [("lora", "deveui:"), ("mqtt", "imei:")])
def test_the_device_placeholder_is_an_id_of_the_kind(
    dash: Dashboard, kind: str, prefix: str
) -> None:
    html = body_of(dash.operator.get(dash.url("send", kind)))
    tag = re.search(r'<input[^>]*name="device_id"[^>]*>', html)
    assert tag is not None
    placeholder = re.search(r'placeholder="([^"]*)"', tag.group(0))
    assert placeholder is not None
    assert placeholder.group(1) == DEVICE_ID_EXAMPLES[kind]
    assert placeholder.group(1).startswith(prefix)
    validate_device_id(placeholder.group(1))  # a valid id, not just a look-alike


# --- MQTT: an empty message, once confirmed ----------------------------------------------


EMPTY_MESSAGES = [
    mqtt_form(message_type="text", payload=""),
    mqtt_form(message_type="binary", payload_format="base64", payload=""),
    mqtt_form(message_type="binary", payload_format="hex", payload=" 0x "),
]


@pytest.mark.parametrize("empty", EMPTY_MESSAGES, ids=["text", "base64", "hex"])
def test_an_empty_message_is_asked_about_then_sent_when_confirmed(
    dash: Dashboard, empty: dict[str, str]
) -> None:
    asked = send(dash, "mqtt", empty)

    assert asked.status_code == 400
    assert field_errors(asked)["payload"].startswith("The payload is empty.")
    html = body_of(asked)
    checkbox = re.search(r'<input type="checkbox" name="send_empty"[^>]*>', html)
    assert checkbox is not None
    assert " checked" not in checkbox.group(0)
    assert f"{SEND_EMPTY_LABEL}" in page_text(asked)
    assert dash.calls() == 0
    assert not Downlink.objects.exists()

    confirmed = send(dash, "mqtt", {**form_values(asked), "send_empty": "on"})

    assert confirmed.status_code == 302, field_errors(confirmed)
    downlink = dash.api_get("mqtt", downlink_id_of(confirmed))
    assert downlink["message"]["payload"] == ""
    assert downlink["message"]["type"] == empty["message_type"]
    record = Downlink.objects.get(remote_id=downlink["id"])
    assert record.request_body["message"]["payload"] == ""


def test_the_confirmation_is_kept_when_another_field_is_wrong(dash: Dashboard) -> None:
    response = send(dash, "mqtt", mqtt_form(payload="", send_empty="on", topic="a/#"))
    assert response.status_code == 400
    assert set(field_errors(response)) == {"topic"}
    checkbox = re.search(r'<input type="checkbox" name="send_empty"[^>]*>', body_of(response))
    assert checkbox is not None
    assert " checked" in checkbox.group(0)
    assert dash.calls() == 0


def test_no_confirmation_is_offered_for_a_message_with_a_payload(dash: Dashboard) -> None:
    for page in (
        dash.operator.get(dash.url("send", "mqtt")),
        send(dash, "mqtt", mqtt_form(payload="hi", topic="a/#")),
        dash.operator.get(dash.url("send", "lora")),
    ):
        assert 'name="send_empty"' not in body_of(page)
    # Ticked for a message that has a payload, it changes nothing.
    downlink = sent(dash, "mqtt", mqtt_form(payload="hi", send_empty="on"))
    assert downlink["message"]["payload"] == "hi"


def test_a_lora_payload_stays_required(dash: Dashboard) -> None:
    response = send(dash, "lora", lora_form(payload="", send_empty="on"))
    assert response.status_code == 400
    assert "payload" in field_errors(response)
    assert dash.calls() == 0
