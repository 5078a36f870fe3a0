"""The pydantic models: every rule of the specs, with valid and invalid examples."""

import base64
import contextlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import things_api
from tests.things_api.wire import lora_json, mqtt_json

SPECS = Path(__file__).resolve().parents[2] / "specs"
LORA_SPEC = json.loads((SPECS / "things-lora-downlinks.openapi.json").read_text())
MQTT_SPEC = json.loads((SPECS / "things-mqtt-downlinks.openapi.json").read_text())
SCHEMAS = LORA_SPEC["components"]["schemas"]

device_ids = TypeAdapter(things_api.DeviceId)
durations = TypeAdapter(things_api.SimpleDuration)
feedback_timeouts = TypeAdapter(things_api.FeedbackTimeout)
hex_payloads = TypeAdapter(things_api.HexPayload)
base64_strings = TypeAdapter(things_api.Base64String)
f_ports = TypeAdapter(things_api.FPort)
retry_limits = TypeAdapter(things_api.RetryLimit)

UUID_TEXT = "478a82d4-128f-47a6-aa61-2eac3f2a23ad"


# --- device ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UUID_TEXT, things_api.DeviceIdFormat.UUID),
        (UUID_TEXT.upper(), things_api.DeviceIdFormat.UUID),
        ("imei:350266800610993", things_api.DeviceIdFormat.IMEI),
        ("imei:3502668006109931", things_api.DeviceIdFormat.IMEI),
        ("IMEI:350266800610993", things_api.DeviceIdFormat.IMEI),
        ("deveui:ea8fa35e2cf3489f", things_api.DeviceIdFormat.DEVEUI),
        ("DevEUI:EA8FA35E2CF3489F", things_api.DeviceIdFormat.DEVEUI),
        (f"dvnuuid:{UUID_TEXT}", things_api.DeviceIdFormat.DVNUUID),
        (f"DVNUUID:{UUID_TEXT.upper()}", things_api.DeviceIdFormat.DVNUUID),
        ("urn:dev:imei:350266800610993", things_api.DeviceIdFormat.URN_IMEI),
        ("urn:dev:imei:350266800610993:", things_api.DeviceIdFormat.URN_IMEI),
        ("URN:DEV:IMEI:3502668006109931", things_api.DeviceIdFormat.URN_IMEI),
        ("urn:dev:deveui:ea8fa35e2cf3489f", things_api.DeviceIdFormat.URN_DEVEUI),
        ("Urn:Dev:DevEui:ea8fa35e2cf3489f:", things_api.DeviceIdFormat.URN_DEVEUI),
        (f"urn:dev:dvnuuid:{UUID_TEXT}", things_api.DeviceIdFormat.URN_DVNUUID),
        (f"urn:dev:dvnuuid:{UUID_TEXT}:", things_api.DeviceIdFormat.URN_DVNUUID),
    ],
)
def test_device_id_accepts_the_seven_formats_in_any_case(value, expected):
    assert things_api.device_id_format(value) is expected
    assert device_ids.validate_python(value) == value  # kept exactly as given


@pytest.mark.parametrize(
    "value",
    [
        "",
        "478a82d4-128f-47a6-aa61-2eac3f2a23a",  # uuid one digit short
        "478a82d4128f47a6aa612eac3f2a23ad",  # uuid without hyphens
        "478a82d4-128f-47a6-aa61-2eac3f2a23az",  # bad char
        "{478a82d4-128f-47a6-aa61-2eac3f2a23ad}",
        "350266800610993",  # imei without its prefix
        "imei:35026680061099",  # 14 digits
        "imei:35026680061099312",  # 17 digits
        "imei:35026680061099a",
        "imei:350266800610993:",  # only URNs may end in a colon
        "imei:" + "\u0663" * 15,  # non-ASCII digits
        "imei: 350266800610993",
        "ea8fa35e2cf3489f",  # deveui without its prefix
        "deveui:ea8fa35e2cf3489",  # 15 hex
        "deveui:ea8fa35e2cf3489f0",  # 17 hex
        "deveui:ga8fa35e2cf3489f",
        "dvnuuid:478a82d4-128f-47a6-aa61-2eac3f2a23a",
        "dvnuuid:not-a-uuid",
        "urn:dev:imei:35026680061099",
        "urn:dev:imei:350266800610993::",
        "urn:dev:deveui:ea8fa35e2cf3489",
        "urn:dev:dvnuuid:478a82d4-128f-47a6-aa61",
        "urn:dev:mac:ea8fa35e2cf3489f",
        "dev:imei:350266800610993",
        "imei:350266800610993\n",
        " imei:350266800610993",
    ],
)
def test_device_id_rejects_broken_variants(value):
    assert things_api.device_id_format(value) is None
    with pytest.raises(ValidationError):
        device_ids.validate_python(value)


