"""Validation of create bodies and parameters: every rule, valid and invalid."""

from decimal import Decimal
from typing import Any

import pytest

from simulator.lifecycle import Kind
from simulator.validation import (
    RequestInvalid,
    duration_seconds,
    is_device_id,
    parse_downlink_id,
    parse_forced,
    parse_json_body,
    parse_timestamp_us,
    validate_create,
)
from tests.simulator.conftest import Api, lora_body, mqtt_body


def invalid_names(body: object, kind: Kind = Kind.LORA) -> list[str]:
    with pytest.raises(RequestInvalid) as caught:
        validate_create(kind, body)
    return [param.name for param in caught.value.params]


VALID_DEVICE_IDS = [
    "478a82d4-128f-47a6-aa61-2eac3f2a23ad",
    "478A82D4-128F-47A6-AA61-2EAC3F2A23AD",
    "imei:350266800610993",
    "IMEI:3502668006109931",
    "deveui:ea8fa35e2cf3489f",
    "DevEUI:EA8FA35E2CF3489F",
    "dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f",
    "urn:dev:imei:350266800610993",
    "urn:dev:imei:350266800610993:",
    "URN:DEV:IMEI:3502668006109931",
    "urn:dev:deveui:ea8fa35e2cf3489f",
    "urn:dev:deveui:ea8fa35e2cf3489f:",
    "urn:dev:dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f",
    "urn:dev:dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f:",
]
INVALID_DEVICE_IDS = [
    "",
    "478a82d4128f47a6aa612eac3f2a23ad",  # a UUID without hyphens
    "{478a82d4-128f-47a6-aa61-2eac3f2a23ad}",
    "imei:35026680061099",  # 14 digits
    "imei:35026680061099312",  # 17 digits
    "imei:350266800610993:",  # a trailing colon only in URN forms
    "deveui:ea8fa35e2cf3489",  # 15 hex digits
    "deveui:ga8fa35e2cf3489f",
    "dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979",
    "dvnuuid:ed8b73ac-f48f-4457-8ccc-9926cf28979f:",
    "urn:dev:imei:350266800610993::",
    "urn:dev:mac:0024befffe804ff1",
    "imei:350266800610993\n",
    " imei:350266800610993",
]


@pytest.mark.parametrize("device_id", VALID_DEVICE_IDS)
def test_each_device_id_format_is_accepted(device_id: str) -> None:
    assert is_device_id(device_id)
    assert validate_create(Kind.LORA, lora_body(deviceId=device_id)).device_id == device_id


@pytest.mark.parametrize("device_id", INVALID_DEVICE_IDS)
def test_device_ids_outside_the_formats_are_refused(device_id: str) -> None:
    assert not is_device_id(device_id)
    assert invalid_names(lora_body(deviceId=device_id)) == ["deviceId"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT10M", Decimal(600)),
        ("PT600S", Decimal(600)),
        ("PT25H", Decimal(90000)),
        ("P1D", Decimal(86400)),
        ("P1DT", Decimal(86400)),
        ("P3DT4H5M6.5S", Decimal(3 * 86400 + 4 * 3600 + 5 * 60) + Decimal("6.5")),
        ("PT9M59.999999999S", Decimal("599.999999999")),
        ("PT", Decimal(0)),
    ],
)
def test_simple_durations_are_measured(text: str, seconds: Decimal) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    "text", ["P1W", "P1M", "P1Y", "PT1.5M", "10 minutes", "pt10m", "PT10M ", "P1DT1.0000000001S"]
)
def test_durations_outside_the_subset_are_not_simple(text: str) -> None:
    assert duration_seconds(text) is None


@pytest.mark.parametrize(
    ("timeout", "accepted"),
    [
        ("PT9M59.999S", False),  # just below 10 minutes
        ("PT599S", False),
        ("PT10M", True),  # exactly 10 minutes
        ("PT600S", True),
        ("PT10M0.001S", True),  # just above
        ("P1D", True),
    ],
)
def test_feedback_timeout_must_be_at_least_ten_minutes(timeout: str, accepted: bool) -> None:
    if accepted:
        new = validate_create(Kind.LORA, lora_body(feedbackTimeout=timeout))
        assert new.feedback_timeout == timeout
    else:
        with pytest.raises(RequestInvalid) as caught:
            validate_create(Kind.LORA, lora_body(feedbackTimeout=timeout))
        assert caught.value.params[0].name == "feedbackTimeout"
        assert "at least 10 minutes" in caught.value.params[0].reason


@pytest.mark.parametrize("timeout", ["P1W", "10m", 600, None])
def test_feedback_timeout_must_be_a_simple_duration(timeout: object) -> None:
    assert invalid_names(lora_body(feedbackTimeout=timeout)) == ["feedbackTimeout"]


@pytest.mark.parametrize("missing", ["deviceId", "message", "feedbackTimeout"])
def test_required_fields(missing: str) -> None:
    for kind, body in ((Kind.LORA, lora_body()), (Kind.MQTT, mqtt_body())):
        del body[missing]
        assert invalid_names(body, kind) == [missing]


