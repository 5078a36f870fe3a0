"""Hand-written validation of requests, with messages in words that name the field.

The rules are the specs' schemas, plus the constraints their descriptions state in prose
(a feedback timeout of at least 10 minutes, whole bytes of hex) and LoRaWAN's port range.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from simulator.lifecycle import Kind

MAX_INT32 = 2_147_483_647
MIN_FEEDBACK_TIMEOUT_SECONDS = Decimal(600)
MIN_FPORT, MAX_FPORT = 1, 223

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# The seven device-id formats of the specs (their patterns start with (?i): case-insensitive).
DEVICE_ID_FORMATS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE | re.ASCII)
    for name, pattern in {
        "uuid": _UUID,
        "imei": r"imei:[0-9]{15,16}",
        "deveui": r"deveui:[0-9a-f]{16}",
        "dvnuuid": rf"dvnuuid:{_UUID}",
        "urn-imei": r"urn:dev:imei:[0-9]{15,16}:?",
        "urn-deveui": r"urn:dev:deveui:[0-9a-f]{16}:?",
        "urn-dvnuuid": rf"urn:dev:dvnuuid:{_UUID}:?",
    }.items()
}
DEVICE_ID_RULE = (
    "must be a device id in one of the supported formats: a UUID, imei:<15 or 16 digits>, "
    "deveui:<16 hex digits>, dvnuuid:<UUID>, or the URN forms urn:dev:imei:…, "
    "urn:dev:deveui:… and urn:dev:dvnuuid:…"
)
# The spec's SimpleDuration pattern, with ASCII digits only.
_SIMPLE_DURATION = re.compile(
    r"P(?:([0-9]+)D(?:T([0-9]+H)?([0-9]+M)?([0-9]+(?:\.[0-9]{1,9})?S)?)?"
    r"|T([0-9]+H)?([0-9]+M)?([0-9]+(?:\.[0-9]{1,9})?S)?)"
)
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX = re.compile(r"[0-9a-fA-F]+")
UUID_PATTERN = re.compile(_UUID, re.IGNORECASE | re.ASCII)
MQTT_MESSAGE_TYPES = ("text", "binary")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class InvalidParam:
    """One thing wrong with a request: the field (dotted path or parameter name) and why."""

    name: str
    reason: str

    def sentence(self) -> str:
        return f"{self.name} {self.reason}"


class RequestInvalid(Exception):
    """The request breaks one or more rules; answered with a 400 Problem."""

    def __init__(self, params: list[InvalidParam]) -> None:
        self.params = params
        super().__init__(self.detail)

    @classmethod
    def single(cls, name: str, reason: str) -> "RequestInvalid":
        return cls([InvalidParam(name, reason)])

    @property
    def detail(self) -> str:
        return "; ".join(param.sentence() for param in self.params) + "."


def is_device_id(value: str) -> bool:
    return any(pattern.fullmatch(value) for pattern in DEVICE_ID_FORMATS.values())


def duration_seconds(text: str) -> Decimal | None:
    """The length of a SimpleDuration (days are 24 hours), or None if `text` is not one."""
    match = _SIMPLE_DURATION.fullmatch(text)
    if match is None:
        return None
    days, hours_t, minutes_t, seconds_t, hours, minutes, seconds = match.groups()
    hours, minutes, seconds = hours_t or hours, minutes_t or minutes, seconds_t or seconds
    total = Decimal(days or 0) * 86400
    total += Decimal(hours[:-1]) * 3600 if hours else 0
    total += Decimal(minutes[:-1]) * 60 if minutes else 0
    total += Decimal(seconds[:-1]) if seconds else 0
    return total


def _as_int(value: object) -> int | None:
    """`value` as an integer in the JSON Schema sense (3 and 3.0; never a boolean)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(raw: bytes) -> Any:
    """The JSON document in a request body (strict: no NaN or Infinity)."""
    if not raw.strip():
        raise RequestInvalid.single("body", "is required: send a JSON object")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise RequestInvalid.single("body", "is not valid JSON") from None