def test_device_id_error_lists_the_accepted_formats_in_words():
    with pytest.raises(ValidationError) as caught:
        device_ids.validate_python("meter-42")
    message = caught.value.errors()[0]["msg"]
    for fragment in ("UUID", "imei:", "deveui:", "dvnuuid:", "urn:dev:imei:", "15 or 16 digits"):
        assert fragment in message


def test_device_id_error_names_what_must_follow_a_known_prefix():
    with pytest.raises(ValidationError) as caught:
        device_ids.validate_python("DEVEUI:123")
    assert caught.value.errors()[0]["msg"] == (
        "A device id starting with DEVEUI: must continue with 16 hexadecimal characters (0-9, a-f)."
    )


SPEC_DEVICE_ID_PATTERNS = {
    things_api.DeviceIdFormat.IMEI: SCHEMAS["DeviceId-imei"]["pattern"],
    things_api.DeviceIdFormat.DEVEUI: SCHEMAS["DeviceId-deveui"]["pattern"],
    things_api.DeviceIdFormat.DVNUUID: SCHEMAS["DeviceId-dvnuuid"]["pattern"],
    things_api.DeviceIdFormat.URN_IMEI: SCHEMAS["DeviceUrn-imei"]["pattern"],
    things_api.DeviceIdFormat.URN_DEVEUI: SCHEMAS["DeviceUrn-deveui"]["pattern"],
    things_api.DeviceIdFormat.URN_DVNUUID: SCHEMAS["DeviceUrn-dvnuuid"]["pattern"],
}


@pytest.mark.parametrize(("id_format", "pattern"), SPEC_DEVICE_ID_PATTERNS.items())
@given(data=st.data())
def test_every_id_the_spec_pattern_generates_is_accepted(id_format, pattern, data):
    # The spec's `$` also matches before a final newline in Python; those are not ids.
    value = data.draw(st.from_regex(pattern.replace("$", r"\Z")))
    assert things_api.device_id_format(value) is id_format


@given(st.uuids())
def test_every_uuid_is_a_device_id(value):
    assert things_api.device_id_format(str(value)) is things_api.DeviceIdFormat.UUID


# --- durations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["PT10M", "PT600S", "PT1H", "PT25H", "P1DT1H", "P3DT4H5M6.5S", "PT10M0.000000001S"]
)
def test_feedback_timeout_of_ten_minutes_or_more_is_valid(value):
    assert feedback_timeouts.validate_python(value) == value


@pytest.mark.parametrize("value", ["PT9M59S", "PT9M59.999999S", "PT599S", "PT0S", "PT1M"])
def test_feedback_timeout_below_ten_minutes_is_refused_in_words(value):
    with pytest.raises(ValidationError) as caught:
        feedback_timeouts.validate_python(value)
    assert "at least 10 minutes" in caught.value.errors()[0]["msg"]


def test_bare_days_are_accepted_and_written_the_way_the_spec_pattern_accepts():
    spec_pattern = re.compile(SCHEMAS["SimpleDuration"]["pattern"])
    assert not spec_pattern.match("P1D")  # the spec's own pattern quirk
    assert durations.validate_python("P1D") == "P1DT0H"
    assert spec_pattern.match("P1DT0H")
    assert feedback_timeouts.validate_python("P2D") == "P2DT0H"


