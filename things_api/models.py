"""Pydantic models of the Things MQTT and LoRa Downlinks APIs, field by field from the specs.

Names are snake_case in Python and camelCase on the wire. Two families:

- READ models (`LoraDownlink`, `MqttDownlink`, `Page`, `Problem`) parse what the API returns.
  They are lenient wherever the API could surprise us (a device id in a new format, a status or
  failure reason nobody told us about, extra fields), so that showing a list never crashes, and
  each keeps the raw JSON object it was parsed from (`.raw`) for the "raw answer" view.
- CREATE models (`NewLoraDownlink`, `NewMqttDownlink`) check everything the specs say (and a
  little more, each time with a comment) before anything is sent; their error messages are in
  words that can be shown on a form field.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StrictBool,
    Tag,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# --------------------------------------------------------------------------------------------
# Device ids
# --------------------------------------------------------------------------------------------


class DeviceIdFormat(StrEnum):
    """The seven device id formats the specs accept."""

    UUID = "uuid"
    IMEI = "imei"
    DEVEUI = "deveui"
    DVNUUID = "dvnuuid"
    URN_IMEI = "urn:dev:imei"
    URN_DEVEUI = "urn:dev:deveui"
    URN_DVNUUID = "urn:dev:dvnuuid"


# The spec patterns, made explicit: `(?i)` makes prefixes AND hex digits case-insensitive,
# `[0-9]` instead of `\d` (Python's `\d` also matches non-ASCII digits), and `fullmatch` instead
# of `^...$` (Python's `$` also matches before a trailing newline). The spec's dvnuuid pattern
# ends in `{12}?$`, a lazy quantifier that still means exactly 12 hex digits.
_UUID = r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}"
_DEVICE_ID_PATTERNS: Final[dict[DeviceIdFormat, re.Pattern[str]]] = {
    DeviceIdFormat.UUID: re.compile(_UUID, re.IGNORECASE),
    DeviceIdFormat.IMEI: re.compile(r"imei:[0-9]{15,16}", re.IGNORECASE),
    DeviceIdFormat.DEVEUI: re.compile(r"deveui:[0-9a-f]{16}", re.IGNORECASE),
    DeviceIdFormat.DVNUUID: re.compile(rf"dvnuuid:{_UUID}", re.IGNORECASE),
    DeviceIdFormat.URN_IMEI: re.compile(r"urn:dev:imei:[0-9]{15,16}:?", re.IGNORECASE),
    DeviceIdFormat.URN_DEVEUI: re.compile(r"urn:dev:deveui:[0-9a-f]{16}:?", re.IGNORECASE),
    DeviceIdFormat.URN_DVNUUID: re.compile(rf"urn:dev:dvnuuid:{_UUID}:?", re.IGNORECASE),
}

DEVICE_ID_FORMATS_IN_WORDS: Final = (
    "a UUID (like 478a82d4-128f-47a6-aa61-2eac3f2a23ad), "
    "imei: followed by 15 or 16 digits, "
    "deveui: followed by 16 hexadecimal characters, "
    "dvnuuid: followed by a UUID, "
    "or the same three as a URN: urn:dev:imei:…, urn:dev:deveui:… or urn:dev:dvnuuid:… "
    "(optionally ending in a colon)"
)

# What must follow a recognised prefix, for a precise message.
_AFTER_PREFIX_IN_WORDS: Final[dict[str, str]] = {
    "urn:dev:imei:": "15 or 16 digits",
    "urn:dev:deveui:": "16 hexadecimal characters (0-9, a-f)",
    "urn:dev:dvnuuid:": "a UUID (8-4-4-4-12 hexadecimal characters)",
    "imei:": "15 or 16 digits",
    "deveui:": "16 hexadecimal characters (0-9, a-f)",
    "dvnuuid:": "a UUID (8-4-4-4-12 hexadecimal characters)",
}


def device_id_format(value: str) -> DeviceIdFormat | None:
    """Which of the seven formats `value` is in, or None if it is in none of them."""
    for id_format, pattern in _DEVICE_ID_PATTERNS.items():
        if pattern.fullmatch(value):
            return id_format
    return None


def same_device_key(value: str) -> str:
    """One spelling for the forms that name the same device: lower case, without the URN
    prefix and its optional trailing colon (`urn:dev:deveui:AB…:` and `deveui:ab…` agree)."""
    key = value.strip().lower()
    if key.startswith("urn:dev:"):
        key = key.removeprefix("urn:dev:").removesuffix(":")
    return key


# How the kind of a prefixed id is worth spelling when asking an exact matcher: as the spec
# writes it, in capitals, and DevEUI as LoRaWAN writes it. After urn:dev: only the first two
# (urn:dev:DEVEUI:…: is common; a camel-cased or capitalised urn:dev: part is not worth a call).
_KIND_SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    "imei": ("imei", "IMEI"),
    "deveui": ("deveui", "DEVEUI", "DevEUI"),
    "dvnuuid": ("dvnuuid", "DVNUUID"),
}
_URN_KIND_SPELLINGS: Final[dict[str, tuple[str, ...]]] = {
    kind: spellings[:2] for kind, spellings in _KIND_SPELLINGS.items()
}
_HEX_KINDS: Final = frozenset({"deveui", "dvnuuid"})


def equivalent_device_ids(device_id: str) -> tuple[str, ...]:
    """The spellings of `device_id` under which the API may hold the same device, `device_id`
    itself first: the short and the URN form (with and without its trailing colon), the kind
    in lower case and in capitals (and DevEUI), the hex digits of an EUI or UUID in lower case
    and in capitals. At most 15 (a DevEUI in a spelling of its own: 14 and itself).

    The API stores an id as it was sent and matches `deviceId` exactly, so every spelling is
    a search of its own; mixed-case hex other than what was typed is not guessed. Raises
    ValueError if `device_id` is in none of the seven formats.
    """
    id_format = device_id_format(device_id)
    if id_format is None:
        raise ValueError(f"not a device id: {device_id!r}")
    key = same_device_key(device_id)
    if id_format is DeviceIdFormat.UUID:
        return tuple(dict.fromkeys((device_id, key, key.upper())))
    kind, _, body = key.partition(":")
    bodies = (body, body.upper()) if kind in _HEX_KINDS else (body,)
    spellings = [device_id]
    spellings += [f"{word}:{digits}" for word in _KIND_SPELLINGS[kind] for digits in bodies]
    spellings += [
        f"urn:dev:{word}:{digits}{end}"
        for word in _URN_KIND_SPELLINGS[kind]
        for digits in bodies
        for end in ("", ":")
    ]
    return tuple(dict.fromkeys(spellings))


_BARE_IMEI = re.compile(r"[0-9]{15}")
# 16 hex digits, alone or as 8 pairs between dashes, colons or spaces (as EUIs are printed).
_BARE_EUI = re.compile(
    r"[0-9a-f]{16}|[0-9a-f]{2}([-: ])[0-9a-f]{2}(?:\1[0-9a-f]{2}){6}", re.IGNORECASE
)


def suggest_device_ids(text: str) -> tuple[str, ...]:
    """The device ids a bare EUI or IMEI most likely stands for, best first: 16 hex digits →
    deveui:…, 15 digits → imei:…, 16 decimal digits → deveui:… or imei:… (an IMEISV). Empty
    for anything else."""
    value = text.strip()
    if _BARE_IMEI.fullmatch(value):
        return (f"imei:{value}",)
    if not _BARE_EUI.fullmatch(value):
        return ()
    digits = re.sub(r"[-: ]", "", value)
    if re.fullmatch(r"[0-9]{16}", digits):
        return (f"deveui:{digits}", f"imei:{digits}")
    return (f"deveui:{digits}",)


DEVICE_ID_FORMATS_BRIEFLY: Final = "imei:…, deveui:…, dvnuuid:… (each also as urn:dev:…) or a UUID"


def device_id_problem(value: str) -> str | None:
    """What is wrong with `value` as a device id, in one short sentence; None if nothing."""
    if device_id_format(value) is not None:
        return None
    if suggest_device_ids(value):
        return "A device id starts with its kind, such as deveui: or imei:."
    lowered = value.lower()
    for prefix, expected in _AFTER_PREFIX_IN_WORDS.items():
        if lowered.startswith(prefix):
            return f"After {value[: len(prefix)]} come {expected}."
    return f"Use {DEVICE_ID_FORMATS_BRIEFLY}."


def _check_device_id(value: str) -> str:
    if device_id_format(value) is not None:
        return value
    lowered = value.lower()
    for prefix, expected in _AFTER_PREFIX_IN_WORDS.items():
        if lowered.startswith(prefix):
            raise PydanticCustomError(
                "device_id",
                "A device id starting with {prefix} must continue with {expected}.",
                {"prefix": value[: len(prefix)], "expected": expected},
            )
    raise PydanticCustomError(
        "device_id",
        "This is not a device id. Use {formats}.",
        {"formats": DEVICE_ID_FORMATS_IN_WORDS},
    )


DeviceId = Annotated[str, AfterValidator(_check_device_id)]
"""A device id in one of the seven formats; kept exactly as given (case included)."""


# --------------------------------------------------------------------------------------------
# Durations
# --------------------------------------------------------------------------------------------

# The spec's SimpleDuration pattern, with `[0-9]` for `\d`. Groups: days, hours, minutes, seconds.
# Two deliberate differences, both so that what we send is valid ISO 8601 AND matches the spec:
# - the spec accepts "PT" and "P1DT" (a "T" with nothing after it), which ISO 8601 forbids
#   and which mean nothing; we reject them;
# - the spec REJECTS "P1D" (after days its pattern requires a "T"), although its description
#   says days may be given; we accept "P1D" and normalise it to "P1DT0H", which it accepts.
_SIMPLE_DURATION = re.compile(
    r"P(?:(?P<days>[0-9]+)D)?"
    r"(?:T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?(?:(?P<seconds>[0-9]+(?:\.[0-9]{1,9})?)S)?)?"
)

SIMPLE_DURATION_IN_WORDS: Final = (
    "an ISO 8601 duration with days, hours, minutes and seconds only, "
    "like PT10M (10 minutes), PT25H (25 hours) or P3DT4H5M6.5S"
)

MIN_FEEDBACK_TIMEOUT: Final = timedelta(minutes=10)


def _duration_error() -> PydanticCustomError:
    return PydanticCustomError(
        "simple_duration",
        "This is not a duration the Things API accepts. Use {expected}.",
        {"expected": SIMPLE_DURATION_IN_WORDS},
    )


def _match_simple_duration(value: str) -> re.Match[str] | None:
    match = _SIMPLE_DURATION.fullmatch(value)
    if match is None:
        return None
    if value.endswith("T") or not any(match.group("days", "hours", "minutes", "seconds")):
        return None  # "P", "PT", "P1DT": no amount after a designator.
    return match


def parse_simple_duration(value: str) -> timedelta:
    """Turn a SimpleDuration ("P1DT1H", "PT10M", "PT6.5S") into a timedelta.

    Days are exactly 24 hours (as the spec says). Seconds beyond microseconds are truncated.
    Raises ValueError for anything else (including durations too long for a timedelta).
    """
    match = _match_simple_duration(value)
    if match is None:
        raise ValueError(f"not a simple ISO 8601 duration: {value!r}")
    days, hours, minutes, seconds = (
        match.group(g) for g in ("days", "hours", "minutes", "seconds")
    )
    exact_seconds = Decimal(seconds or 0)
    whole_seconds = int(exact_seconds)
    microseconds = int((exact_seconds - whole_seconds) * 1_000_000)
    try:
        return timedelta(
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=whole_seconds,
            microseconds=microseconds,
        )
    except OverflowError as exc:
        raise ValueError(f"duration too long: {value!r}") from exc


def format_simple_duration(duration: timedelta) -> str:
    """The SimpleDuration of a timedelta: 1 day 1 hour → "P1DT1H", 10 minutes → "PT10M".

    Whole days are written as days, and always with a time part ("P2DT0H", not "P2D"), because
    the spec's pattern requires a "T" after days. Zero is "PT0S". Negative durations raise.
    """
    if duration < timedelta(0):
        raise ValueError("a duration cannot be negative")
    days = duration.days
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or duration.microseconds:
        if duration.microseconds:
            fraction = f"{duration.microseconds:06d}".rstrip("0")
            time_part += f"{seconds}.{fraction}S"
        else:
            time_part += f"{seconds}S"
    if days:
        return f"P{days}DT{time_part or '0H'}"
    return f"PT{time_part or '0S'}"


def _check_simple_duration(value: str) -> str:
    match = _match_simple_duration(value)
    if match is None:
        raise _duration_error()
    try:
        parse_simple_duration(value)
    except ValueError:
        raise PydanticCustomError(
            "simple_duration_too_long", "This duration is too long."
        ) from None
    if "T" not in value:
        return f"{value}T0H"  # "P1D" → "P1DT0H"; see the comment on _SIMPLE_DURATION.
    return value


def _check_feedback_timeout(value: str) -> str:
    if parse_simple_duration(value) < MIN_FEEDBACK_TIMEOUT:
        raise PydanticCustomError(
            "feedback_timeout_too_short",
            "The feedback timeout must be at least 10 minutes (PT10M).",
        )
    return value


SimpleDuration = Annotated[str, AfterValidator(_check_simple_duration)]
"""A duration of days, hours, minutes and seconds (up to 9 decimals) in ISO 8601."""

FeedbackTimeout = Annotated[SimpleDuration, AfterValidator(_check_feedback_timeout)]
"""A SimpleDuration of at least 10 minutes (exactly 10 minutes is valid)."""


# --------------------------------------------------------------------------------------------
# Payloads, ports, counts
# --------------------------------------------------------------------------------------------

BASE64_ALPHABET: Final = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
"""The 64 characters of standard base64 (A-Z, a-z, 0-9, + and /); "=" only pads it at the end."""
HEX_DIGITS: Final = string.hexdigits
"""The characters of hexadecimal, in either case: 0-9, a-f and A-F."""

# The spec's Base64String pattern (standard alphabet, padded). It also matches "" (no bytes).
_BASE64_CHAR = f"[{re.escape(BASE64_ALPHABET)}]"
_BASE64 = re.compile(rf"(?:{_BASE64_CHAR}{{4}})*(?:{_BASE64_CHAR}{{2}}==|{_BASE64_CHAR}{{3}}=)?")
_HEX = re.compile(f"[{HEX_DIGITS}]+")


def is_base64(value: str) -> bool:
    """Whether `value` is padded standard base64, as the spec's Base64String pattern says
    ("" is: no bytes). What matches always decodes."""
    return _BASE64.fullmatch(value) is not None


def _check_base64(value: str) -> str:
    if not is_base64(value):
        raise PydanticCustomError(
            "base64",
            "This is not valid base64: use only A-Z, a-z, 0-9, + and /, in groups of four "
            "characters, padded with = at the end.",
        )
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:  # pragma: no cover - the pattern already guarantees decodability
        raise PydanticCustomError("base64", "This base64 text cannot be decoded.") from None
    return value


def _check_hex_payload(value: str) -> str:
    # The spec's pattern (^[0-9a-fA-F]+$) allows an odd number of digits, but an odd number of
    # hex digits is not a whole number of bytes, so we refuse it rather than let the platform
    # guess how to pad it.
    if not value:
        raise PydanticCustomError("hex_payload", "The payload cannot be empty.")
    if not _HEX.fullmatch(value):
        raise PydanticCustomError(
            "hex_payload",
            "The payload must be hexadecimal: only the characters 0-9 and a-f (or A-F).",
        )
    if len(value) % 2:
        raise PydanticCustomError(
            "hex_payload",
            "The payload has an odd number of hex digits ({digits}); every byte takes exactly two.",
            {"digits": len(value)},
        )
    return value


def _refuse_bool(value: Any) -> Any:
    # pydantic's lax mode would accept True as 1; a boolean is never a port or a count.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Enter a whole number, not true or false.")
    return value


Base64String = Annotated[str, AfterValidator(_check_base64)]
"""Padded standard base64, as the spec's Base64String pattern says (may be empty)."""