@pytest.mark.parametrize(
    ("value", "accepted"), [(True, True), (False, True), ("true", False), (1, False), (None, False)]
)
def test_dry_run_must_be_a_boolean(value: object, accepted: bool) -> None:
    if accepted:
        assert validate_create(Kind.MQTT, mqtt_body(dryRun=value)).dry_run is value
    else:
        assert invalid_names(mqtt_body(dryRun=value), Kind.MQTT) == ["dryRun"]


def test_dry_run_defaults_to_false() -> None:
    assert validate_create(Kind.LORA, lora_body()).dry_run is False


@pytest.mark.parametrize(
    ("payload_hex", "accepted"),
    [
        ("00", True),
        ("DEADbeef", True),
        ("", False),
        ("0", False),  # not whole bytes
        ("abc", False),
        ("0x01", False),
        ("zz", False),
        (1, False),
    ],
)
def test_lora_payload_hex(payload_hex: object, accepted: bool) -> None:
    body = lora_body(message={"payloadHex": payload_hex, "fPort": 1})
    if accepted:
        assert validate_create(Kind.LORA, body).payload == bytes.fromhex(str(payload_hex))
    else:
        assert invalid_names(body) == ["message.payloadHex"]


@pytest.mark.parametrize(
    ("port", "accepted"),
    [
        (1, True),
        (223, True),
        (3.0, True),
        (0, False),
        (224, False),
        (-1, False),
        (True, False),
        ("3", False),
        (1.5, False),
        (None, False),
    ],
)
def test_lora_fport_is_an_integer_from_1_to_223(port: object, accepted: bool) -> None:
    body = lora_body(message={"payloadHex": "00", "fPort": port})
    if accepted:
        assert validate_create(Kind.LORA, body).message["fPort"] == port
    else:
        assert invalid_names(body) == ["message.fPort"]


def test_lora_message_fields_are_required() -> None:
    assert invalid_names(lora_body(message={})) == ["message.payloadHex", "message.fPort"]
    assert invalid_names(lora_body(message="0102")) == ["message"]


@pytest.mark.parametrize(
    ("limit", "accepted"),
    [
        (0, True),
        (5, True),
        (2_147_483_647, True),
        (-1, False),
        (True, False),
        (False, False),
        (1.5, False),
        ("3", False),
        (2_147_483_648, False),
    ],
)
def test_retry_limit_is_a_whole_number_of_at_least_zero(limit: object, accepted: bool) -> None:
    if accepted:
        assert validate_create(Kind.LORA, lora_body(retryLimit=limit)).retry_limit == limit
    else:
        assert invalid_names(lora_body(retryLimit=limit)) == ["retryLimit"]


def test_retry_limit_defaults_to_zero() -> None:
    assert validate_create(Kind.LORA, lora_body()).retry_limit == 0


def test_read_only_fields_are_ignored() -> None:
    body = lora_body(
        id="not-ours",
        status="DONE",
        createdAt="x",
        modifiedAt="y",
        retryCount=9,
        lastFailureReason="EVICTED",
    )
    new = validate_create(Kind.LORA, body)
    assert new.message == {"payloadHex": "0102", "fPort": 3}


def test_every_wrong_field_is_named_at_once() -> None:
    body = {
        "deviceId": "nope",
        "message": {"payloadHex": "0", "fPort": 0},
        "feedbackTimeout": "PT1M",
    }
    assert invalid_names(body) == [
        "deviceId",
        "feedbackTimeout",
        "message.payloadHex",
        "message.fPort",
    ]


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_the_body_must_be_an_object(body: object) -> None:
    assert invalid_names(body) == ["body"]
    assert invalid_names(body, Kind.MQTT) == ["body"]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "text", "payload": "hello", "topic": "t"},
        {"type": "text", "payload": "", "topic": ""},
        {"type": "binary", "payload": "SGVsbG8sIHdvcmxkIQ==", "topic": "t"},
        {"type": "binary", "payload": "", "topic": "t"},
        {
            "type": "text",
            "payload": "x",
            "topic": "t",
            "contentType": "text/plain",
            "qos": "AT_MOST_ONCE",
        },
        {"type": "text", "payload": "x", "topic": "t", "qos": "EXACTLY_ONCE_SOMEDAY"},  # open set
    ],
)
def test_valid_mqtt_messages(message: dict[str, Any]) -> None:
    new = validate_create(Kind.MQTT, mqtt_body(message=message))
    assert new.message["payload"] == message["payload"]
    assert new.message["qos"] == message.get("qos", "AT_MOST_ONCE")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"payload": "x", "topic": "t"}, "message.type"),
        ({"type": "json", "payload": "x", "topic": "t"}, "message.type"),
        ({"type": "text", "topic": "t"}, "message.payload"),
        ({"type": "text", "payload": 3, "topic": "t"}, "message.payload"),
        ({"type": "binary", "payload": "SGVsbG8", "topic": "t"}, "message.payload"),
        ({"type": "binary", "payload": "not base64!", "topic": "t"}, "message.payload"),
        ({"type": "text", "payload": "x"}, "message.topic"),
        ({"type": "text", "payload": "x", "topic": 1}, "message.topic"),
        ({"type": "text", "payload": "x", "topic": "t", "contentType": 1}, "message.contentType"),
        ({"type": "text", "payload": "x", "topic": "t", "qos": None}, "message.qos"),
    ],
)
def test_invalid_mqtt_messages_name_the_field(message: dict[str, Any], field: str) -> None:
    assert invalid_names(mqtt_body(message=message), Kind.MQTT) == [field]