@pytest.mark.parametrize(
    "value",
    [
        "P1Y",
        "P1M",
        "P1W",
        "PT",
        "P",
        "P1DT",
        "",
        "10 minutes",
        "pt10m",
        "PT-5M",
        "P1.5D",
        "PT1,5S",
        "PT1.1234567891S",  # ten decimals
        "PT10M ",
        "PT10M\n",
        "PT10S5M",  # wrong order
        "PT\u0661\u0660M",  # non-ASCII digits
    ],
)
def test_malformed_durations_are_refused(value):
    with pytest.raises(ValidationError) as caught:
        durations.validate_python(value)
    assert "PT10M" in caught.value.errors()[0]["msg"]  # the message shows an example
    with pytest.raises(ValueError, match="not a simple ISO 8601 duration"):
        things_api.parse_simple_duration(value)


def test_a_duration_too_long_for_python_is_a_validation_error():
    with pytest.raises(ValidationError, match="too long"):
        durations.validate_python("P9999999999D")


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (timedelta(days=1, hours=1), "P1DT1H"),
        (timedelta(minutes=10), "PT10M"),
        (timedelta(0), "PT0S"),
        (timedelta(seconds=1.5), "PT1.5S"),
        (timedelta(days=2), "P2DT0H"),
        (timedelta(hours=1, seconds=1), "PT1H1S"),
        (timedelta(microseconds=1), "PT0.000001S"),
        (timedelta(days=3, hours=4, minutes=5, seconds=6, milliseconds=500), "P3DT4H5M6.5S"),
    ],
)
def test_format_and_parse_simple_duration(duration, text):
    assert things_api.format_simple_duration(duration) == text
    assert things_api.parse_simple_duration(text) == duration


def test_parse_reads_days_as_24_hours_and_truncates_nanoseconds():
    assert things_api.parse_simple_duration("PT25H") == timedelta(days=1, hours=1)
    assert things_api.parse_simple_duration("PT0.123456789S") == timedelta(microseconds=123456)


def test_format_refuses_negative_durations():
    with pytest.raises(ValueError, match="negative"):
        things_api.format_simple_duration(timedelta(seconds=-1))


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=999_999)))
def test_format_then_parse_is_the_identity_and_matches_the_spec_pattern(duration):
    text = things_api.format_simple_duration(duration)
    assert things_api.parse_simple_duration(text) == duration
    assert re.fullmatch(SCHEMAS["SimpleDuration"]["pattern"], text)
    assert durations.validate_python(text) == text


# --- payloads, ports, counts ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["00", "0aFF", "DEADbeef"])
def test_hex_payload_accepts_whole_bytes_of_hex(value):
    assert hex_payloads.validate_python(value) == value


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0g", "only the characters 0-9 and a-f"),
        ("0x00", "only the characters 0-9 and a-f"),
        (" 00", "only the characters 0-9 and a-f"),
        ("abc", "odd number of hex digits (3)"),
        ("", "cannot be empty"),
    ],
)
def test_hex_payload_refuses_bad_hex_in_words(value, words):
    with pytest.raises(ValidationError) as caught:
        hex_payloads.validate_python(value)
    assert words in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize("value", ["", "SGVsbG8sIHdvcmxkIQ==", "AAAA", "AA==", "AAA=", "+/+/"])
def test_base64_accepts_padded_standard_base64(value):
    assert base64_strings.validate_python(value) == value


@pytest.mark.parametrize(
    "value", ["SGVsbG8", "AA=", "A===", "AA==AA==", "SGVs bG8=", "SGVs-G8=", "SGVs_G8=", "=AAA"]
)
def test_base64_refuses_bad_padding_and_characters(value):
    with pytest.raises(ValidationError, match="not valid base64"):
        base64_strings.validate_python(value)


@given(st.binary(max_size=300))
def test_any_bytes_encoded_are_valid_payloads(data):
    assert base64_strings.validate_python(base64.b64encode(data).decode()) is not None
    if data:
        assert hex_payloads.validate_python(data.hex()) == data.hex()