HexPayload = Annotated[str, AfterValidator(_check_hex_payload)]
"""Non-empty hex of an even length (whole bytes)."""

# The spec only says "integer". LoRaWAN application ports are 1..223: 0 carries MAC commands
# and 224..255 are reserved (224 is the test port), so nothing else can carry a downlink's data.
MIN_F_PORT: Final = 1
MAX_F_PORT: Final = 223
FPort = Annotated[int, BeforeValidator(_refuse_bool), Field(ge=MIN_F_PORT, le=MAX_F_PORT)]

MIN_RETRY_LIMIT: Final = 0
RetryLimit = Annotated[int, BeforeValidator(_refuse_bool), Field(ge=MIN_RETRY_LIMIT)]


# --------------------------------------------------------------------------------------------
# Open sets: "known literal or any string"
# --------------------------------------------------------------------------------------------

KnownDownlinkStatus = Literal["PENDING", "EXECUTING", "DONE"]
DownlinkStatus = KnownDownlinkStatus | str
"""PENDING → EXECUTING → DONE, or any value the API adds later (kept as is)."""

KnownMqttFailureReason = Literal["CANCELLED", "FEEDBACK_TIMEOUT", "FAILED_TO_TRANSMIT_TO_DEVICE"]
KnownLoraFailureReason = (
    KnownMqttFailureReason
    | Literal["NOT_ACKNOWLEDGED_BY_DEVICE", "FAILED_TO_ENQUEUE_FOR_TRANSMISSION", "EVICTED"]
)
FailureReason = KnownLoraFailureReason | str
"""A known failure reason (the LoRa set includes the MQTT one) or any other string."""

