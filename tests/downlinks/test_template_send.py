"""Sending from a template against the live simulator: the form made of the template's
parameters, the preview equal to what the API then holds, values refused at their field or by
the codec with nothing sent, one create for a form posted twice, and the version a downlink
was sent with kept through an edit of the template."""

from __future__ import annotations

import base64
import json

import pytest
from django.urls import reverse

from audit.models import Action, AuditEntry, Phase
from audit.trail import Origin
from command_templates.models import CommandTemplate, definition_for
from command_templates.services import template_save
from devices import services as device_services
from devices.example_codecs import WATER_METER_CODEC, WATER_METER_EXAMPLES
from devices.models import Device, DeviceType, Kind
from downlinks.models import Downlink
from tests.downlinks.conftest import (
    LORA_DEVICE,
    MQTT_DEVICE,
    Dashboard,
    downlink_id_of,
    field_errors,
    form_values,
    page_text,
)

SYSTEM = Origin.system("test")

SET_INTERVAL = """\
parameters:
  - name: interval_minutes
    label: Reporting interval
    type: integer
    min: 1
    max: 1440
    unit: minutes
    default: 15
payload:
  codec: {command: set_interval}
send: {retry_limit: 2, feedback_timeout: PT2H}
"""


@pytest.fixture
def meter(dash: Dashboard) -> DeviceType:
    device_type = DeviceType(team=dash.team, name="Water meter", kind=Kind.LORA, default_f_port=2)
    device_services.device_type_save(
        device_type=device_type,
        codec=device_services.CodecUpload(WATER_METER_CODEC, WATER_METER_EXAMPLES),
        origin=SYSTEM,
        uploaded_by=None,
    )
    return device_type


def make_template(
    dash: Dashboard, name: str, source: str, *, kind: str, device_type: DeviceType | None = None
) -> CommandTemplate:
    template = CommandTemplate(team=dash.team, name=name, kind=kind, device_type=device_type)
    definition = definition_for(source, kind=kind, device_type=device_type)
    template_save(
        template=template,
        description="",
        source=source,
        definition=definition,
        origin=SYSTEM,
        user=None,
    )
    return template


def send_url(template: CommandTemplate, suffix: str = "") -> str:
    return (
        reverse(
            "downlinks:template_send",
            kwargs={"team_slug": template.team.slug, "template_pk": template.pk},
        )
        + suffix
    )


def filled(dash: Dashboard, template: CommandTemplate, **values: str) -> dict[str, str]:
    """The form as the page fills it in, with `values` typed in."""
    page = dash.operator.get(send_url(template))
    assert page.status_code == 200
    return {**form_values(page), "device_id": LORA_DEVICE, **values}


def test_the_preview_shows_exactly_what_the_api_then_receives(
    dash: Dashboard, meter: DeviceType
) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    page = dash.operator.get(send_url(template))
    assert "From 1 to 1440 minutes." in page_text(page)
    form = filled(dash, template, param_interval_minutes="900")
    preview = page_text(dash.operator.post(send_url(template, "/preview"), form))
    assert "3 bytes of at most 51 on fPort 2" in preview
    assert "Hex: 010384" in preview
    assert (
        "Decoded back by the codec: {'command': 'set_interval', 'interval_minutes': 900}" in preview
    )
    assert dash.writes() == 0  # a preview sends nothing

    response = dash.operator.post(send_url(template), form)
    assert response.status_code == 302, field_errors(response)
    (received,) = [
        entry.body
        for entry in dash.simulator.app.request_log.entries()
        if entry.method == "POST" and entry.path == "/lora/downlinks"
    ]
    assert received["message"] == {"payloadHex": "010384", "fPort": 2}  # as the preview said
    held = dash.api_get(Kind.LORA, downlink_id_of(response))
    assert held["message"] == {"payloadHex": "010384", "fPort": 2}
    assert (held["retryLimit"], held["feedbackTimeout"]) == (2, "PT2H")
    record = Downlink.objects.get(remote_id=held["id"])
    assert record.template_version is not None
    assert (record.template_version.number, record.template_values) == (
        1,
        {"interval_minutes": 900},
    )
    assert record.codec_version == meter.current_codec()
    attempt = AuditEntry.objects.get(action=Action.DOWNLINK_SEND, phase=Phase.ATTEMPT)
    assert attempt.asked["template"] == {
        "name": "Set interval",
        "version": 1,
        "parameters": {"interval_minutes": 900},
        "codecVersion": 1,
    }


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("1441", "Ensure this value is less than or equal to 1440."),
        ("fifteen", "Enter a whole number."),
        ("", "This field is required."),
    ],
)
def test_a_value_the_parameter_refuses_is_told_at_its_field_and_nothing_is_sent(
    dash: Dashboard, meter: DeviceType, value: str, error: str
) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    response = dash.operator.post(
        send_url(template), filled(dash, template, param_interval_minutes=value)
    )
    assert response.status_code == 400
    assert field_errors(response)["param_interval_minutes"] == error
    assert dash.writes() == 0