def assert_kept_or_refused(adapter: TypeAdapter[Any], value: object, valid: bool) -> None:
    """A valid `value` comes through `adapter` as it is; any other fails its validation."""
    if valid:
        assert adapter.validate_python(value) == value
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


@pytest.mark.parametrize(("value", "valid"), [(0, False), (1, True), (223, True), (224, False)])
def test_fport_is_an_application_port(value, valid):
    assert_kept_or_refused(f_ports, value, valid)


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_neither_ports_nor_counts(value):
    with pytest.raises(ValidationError, match="not true or false"):
        f_ports.validate_python(value)
    with pytest.raises(ValidationError, match="not true or false"):
        retry_limits.validate_python(value)


@pytest.mark.parametrize(("value", "valid"), [(-1, False), (0, True), (5, True)])
def test_retry_limit_is_zero_or_more(value, valid):
    assert_kept_or_refused(retry_limits, value, valid)


# --- read models --------------------------------------------------------------------------------


def test_lora_downlink_parses_the_spec_fields_in_snake_case():
    downlink = things_api.LoraDownlink.model_validate(
        lora_json(lastFailureReason="EVICTED", status="DONE")
    )
    assert str(downlink.id) == "12345678-1234-1234-1234-123456789012"
    assert downlink.message.payload_hex == "0a0b"
    assert downlink.message.f_port == 3
    assert downlink.message.payload_bytes == b"\x0a\x0b"
    assert downlink.retry_limit == 2
    assert downlink.retry_count == 0
    assert downlink.device_id == "imei:350266800610993"
    assert downlink.created_at == datetime(2025, 4, 1, tzinfo=UTC)
    assert downlink.modified_at == datetime(2025, 5, 1, tzinfo=UTC)
    assert downlink.feedback_timeout == "PT25H"
    assert downlink.dry_run is False
    assert downlink.last_failure_reason == "EVICTED"


def test_unknown_status_failure_reason_and_device_id_are_kept():
    body = lora_json(status="ARCHIVED", lastFailureReason="GAMMA_RAYS", deviceId="mac:0011")
    downlink = things_api.LoraDownlink.model_validate(body)
    assert downlink.status == "ARCHIVED"
    assert downlink.last_failure_reason == "GAMMA_RAYS"
    assert downlink.device_id == "mac:0011"


@pytest.mark.parametrize(
    ("status", "reason", "running", "succeeded", "failed"),
    [
        ("PENDING", None, True, False, False),
        ("EXECUTING", None, True, False, False),
        ("DONE", None, False, True, False),
        ("DONE", "CANCELLED", False, False, True),
        ("DONE", "SOMETHING_NEW", False, False, True),
        ("ARCHIVED", None, True, False, False),
    ],
)
def test_running_succeeded_and_failed(status, reason, running, succeeded, failed):
    downlink = things_api.LoraDownlink.model_validate(
        lora_json(status=status, lastFailureReason=reason)
    )
    assert downlink.is_running is running
    assert downlink.succeeded is succeeded
    assert downlink.failed is failed
    assert downlink.is_done is (status == "DONE")
    assert things_api.is_done(status) is (status == "DONE")


def test_read_model_keeps_the_raw_answer_including_unknown_fields():
    body = lora_json(shinyNewField={"a": 1})
    downlink = things_api.LoraDownlink.model_validate(body)
    assert not hasattr(downlink, "shiny_new_field")
    assert downlink.raw == body
    downlink.raw["status"] = "tampered"
    assert downlink.raw["status"] == "PENDING"  # a copy each time
    assert downlink.message.raw == {"payloadHex": "0a0b", "fPort": 3}


def test_a_mapping_changed_after_validation_does_not_change_the_raw_answer():
    """Only JSON the client parsed for the validation is kept without a copy."""
    body = lora_json()
    downlink = things_api.LoraDownlink.model_validate(body)
    body["status"] = "DONE"
    body["message"]["fPort"] = 99

    assert downlink.raw["status"] == "PENDING"
    assert downlink.message.raw["fPort"] == 3