KnownMqttQos = Literal["AT_MOST_ONCE"]
MqttQos = KnownMqttQos | str

PENDING: Final = "PENDING"
EXECUTING: Final = "EXECUTING"
DONE: Final = "DONE"
"""The final status: with a `lastFailureReason` a failure, without one a success."""
STATUS_ORDER: Final = (PENDING, EXECUTING, DONE)
"""The known statuses in the order a downlink goes through them."""
KNOWN_STATUSES: Final = frozenset(STATUS_ORDER)
CANCELLED: Final = "CANCELLED"
"""The failure reason of a downlink that was cancelled before it was delivered."""
KNOWN_MQTT_FAILURE_REASONS: Final = frozenset(
    {CANCELLED, "FEEDBACK_TIMEOUT", "FAILED_TO_TRANSMIT_TO_DEVICE"}
)
KNOWN_LORA_FAILURE_REASONS: Final = KNOWN_MQTT_FAILURE_REASONS | {
    "NOT_ACKNOWLEDGED_BY_DEVICE",
    "FAILED_TO_ENQUEUE_FOR_TRANSMISSION",
    "EVICTED",
}
KNOWN_MQTT_QOS: Final = frozenset({"AT_MOST_ONCE"})


def is_done(status: str) -> bool:
    """Whether a downlink in this status has finished (successfully or not)."""
    return status == DONE