def test_values_the_codec_refuses_are_said_in_its_words_and_nothing_is_sent(
    dash: Dashboard, meter: DeviceType
) -> None:
    unbounded = SET_INTERVAL.replace("    min: 1\n    max: 1440\n", "")
    template = make_template(dash, "Any interval", unbounded, kind=Kind.LORA, device_type=meter)
    response = dash.operator.post(
        send_url(template), filled(dash, template, param_interval_minutes="5000")
    )
    assert response.status_code == 400
    assert (
        "Nothing can be sent with these values: The codec refused these values: "
        "interval_minutes must be a whole number from 1 to 1440"
    ) in page_text(response)
    assert dash.writes() == 0


def test_a_form_posted_twice_creates_one_downlink(dash: Dashboard, meter: DeviceType) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    form = filled(dash, template)
    first = dash.operator.post(send_url(template), form)
    again = dash.operator.post(send_url(template), form)
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert dash.calls("POST", "/lora/downlinks") == 1


def test_a_downlink_keeps_the_version_it_was_sent_with(dash: Dashboard, meter: DeviceType) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    sent = dash.operator.post(
        send_url(template), filled(dash, template, param_interval_minutes="60")
    )
    downlink_id = downlink_id_of(sent)
    edit = reverse(
        "command_templates:edit", kwargs={"team_slug": dash.team.slug, "template_pk": template.pk}
    )
    changed = dash.admin.post(
        edit,
        {
            "name": "Set interval",
            "device_type": str(meter.pk),
            "description": "Now every 30 minutes by default",
            "definition": SET_INTERVAL.replace("default: 15", "default: 30"),
        },
    )
    assert changed.status_code == 302, field_errors(changed)
    assert list(template.versions.values_list("number", flat=True)) == [2, 1]
    detail = page_text(dash.operator.get(dash.url("detail", Kind.LORA, downlink_id)))
    assert "Set interval, version 1 (codec version 1): interval_minutes = 60" in detail
    assert Downlink.objects.get(remote_id=downlink_id).template_version.number == 1  # type: ignore[union-attr]


LAYOUT = """\
parameters:
  - name: mode
    type: choice
    choices: [{value: 1, label: Eco}, {value: 2, label: Boost}]
    default: 1
  - {name: led, type: boolean}
  - {name: delay, type: duration, min: 0, max: 65535}
  - {name: offset, type: integer, min: -100, max: 100, default: 0}
payload:
  layout:
    - hex: "A0"
    - bits: [{parameter: mode, width: 3}, {parameter: led, width: 1}]
    - {parameter: delay, as: u16, endian: little}
    - {parameter: offset, as: i8}
send: {f_port: 9}
"""


def test_a_byte_layout_packs_the_values_the_form_reads(dash: Dashboard) -> None:
    template = make_template(dash, "Mode", LAYOUT, kind=Kind.LORA)
    form = filled(
        dash, template, param_mode="2", param_led="on", param_delay="1 h 30 m", param_offset="-2"
    )
    response = dash.operator.post(send_url(template), form)
    assert response.status_code == 302, field_errors(response) or page_text(response)
    held = dash.api_get(Kind.LORA, downlink_id_of(response))
    # A0, mode 2 in the top 3 bits and the led after it, 5400 s little-endian, -2 as a byte.
    assert held["message"] == {
        "payloadHex": "a0" + f"{(2 << 5) | (1 << 4):02x}" + "1815" + "fe",
        "fPort": 9,
    }


TEXT = """\
parameters:
  - {name: note, type: text, max_length: 40}
  - {name: level, type: number, min: 0, max: 1}
payload:
  text: '{"note": "{{note}}", "level": {{level}}}'
  json: true
send: {topic: config/set}
"""


def test_a_json_text_template_escapes_what_is_typed(dash: Dashboard) -> None:
    template = make_template(dash, "Note", TEXT, kind=Kind.MQTT)
    form = {
        **filled(dash, template),
        "device_id": MQTT_DEVICE,
        "param_note": 'say "hi"\\',
        "param_level": "0.5",
    }
    response = dash.operator.post(send_url(template), form)
    assert response.status_code == 302, field_errors(response) or page_text(response)
    held = dash.api_get(Kind.MQTT, downlink_id_of(response))
    assert held["message"]["type"] == "text"
    assert held["message"]["topic"] == "config/set"
    assert json.loads(held["message"]["payload"]) == {"note": 'say "hi"\\', "level": 0.5}