def test_timestamps_without_offset_are_read_as_utc():
    downlink = things_api.LoraDownlink.model_validate(lora_json(createdAt="2025-04-01T12:00:00"))
    assert downlink.created_at == datetime(2025, 4, 1, 12, tzinfo=UTC)


def test_read_model_defaults_for_fields_the_spec_does_not_require():
    body = lora_json()
    for optional in ("retryLimit", "retryCount", "dryRun"):
        del body[optional]
    downlink = things_api.LoraDownlink.model_validate(body)
    assert (downlink.retry_limit, downlink.retry_count, downlink.dry_run) == (0, 0, False)
    assert downlink.last_failure_reason is None


def test_a_downlink_without_an_id_is_not_a_downlink():
    body = lora_json()
    del body["id"]
    with pytest.raises(ValidationError):
        things_api.LoraDownlink.model_validate(body)


def test_mqtt_text_payload_that_looks_like_base64_stays_text():
    message = {"type": "text", "payload": "SGVsbG8=", "topic": "cmd", "qos": "AT_MOST_ONCE"}
    downlink = things_api.MqttDownlink.model_validate(mqtt_json(message))
    assert isinstance(downlink.message, things_api.MqttTextMessage)
    assert downlink.message.payload == "SGVsbG8="
    assert downlink.message.qos == "AT_MOST_ONCE"


def test_mqtt_binary_message_decodes_its_payload():
    message = {"type": "binary", "payload": "SGVsbG8=", "topic": "cmd", "contentType": "x/y"}
    downlink = things_api.MqttDownlink.model_validate(mqtt_json(message))
    assert isinstance(downlink.message, things_api.MqttBinaryMessage)
    assert downlink.message.payload_bytes == b"Hello"
    assert downlink.message.content_type == "x/y"


def test_mqtt_unknown_message_type_and_qos_are_kept():
    message = {"type": "json", "payload": {"reboot": True}, "topic": "cmd", "qos": "EXACTLY_ONCE"}
    downlink = things_api.MqttDownlink.model_validate(mqtt_json(message))
    assert isinstance(downlink.message, things_api.MqttOtherMessage)
    assert downlink.message.type == "json"
    assert downlink.message.payload == {"reboot": True}
    assert downlink.message.qos == "EXACTLY_ONCE"


def test_page_with_and_without_links():
    page = things_api.Page[things_api.LoraDownlink].model_validate(
        {"items": [lora_json()], "next": "https://api.kpnthings.com/lora/downlinks?cursor=abc"}
    )
    assert len(page.items) == 1
    assert isinstance(page.items[0], things_api.LoraDownlink)
    assert page.next == "https://api.kpnthings.com/lora/downlinks?cursor=abc"
    assert page.prev is None
    last = things_api.Page[things_api.LoraDownlink].model_validate(
        {"items": [], "prev": "/lora/downlinks?cursor=p"}
    )
    assert (last.next, last.prev) == (None, "/lora/downlinks?cursor=p")
    with pytest.raises(ValidationError):
        things_api.Page[things_api.LoraDownlink].model_validate({"next": "x"})


def test_problem_keeps_extension_members_and_defaults_type():
    problem = things_api.Problem.model_validate(
        {
            "title": "Conflict",
            "status": 409,
            "detail": "Downlink is DONE",
            "instance": "/lora/downlinks/1",
            "currentStatus": "DONE",
        }
    )
    assert problem.type == "about:blank"
    assert problem.extensions == {"currentStatus": "DONE"}
    assert problem.summary() == "Conflict: Downlink is DONE"


def test_problem_tolerates_malformed_members():
    problem = things_api.Problem.model_validate(
        {"type": 7, "status": "nope", "title": ["x"], "detail": "d"}
    )
    assert (problem.type, problem.status, problem.title, problem.detail) == (
        "about:blank",
        None,
        None,
        "d",
    )
    assert (
        things_api.Problem.model_validate({"status": "409"}).status == 409
    )  # the spec's own example