# --------------------------------------------------------------------------------------------
# Bases
# --------------------------------------------------------------------------------------------

_WIRE_NAMES = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    serialize_by_alias=True,
)


# Validation context of `ThingsClient.parse`: the data is JSON parsed for this validation only.
OWNED_JSON = "owned_json"


class ReadModel(BaseModel):
    """Something the API returned: lenient, frozen, and keeping the JSON object it came from."""

    model_config = ConfigDict(**_WIRE_NAMES, extra="ignore", frozen=True)

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(
        cls, data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        model = handler(data)
        if isinstance(model, ReadModel) and isinstance(data, Mapping):
            # JSON the client has just parsed belongs to no one else: kept as it is (a deep
            # copy of a page's items was half the time of parsing it). Other data is copied,
            # so its owner changing it later does not change what the model says it came as.
            owned = isinstance(info.context, Mapping) and info.context.get(OWNED_JSON)
            model._raw = dict(data) if owned else copy.deepcopy(dict(data))
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object exactly as the API sent it (a copy; unknown fields included)."""
        return copy.deepcopy(self._raw)


class CreateModel(BaseModel):
    """Something we send: strict, unknown fields refused."""

    model_config = ConfigDict(**_WIRE_NAMES, extra="forbid", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body for the API: camelCase names, no None values."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _assume_utc(value: datetime) -> datetime:
    """A timestamp without an offset is read as UTC (the API's examples all end in Z)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_assume_utc)]


# --------------------------------------------------------------------------------------------
# READ models
# --------------------------------------------------------------------------------------------


class LoraMessage(ReadModel):
    payload_hex: str
    f_port: int

    @property
    def payload_bytes(self) -> bytes | None:
        """The payload as bytes, or None if the API sent something that is not whole-byte hex."""
        try:
            return bytes.fromhex(self.payload_hex)
        except ValueError:
            return None


class _DownlinkBase(ReadModel):
    id: UUID
    status: DownlinkStatus
    device_id: str  # Not DeviceId: a new id format from the API must not break a list.
    created_at: UtcDatetime
    modified_at: UtcDatetime
    feedback_timeout: str
    dry_run: bool = False
    last_failure_reason: FailureReason | None = None

    @property
    def is_done(self) -> bool:
        return is_done(self.status)

    @property
    def is_running(self) -> bool:
        """Not DONE yet (PENDING, EXECUTING or a status we do not know): keep watching it."""
        return not is_done(self.status)

    @property
    def succeeded(self) -> bool:
        return is_done(self.status) and not self.last_failure_reason

    @property
    def failed(self) -> bool:
        return is_done(self.status) and bool(self.last_failure_reason)


class LoraDownlink(_DownlinkBase):
    message: LoraMessage
    retry_limit: int = 0
    retry_count: int = 0


class _MqttMessageBase(ReadModel):
    topic: str
    content_type: str | None = None
    qos: MqttQos | None = None


class MqttTextMessage(_MqttMessageBase):
    type: Literal["text"] = "text"
    payload: str


class MqttBinaryMessage(_MqttMessageBase):
    type: Literal["binary"] = "binary"
    payload: str  # base64 as the API sent it; see payload_bytes.

    @property
    def payload_bytes(self) -> bytes | None:
        """The decoded payload, or None if the API sent something that is not base64."""
        try:
            return base64.b64decode(self.payload, validate=True)
        except binascii.Error:
            return None


class MqttOtherMessage(ReadModel):
    """A message whose `type` is neither "text" nor "binary": kept, shown raw, never a crash."""

    type: str
    topic: str | None = None
    payload: Any = None
    content_type: str | None = None
    qos: MqttQos | None = None


def _mqtt_message_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, Mapping) else getattr(value, "type", None)
    return kind if kind in ("text", "binary") else "other"


MqttMessage = Annotated[
    Annotated[MqttTextMessage, Tag("text")]
    | Annotated[MqttBinaryMessage, Tag("binary")]
    | Annotated[MqttOtherMessage, Tag("other")],
    Discriminator(_mqtt_message_kind),
]
"""An MQTT message, chosen by its `type` ("text" or "binary"; anything else → other)."""


class MqttDownlink(_DownlinkBase):
    message: MqttMessage


class Page[T](BaseModel):
    """One page of search results; `next`/`prev` are links (absent at either end)."""

    model_config = ConfigDict(**_WIRE_NAMES, extra="ignore", frozen=True)

    items: list[T]
    next: str | None = None
    prev: str | None = None


class Problem(BaseModel):
    """An RFC 9457 problem detail. Extension members are kept (see `extensions`)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = "about:blank"
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None

    @field_validator("type", mode="wrap")
    @classmethod
    def _lenient_type(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return handler(value) if isinstance(value, str) else "about:blank"

    @field_validator("title", "detail", "instance", "status", mode="wrap")
    @classmethod
    def _lenient_members(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # An API error is being reported; a malformed member must not hide the rest of it.
        try:
            return handler(value)
        except ValueError:
            return None

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    def summary(self) -> str:
        """Title and detail in one line, e.g. "Conflict: the downlink is already DONE"."""
        parts = [part.strip() for part in (self.title, self.detail) if part and part.strip()]
        if len(parts) == 2 and parts[0].rstrip(".").lower() == parts[1].rstrip(".").lower():
            parts = parts[:1]
        return ": ".join(parts)


# --------------------------------------------------------------------------------------------
# CREATE models
# --------------------------------------------------------------------------------------------


class NewLoraMessage(CreateModel):
    payload_hex: HexPayload
    f_port: FPort

    @classmethod
    def from_bytes(cls, payload: bytes, f_port: int) -> Self:
        return cls(payload_hex=payload.hex(), f_port=f_port)


class NewLoraDownlink(CreateModel):
    device_id: DeviceId
    message: NewLoraMessage
    feedback_timeout: FeedbackTimeout
    retry_limit: RetryLimit = 0
    dry_run: StrictBool = False


def _check_topic(value: str) -> str:
    # The spec only says "string". An MQTT PUBLISH topic is at least one character and may not
    # contain the subscription wildcards + and # (MQTT 3.1.1 §4.7.1 / 5.0 §4.7.1).
    if not value:
        raise PydanticCustomError("mqtt_topic", "The topic cannot be empty.")
    if "+" in value or "#" in value:
        raise PydanticCustomError(
            "mqtt_topic", "A topic to publish to cannot contain the wildcards + or #."
        )
    return value


MqttTopic = Annotated[str, AfterValidator(_check_topic)]


class _NewMqttMessageBase(CreateModel):
    topic: MqttTopic
    content_type: str | None = None
    qos: MqttQos | None = None  # None: the API's default (AT_MOST_ONCE).


class NewMqttTextMessage(_NewMqttMessageBase):
    type: Literal["text"] = "text"
    payload: str


class NewMqttBinaryMessage(_NewMqttMessageBase):
    type: Literal["binary"] = "binary"
    payload: Base64String

    @classmethod
    def from_bytes(cls, payload: bytes, *, topic: str, **fields: Any) -> Self:
        return cls(payload=base64.b64encode(payload).decode("ascii"), topic=topic, **fields)


NewMqttMessage = Annotated[NewMqttTextMessage | NewMqttBinaryMessage, Field(discriminator="type")]


class NewMqttDownlink(CreateModel):
    device_id: DeviceId
    message: NewMqttMessage
    feedback_timeout: FeedbackTimeout
    dry_run: StrictBool = False


# --------------------------------------------------------------------------------------------
# Search
# --------------------------------------------------------------------------------------------

_SORT_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")


class SortField(BaseModel):
    """One sort key: `createdAt` ascending, or `-createdAt` (descending) on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    descending: bool = False

    @field_validator("field")
    @classmethod
    def _check_field(cls, value: str) -> str:
        if not _SORT_FIELD_NAME.fullmatch(value):
            raise PydanticCustomError(
                "sort_field", "A sort field is a field name such as createdAt."
            )
        return value

    @classmethod
    def parse(cls, text: str) -> Self:
        text = text.strip()
        if text.startswith("-"):
            return cls(field=text[1:], descending=True)
        return cls(field=text)

    def __str__(self) -> str:
        return f"-{self.field}" if self.descending else self.field


def parse_sort(text: str) -> list[SortField]:
    """ "createdAt,-modifiedAt" → [createdAt ascending, modifiedAt descending]."""
    return [SortField.parse(part) for part in text.split(",") if part.strip()]


def _format_timestamp(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


class SearchFilters(BaseModel):
    """What to search for. Every field is optional; `to_query()` gives the query parameters.

    `status` is an open string: the MQTT API takes any value, the LoRa API only PENDING,
    EXECUTING and DONE (it answers 400 to anything else).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    device_id: DeviceId | None = None
    created_before: AwareDatetime | None = None
    created_since: AwareDatetime | None = None
    modified_before: AwareDatetime | None = None
    modified_since: AwareDatetime | None = None
    status: DownlinkStatus | None = None
    sort: list[SortField] = Field(default_factory=list)
    limit: Annotated[int, BeforeValidator(_refuse_bool), Field(ge=1)] | None = None
    cursor: str | None = None

    @field_validator("sort", mode="before")
    @classmethod
    def _sort_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_sort(value)
        return value

    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        if self.cursor:
            query["cursor"] = self.cursor
        if self.limit is not None:
            query["limit"] = str(self.limit)
        if self.sort:
            query["sort"] = ",".join(str(field) for field in self.sort)
        if self.device_id:
            query["deviceId"] = self.device_id
        for name, value in (
            ("createdBefore", self.created_before),
            ("createdSince", self.created_since),
            ("modifiedBefore", self.modified_before),
            ("modifiedSince", self.modified_since),
        ):
            if value is not None:
                query[name] = _format_timestamp(value)
        if self.status:
            query["status"] = self.status
        return query