def test_an_mqtt_codec_template_sends_the_bytes_as_binary(dash: Dashboard) -> None:
    tracker = DeviceType(team=dash.team, name="Tracker", kind=Kind.MQTT, default_topic="cmd")
    codec = "function encodeDownlink(input) { return {bytes: [7, input.data.n]}; }"
    device_services.device_type_save(
        device_type=tracker,
        codec=device_services.CodecUpload(codec),
        origin=SYSTEM,
        uploaded_by=None,
    )
    source = "parameters: [{name: n, type: integer, min: 0, max: 255}]\npayload: {codec: {}}\n"
    template = make_template(dash, "Seven", source, kind=Kind.MQTT, device_type=tracker)
    form = {**filled(dash, template), "device_id": MQTT_DEVICE, "param_n": "9"}
    response = dash.operator.post(send_url(template), form)
    assert response.status_code == 302, field_errors(response) or page_text(response)
    held = dash.api_get(Kind.MQTT, downlink_id_of(response))
    assert (held["message"]["type"], held["message"]["topic"]) == ("binary", "cmd")
    assert base64.b64decode(held["message"]["payload"]) == bytes([7, 9])


def test_viewers_cannot_send_from_templates(dash: Dashboard) -> None:
    template = make_template(dash, "Mode", LAYOUT, kind=Kind.LORA)
    assert dash.viewer.get(send_url(template)).status_code == 403
    assert dash.viewer.post(send_url(template), {}).status_code == 403
    assert dash.writes() == 0


def test_templates_only_refuses_operators_the_raw_forms_in_words(
    dash: Dashboard, meter: DeviceType
) -> None:
    rule = reverse("command_templates:templates_only", kwargs={"team_slug": dash.team.slug})
    assert dash.operator.post(rule, {"templates_only": "on"}).status_code == 403  # admins' rule
    assert dash.admin.post(rule, {"templates_only": "on"}).status_code == 302
    assert AuditEntry.objects.filter(action=Action.TEMPLATES_ONLY_CHANGED).count() == 1
    raw = dash.url("send", Kind.LORA)
    refused = dash.operator.get(raw)
    assert refused.status_code == 403
    assert "operators send only what a template makes" in page_text(refused)
    assert "ferry-admin" in page_text(refused)  # who can send it raw
    body = {"device_id": LORA_DEVICE, "payload_format": "hex", "payload": "01", "f_port": "1"}
    assert dash.operator.post(raw, body).status_code == 403
    assert dash.operator.post(dash.url("send_preview", Kind.LORA), body).status_code == 403
    assert dash.writes() == 0
    assert dash.admin.get(raw).status_code == 200  # admins may still send raw
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    sent = dash.operator.post(send_url(template), filled(dash, template))
    assert sent.status_code == 302
    assert dash.writes() == 1


def test_clone_reopens_the_template_with_the_same_values(
    dash: Dashboard, meter: DeviceType
) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    sent = dash.operator.post(
        send_url(template), filled(dash, template, param_interval_minutes="45")
    )
    detail = dash.operator.get(dash.url("detail", Kind.LORA, downlink_id_of(sent)))
    record = Downlink.objects.get(remote_id=downlink_id_of(sent))
    clone = send_url(template, f"?clone={record.pk}")
    assert clone.replace("&", "&amp;") in detail.content.decode()
    page = dash.operator.get(clone)
    values = form_values(page)
    assert (values["device_id"], values["param_interval_minutes"]) == (LORA_DEVICE, "45")
    assert dash.operator.get(send_url(template, "?clone=999999")).status_code == 404


def test_the_detail_page_says_what_the_bytes_mean(dash: Dashboard, meter: DeviceType) -> None:
    template = make_template(dash, "Set interval", SET_INTERVAL, kind=Kind.LORA, device_type=meter)
    sent = dash.operator.post(
        send_url(template), filled(dash, template, param_interval_minutes="900")
    )
    detail = page_text(dash.operator.get(dash.url("detail", Kind.LORA, downlink_id_of(sent))))
    assert (
        "Means {'command': 'set_interval', 'interval_minutes': 900} "
        "(decoded by the Water meter codec, version 1)"
    ) in detail
    # Sent raw to a device the team lists as a water meter: its type's codec decodes it too.
    other = "deveui:0004a30b001c0599"
    Device.objects.create(
        team=dash.team, kind=Kind.LORA, device_id=other, key=other, device_type=meter
    )
    raw = dash.api_create(
        Kind.LORA,
        {
            "deviceId": other,
            "message": {"payloadHex": "0301", "fPort": 2},
            "feedbackTimeout": "PT1H",
        },
    )
    page = page_text(dash.operator.get(dash.url("detail", Kind.LORA, raw["id"])))
    assert "Means {'command': 'set_valve', 'open': True}" in page
    unlisted = dash.api_create(
        Kind.LORA,
        {
            "deviceId": "deveui:0004a30b001c0598",
            "message": {"payloadHex": "0301", "fPort": 2},
            "feedbackTimeout": "PT1H",
        },
    )
    assert "Means" not in page_text(
        dash.operator.get(dash.url("detail", Kind.LORA, unlisted["id"]))
    )