# --- create models ----------------------------------------------------------------------------


def test_new_lora_downlink_to_wire_is_camel_case_without_read_only_fields():
    new = things_api.NewLoraDownlink(
        device_id="deveui:ea8fa35e2cf3489f",
        message=things_api.NewLoraMessage(payload_hex="0A0b", f_port=1),
        feedback_timeout="PT25H",
        retry_limit=3,
    )
    assert new.to_wire() == {
        "deviceId": "deveui:ea8fa35e2cf3489f",
        "message": {"payloadHex": "0A0b", "fPort": 1},
        "feedbackTimeout": "PT25H",
        "retryLimit": 3,
        "dryRun": False,
    }


def test_new_mqtt_downlink_to_wire_leaves_out_none_values():
    new = things_api.NewMqttDownlink(
        device_id=UUID_TEXT,
        message=things_api.NewMqttTextMessage(
            payload="reboot", topic="cmd", content_type="text/plain"
        ),
        feedback_timeout="PT10M",
        dry_run=True,
    )
    assert new.to_wire() == {
        "deviceId": UUID_TEXT,
        "message": {
            "type": "text",
            "payload": "reboot",
            "topic": "cmd",
            "contentType": "text/plain",
        },
        "feedbackTimeout": "PT10M",
        "dryRun": True,
    }


def test_create_models_accept_wire_names_and_python_names():
    by_alias = things_api.NewLoraDownlink.model_validate(
        {
            "deviceId": UUID_TEXT,
            "message": {"payloadHex": "00", "fPort": 2},
            "feedbackTimeout": "PT10M",
        }
    )
    by_name = things_api.NewLoraDownlink(
        device_id=UUID_TEXT,
        message=things_api.NewLoraMessage(payload_hex="00", f_port=2),
        feedback_timeout="PT10M",
    )
    assert by_alias == by_name


def test_create_models_refuse_unknown_and_read_only_fields():
    with pytest.raises(ValidationError):
        things_api.NewLoraDownlink.model_validate(
            {
                "deviceId": UUID_TEXT,
                "message": {"payloadHex": "00", "fPort": 2},
                "feedbackTimeout": "PT10M",
                "status": "DONE",
            }
        )


def test_create_model_reports_every_bad_field():
    with pytest.raises(ValidationError) as caught:
        things_api.NewLoraDownlink.model_validate(
            {
                "deviceId": "imei:1",
                "message": {"payloadHex": "abc", "fPort": 0},
                "feedbackTimeout": "PT5M",
                "retryLimit": -1,
                "dryRun": "yes",
            }
        )
    fields = {tuple(error["loc"]) for error in caught.value.errors()}
    assert fields == {
        ("deviceId",),
        ("message", "payloadHex"),
        ("message", "fPort"),
        ("feedbackTimeout",),
        ("retryLimit",),
        ("dryRun",),
    }


def test_new_mqtt_message_is_chosen_by_type():
    text = things_api.NewMqttDownlink.model_validate(
        {
            "deviceId": UUID_TEXT,
            "message": {"type": "text", "payload": "not base64 at all!", "topic": "t"},
            "feedbackTimeout": "PT10M",
        }
    )
    assert isinstance(text.message, things_api.NewMqttTextMessage)
    with pytest.raises(ValidationError, match="not valid base64"):
        things_api.NewMqttDownlink.model_validate(
            {
                "deviceId": UUID_TEXT,
                "message": {"type": "binary", "payload": "not base64 at all!", "topic": "t"},
                "feedbackTimeout": "PT10M",
            }
        )
    for bad_type in ({"type": "json"}, {}):
        with pytest.raises(ValidationError):
            things_api.NewMqttDownlink.model_validate(
                {
                    "deviceId": UUID_TEXT,
                    "message": {"payload": "x", "topic": "t", **bad_type},
                    "feedbackTimeout": "PT10M",
                }
            )