@dataclass(frozen=True)
class NewDownlink:
    """A valid create request, with defaults filled in and read-only fields dropped."""

    kind: Kind
    device_id: str
    message: dict[str, object]
    feedback_timeout: str
    dry_run: bool
    retry_limit: int | None
    payload: bytes  # the bytes the device would receive; markers are looked for in them


class _Collector:
    def __init__(self) -> None:
        self.params: list[InvalidParam] = []

    def add(self, name: str, reason: str) -> None:
        self.params.append(InvalidParam(name, reason))

    def raise_if_any(self) -> None:
        if self.params:
            raise RequestInvalid(self.params)


def _required_string(
    fields: dict[str, Any],
    key: str,
    errors: _Collector,
    *,
    within: str = "",
    wrong_type: str = "must be a string",
) -> str | None:
    """`fields[key]` if it is a string; else None, with what is wrong named `within` + `key`."""
    if key not in fields:
        errors.add(within + key, "is required")
        return None
    value = fields[key]
    if not isinstance(value, str):
        errors.add(within + key, wrong_type)
        return None
    return value


def _common_fields(body: dict[str, Any], errors: _Collector) -> tuple[str, str, bool]:
    device_id = _required_string(body, "deviceId", errors)
    if device_id is not None and not is_device_id(device_id):
        errors.add("deviceId", DEVICE_ID_RULE)

    timeout = _required_string(
        body,
        "feedbackTimeout",
        errors,
        wrong_type="must be a string holding a duration, such as PT25H",
    )
    if timeout is not None:
        seconds = duration_seconds(timeout)
        if seconds is None:
            errors.add(
                "feedbackTimeout",
                "must be a duration of days, hours, minutes and seconds only, "
                "such as PT10M, PT25H or P3DT4H5M6.5S",
            )
        elif seconds < MIN_FEEDBACK_TIMEOUT_SECONDS:
            errors.add("feedbackTimeout", "must be at least 10 minutes (PT10M)")

    dry_run = body.get("dryRun", False)
    if not isinstance(dry_run, bool):
        errors.add("dryRun", "must be true or false")
    return device_id or "", timeout or "", dry_run is True


def _message_object(body: dict[str, Any], errors: _Collector) -> dict[str, Any] | None:
    if "message" not in body:
        errors.add("message", "is required")
        return None
    message = body["message"]
    if not isinstance(message, dict):
        errors.add("message", "must be an object")
        return None
    return message


def validate_create(kind: Kind, body: object) -> NewDownlink:
    """A create request of `kind`, or RequestInvalid naming every field that is wrong."""
    if not isinstance(body, dict):
        raise RequestInvalid.single("body", "must be a JSON object")
    errors = _Collector()
    device_id, timeout, dry_run = _common_fields(body, errors)
    message = _message_object(body, errors)
    normalized: dict[str, object] = {}
    payload = b""
    if message is not None:
        message_fields = _lora_message if kind is Kind.LORA else _mqtt_message
        normalized, payload = message_fields(message, errors)
    retry_limit = _retry_limit(body, errors) if kind is Kind.LORA else None
    errors.raise_if_any()
    return NewDownlink(
        kind=kind,
        device_id=device_id,
        message=normalized,
        feedback_timeout=timeout,
        dry_run=dry_run,
        retry_limit=retry_limit,
        payload=payload,
    )


def _lora_message(message: dict[str, Any], errors: _Collector) -> tuple[dict[str, object], bytes]:
    """A LoRa message as stored, and the bytes the device would receive."""
    payload_hex, payload, f_port = "", b"", 0
    raw_hex = _required_string(
        message,
        "payloadHex",
        errors,
        within="message.",
        wrong_type="must be a string of hex digits",
    )
    if raw_hex is not None:
        if not raw_hex:
            errors.add("message.payloadHex", "must not be empty")
        elif not _HEX.fullmatch(raw_hex):
            errors.add("message.payloadHex", "must contain only hex digits (0-9, a-f, A-F)")
        elif len(raw_hex) % 2:
            errors.add("message.payloadHex", "must have an even number of hex digits (whole bytes)")
        else:
            payload_hex = raw_hex
            payload = bytes.fromhex(raw_hex)
    port = _as_int(message.get("fPort"))
    if "fPort" not in message:
        errors.add("message.fPort", "is required")
    elif port is None or not MIN_FPORT <= port <= MAX_FPORT:
        errors.add("message.fPort", f"must be an integer from {MIN_FPORT} to {MAX_FPORT}")
    else:
        f_port = port
    return {"payloadHex": payload_hex, "fPort": f_port}, payload