def test_binary_payload_is_decoded_for_markers() -> None:
    new = validate_create(
        Kind.MQTT, mqtt_body(message={"type": "binary", "payload": "AAEC", "topic": "t"})
    )
    assert new.payload == b"\x00\x01\x02"


@pytest.mark.parametrize(
    ("text", "expected_us"),
    [
        ("2025-04-01T00:00:00Z", 1_743_465_600_000_000),
        ("2025-04-01T02:00:00+02:00", 1_743_465_600_000_000),
        ("2025-04-01T00:00:00.123456Z", 1_743_465_600_123_456),
    ],
)
def test_timestamps_with_an_offset(text: str, expected_us: int) -> None:
    assert parse_timestamp_us("createdSince", text) == expected_us


@pytest.mark.parametrize("text", ["2025-04-01T00:00:00", "2025-04-01", "yesterday", ""])
def test_timestamps_without_a_zone_or_garbled_are_refused(text: str) -> None:
    with pytest.raises(RequestInvalid) as caught:
        parse_timestamp_us("modifiedBefore", text)
    assert caught.value.params[0].name == "modifiedBefore"


def test_forced_is_true_or_false() -> None:
    assert parse_forced(None) is False
    assert parse_forced("true") is True
    assert parse_forced("false") is False
    for text in ("yes", "1", "", "TRUE"):
        with pytest.raises(RequestInvalid):
            parse_forced(text)


def test_downlink_ids_are_uuids() -> None:
    assert parse_downlink_id("478A82D4-128F-47A6-AA61-2EAC3F2A23AD") == (
        "478a82d4-128f-47a6-aa61-2eac3f2a23ad"
    )
    with pytest.raises(RequestInvalid):
        parse_downlink_id("12")


@pytest.mark.parametrize("raw", [b"", b"{", b"NaN", b'{"a": Infinity}', b"\xff"])
def test_bodies_that_are_not_json(raw: bytes) -> None:
    with pytest.raises(RequestInvalid) as caught:
        parse_json_body(raw)
    assert caught.value.params[0].name == "body"


# --- Over the API --------------------------------------------------------------------------


def test_an_invalid_create_is_a_problem_naming_the_field(api: Api) -> None:
    response = api.post(
        "/lora/downlinks", json=lora_body(message={"payloadHex": "01", "fPort": 300})
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400
    assert problem["instance"] == "/lora/downlinks"
    assert problem["invalidParams"] == [
        {"name": "message.fPort", "reason": "must be an integer from 1 to 223"}
    ]
    assert "message.fPort" in problem["detail"]
    assert api.get("/lora/downlinks").get_json()["items"] == []


def test_a_non_json_body_is_a_400(api: Api) -> None:
    response = api.post("/mqtt/downlinks", data="deviceId=x", content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "body"


def test_a_create_answers_201_with_defaults_and_a_location(api: Api) -> None:
    response = api.post("/lora/downlinks", json=lora_body(id="mine", status="DONE"))
    assert response.status_code == 201
    created = response.get_json()
    assert created["id"] != "mine"
    assert created["status"] == "PENDING"
    assert created["retryLimit"] == 0
    assert created["retryCount"] == 0
    assert created["dryRun"] is False
    assert "lastFailureReason" not in created
    assert created["createdAt"] == "2025-04-01T00:00:00.000Z"
    assert created["modifiedAt"] == created["createdAt"]
    assert response.headers["Location"] == f"http://localhost/lora/downlinks/{created['id']}"
    assert api.read("lora", created["id"]) == created


def test_an_oversized_body_is_a_413_problem(api: Api) -> None:
    response = api.post(
        "/mqtt/downlinks", data=b"{" + b" " * (1024 * 1024) + b"}", content_type="application/json"
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_an_mqtt_create_has_no_lora_fields(api: Api) -> None:
    created = api.create("mqtt", mqtt_body())
    assert "retryLimit" not in created
    assert "retryCount" not in created
    assert created["message"] == {
        "type": "text",
        "payload": "reboot",
        "topic": "commands",
        "qos": "AT_MOST_ONCE",
    }


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [("/lora/downlink", "GET", 404), ("/lora/downlinks", "PUT", 405), ("/things", "GET", 404)],
)
def test_unknown_paths_and_methods_are_problems(
    api: Api, path: str, method: str, status: int
) -> None:
    response = api.client.open(path, method=method, headers=api.headers())
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    if status == 405:
        assert response.headers["Allow"] == "GET, HEAD, POST"


def test_a_malformed_downlink_id_is_a_400(api: Api) -> None:
    response = api.get("/mqtt/downlinks/not-a-uuid")
    assert response.status_code == 400
    assert response.get_json()["invalidParams"][0]["name"] == "downlinkId"