def test_new_binary_message_from_bytes():
    message = things_api.NewMqttBinaryMessage.from_bytes(
        b"\x00\xff", topic="cfg", qos="AT_MOST_ONCE"
    )
    assert message.to_wire() == {
        "type": "binary",
        "payload": "AP8=",
        "topic": "cfg",
        "qos": "AT_MOST_ONCE",
    }
    assert things_api.NewLoraMessage.from_bytes(b"\x01\x02", f_port=5).payload_hex == "0102"


@pytest.mark.parametrize("topic", ["", "a/+/b", "a/#"])
def test_mqtt_topic_must_be_publishable(topic):
    with pytest.raises(ValidationError):
        things_api.NewMqttTextMessage(payload="x", topic=topic)


# --- search filters ---------------------------------------------------------------------------


def test_search_filters_to_query_sends_every_filter_as_the_spec_names_it():
    amsterdam = timezone(timedelta(hours=2))
    filters = things_api.SearchFilters(
        device_id="imei:350266800610993",
        created_before=datetime(2025, 5, 1, 2, 0, tzinfo=amsterdam),
        created_since=datetime(2025, 4, 1, tzinfo=UTC),
        modified_before=datetime(2025, 5, 2, 0, 0, 0, 123000, tzinfo=UTC),
        modified_since=datetime(2025, 4, 2, tzinfo=UTC),
        status="EXECUTING",
        sort="createdAt,-modifiedAt",
        limit=20,
        cursor="opaque==",
    )
    assert filters.to_query() == {
        "deviceId": "imei:350266800610993",
        "createdBefore": "2025-05-01T00:00:00Z",
        "createdSince": "2025-04-01T00:00:00Z",
        "modifiedBefore": "2025-05-02T00:00:00.123000Z",
        "modifiedSince": "2025-04-02T00:00:00Z",
        "status": "EXECUTING",
        "sort": "createdAt,-modifiedAt",
        "limit": "20",
        "cursor": "opaque==",
    }


def test_empty_filters_send_nothing():
    assert things_api.SearchFilters().to_query() == {}
    assert things_api.SearchFilters(sort=[], status="", cursor="").to_query() == {}


def test_sort_from_fields_or_text():
    fields = [
        things_api.SortField(field="createdAt"),
        things_api.SortField(field="status", descending=True),
    ]
    assert things_api.SearchFilters(sort=fields).to_query() == {"sort": "createdAt,-status"}
    assert things_api.parse_sort(" createdAt , -status ,") == fields
    with pytest.raises(ValidationError):
        things_api.SortField(field="created at")
    with pytest.raises(ValidationError):
        things_api.SearchFilters(sort="--createdAt")


def test_search_filters_refuse_naive_datetimes_bad_limits_and_bad_device_ids():
    with pytest.raises(ValidationError):
        things_api.SearchFilters(created_since=datetime(2025, 4, 1))
    with pytest.raises(ValidationError):
        things_api.SearchFilters(limit=0)
    with pytest.raises(ValidationError):
        things_api.SearchFilters(limit=True)
    with pytest.raises(ValidationError):
        things_api.SearchFilters(device_id="meter-42")


# --- nothing but ValidationError, whatever comes in ---------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(st.text())
def test_random_strings_raise_nothing_but_validation_error(value):
    for adapter in (device_ids, durations, feedback_timeouts, hex_payloads, base64_strings):
        with contextlib.suppress(ValidationError):
            adapter.validate_python(value)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.uuids().map(str) | json_values,
            "deviceId": st.text() | json_values,
            "message": json_values,
            "feedbackTimeout": st.text(),
            "retryLimit": json_values,
            "status": json_values,
            "createdAt": st.text(),
            "dryRun": json_values,
        },
    )
)
def test_random_json_objects_raise_nothing_but_validation_error(body):
    for model in (
        things_api.NewLoraDownlink,
        things_api.NewMqttDownlink,
        things_api.LoraDownlink,
        things_api.MqttDownlink,
        things_api.SearchFilters,
    ):
        with contextlib.suppress(ValidationError):
            model.model_validate(body)