def _retry_limit(body: dict[str, Any], errors: _Collector) -> int:
    """A LoRa create's retryLimit; 0 when absent."""
    if "retryLimit" not in body:
        return 0
    limit = _as_int(body["retryLimit"])
    if limit is None:
        errors.add("retryLimit", "must be a whole number (0 or more)")
    elif limit < 0:
        errors.add("retryLimit", "must be 0 or more")
    elif limit > MAX_INT32:
        errors.add("retryLimit", f"must be at most {MAX_INT32}")
    else:
        return limit
    return 0


def _optional_string(message: dict[str, Any], name: str, errors: _Collector) -> str | None:
    if name not in message:
        return None
    value = message[name]
    if not isinstance(value, str):
        errors.add(f"message.{name}", "must be a string")
        return None
    return value


def _mqtt_message(message: dict[str, Any], errors: _Collector) -> tuple[dict[str, object], bytes]:
    """An MQTT message as stored (qos defaulted), and the bytes the device would receive."""
    payload = b""
    message_type = message.get("type")
    if "type" not in message:
        errors.add("message.type", 'is required: "text" or "binary"')
    elif message_type not in MQTT_MESSAGE_TYPES:
        errors.add("message.type", 'must be "text" or "binary"')
    raw_payload = _required_string(message, "payload", errors, within="message.")
    if raw_payload is not None and message_type == "binary":
        if not _BASE64.fullmatch(raw_payload):
            errors.add(
                "message.payload",
                "must be base64 for a binary message (A-Z, a-z, 0-9, + and /, "
                "padded with = to a multiple of 4 characters)",
            )
        else:
            try:
                payload = base64.b64decode(raw_payload, validate=True)
            except binascii.Error:
                errors.add("message.payload", "must be base64 for a binary message")
    elif raw_payload is not None and message_type == "text":
        try:
            payload = raw_payload.encode("utf-8")
        except UnicodeEncodeError:
            errors.add("message.payload", "must be valid Unicode text")
    topic = _required_string(message, "topic", errors, within="message.")
    content_type = _optional_string(message, "contentType", errors)
    qos = _optional_string(message, "qos", errors)
    normalized: dict[str, object] = {"type": message_type, "payload": raw_payload, "topic": topic}
    if content_type is not None:
        normalized["contentType"] = content_type
    normalized["qos"] = qos if qos is not None else "AT_MOST_ONCE"
    for name in ("message.topic", "message.contentType", "message.qos"):
        value = normalized.get(name.removeprefix("message."))
        if isinstance(value, str) and _has_lone_surrogate(value):
            errors.add(name, "must be valid Unicode text")
    return normalized, payload


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# --- Parameters ------------------------------------------------------------------------------


def parse_timestamp_us(name: str, text: str) -> int:
    """An ISO 8601 date-time with an offset or Z, as microseconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RequestInvalid.single(
            name, "must be an ISO 8601 date-time such as 2025-04-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RequestInvalid.single(
            name, "must include a time zone: end it with Z or an offset such as +02:00"
        )
    return (moment - _EPOCH) // timedelta(microseconds=1)


def parse_forced(text: str | None) -> bool:
    if text is None:
        return False
    if text in ("true", "false"):
        return text == "true"
    raise RequestInvalid.single("forced", "must be true or false")


def parse_downlink_id(text: str) -> str:
    if not UUID_PATTERN.fullmatch(text):
        raise RequestInvalid.single("downlinkId", "must be a UUID, such as the id of a downlink")
    return text.lower()
