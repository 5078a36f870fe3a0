"""The two send forms, LoRa and MQTT, and what they share.

The send forms check every rule of the specs and say in words what is wrong with each field;
only when they are valid is a create model (`NewLoraDownlink` / `NewMqttDownlink`) built, and
only that is ever sent. The service layer's models are the final gate: what they refuse is
put on the field it concerns. The limits the forms check (fPort, retry limit, feedback
timeout) are the API package's; the LoRa payload's is the team's (`Team.lora_payload_limit`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar, Self
from uuid import uuid4

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BoundField
from pydantic import BaseModel
from pydantic import ValidationError as ModelValidationError

from devices.fields import DeviceIdField
from devices.models import Kind
from downlinks.forms.payload import PayloadFormat, payload_bytes
from teams.models import LORA_PAYLOAD_LIMIT_DEFAULT, LORA_PAYLOAD_LIMIT_MAX
from things_api import (
    KNOWN_MQTT_QOS,
    MAX_F_PORT,
    MIN_F_PORT,
    MIN_FEEDBACK_TIMEOUT,
    MIN_RETRY_LIMIT,
    NewLoraDownlink,
    NewMqttDownlink,
    format_simple_duration,
    parse_simple_duration,
)

MIN_TIMEOUT_MINUTES = MIN_FEEDBACK_TIMEOUT // timedelta(minutes=1)
# The specs give no maximum; a year is beyond any device's feedback, and keeps sums bounded.
MAX_TIMEOUT = timedelta(days=366)


def model_errors_to_form(
    form: forms.Form, error: ModelValidationError, fields: dict[str, str]
) -> None:
    """Put the create model's complaints on the form fields they concern."""
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"])
        field = next((name for prefix, name in fields.items() if location.startswith(prefix)), None)
        form.add_error(field, detail["msg"])


def _timeout_part(label: str, unit: str, initial: int) -> forms.IntegerField:
    """One part of the timeout. Each part may hold the whole (90 minutes, 36 hours): only the
    sum is bounded (MAX_TIMEOUT); the part's own maximum keeps timedelta from overflowing."""
    most = MAX_TIMEOUT // timedelta(**{unit: 1})
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=most,
        initial=initial,
        error_messages={
            "min_value": f"{label} cannot be negative.",
            "max_value": f"The feedback timeout can be at most {MAX_TIMEOUT.days} days.",
        },
    )


class FeedbackTimeoutFields(forms.Form):
    """The feedback timeout as days, hours and minutes, added up: "1 h 30" and "90 minutes"
    are the same (at least 10 minutes, at most MAX_TIMEOUT in all)."""

    timeout_days = _timeout_part("Days", "days", 0)
    timeout_hours = _timeout_part("Hours", "hours", 1)
    timeout_minutes = _timeout_part("Minutes", "minutes", 0)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_feedback_timeout()
        return cleaned

    def feedback_timeout(self) -> timedelta | None:
        data = getattr(self, "cleaned_data", {})
        parts = [data.get(name) for name in ("timeout_days", "timeout_hours", "timeout_minutes")]
        if any(part is None for part in parts):
            return None
        days, hours, minutes = (int(part) for part in parts if part is not None)
        return timedelta(days=days, hours=hours, minutes=minutes)

    def clean_feedback_timeout(self) -> None:
        timeout = self.feedback_timeout()
        if timeout is not None and timeout > MAX_TIMEOUT:
            self.add_error(
                "timeout_days", f"The feedback timeout can be at most {MAX_TIMEOUT.days} days."
            )
        if timeout is not None and timeout < MIN_FEEDBACK_TIMEOUT:
            minutes = int(timeout.total_seconds() // 60)
            self.add_error(
                "timeout_minutes",
                f"The feedback timeout must be at least {MIN_TIMEOUT_MINUTES} minutes; "
                f"{minutes} minute{'' if minutes == 1 else 's'} is too short.",
            )

    @property
    def feedback_timeout_iso(self) -> str:
        timeout = self.feedback_timeout()
        return format_simple_duration(timeout) if timeout is not None else ""

    @staticmethod
    def timeout_initial(iso: str) -> dict[str, int]:
        """Days, hours and minutes of a duration, rounded up to whole minutes (for clone)."""
        try:
            timeout = parse_simple_duration(iso)
        except ValueError:
            return {}
        minutes_total = -(-int(timeout.total_seconds()) // 60)
        days, rest = divmod(minutes_total, 24 * 60)
        hours, minutes = divmod(rest, 60)
        return {"timeout_days": days, "timeout_hours": hours, "timeout_minutes": minutes}


class SendForm[New: BaseModel](FeedbackTimeoutFields):
    """What every send form has besides its message: the device, the feedback timeout, dry
    run, the one-time key of this rendering of the form (a second submission of it creates
    nothing), and "send anyway", asked for only when the same message is already on its way
    to the device.

    A kind's form adds its message fields, and says which create model it builds
    (`create_model`), what of the model comes from its own fields (`create_fields`), where
    the model's complaints about those go (`model_error_fields`: a prefix of the complaint's
    location → the form field), and how its fields are filled in from a body
    (`message_initial`).

    A field that applies to one choice of another field only is named in `shown_when` (the
    field → the other field and that choice): the page hides it while another is chosen
    (static js/depends-on.js, from `laid_out`), and the form then ignores what it holds.
    The confirmations (`confirmations`) are drawn where they are asked for, not with the
    other fields."""

    create_model: type[New]
    model_error_fields: dict[str, str]
    shown_when: ClassVar[Mapping[str, tuple[str, str]]] = {}
    confirmations: ClassVar[tuple[str, ...]] = ("send_anyway",)

    device_id = DeviceIdField()
    dry_run = forms.BooleanField(
        label="Dry run (the platform pretends delivery succeeded; nothing reaches the device)",
        required=False,
    )
    submission_key = forms.UUIDField(
        widget=forms.HiddenInput,
        initial=uuid4,  # called anew for every unbound form
        error_messages={
            "required": "This form has no one-time key, so it could be sent twice; reload the "
            "page and send again.",
            "invalid": "This form's one-time key is damaged; reload the page and send again.",
        },
    )
    send_anyway = forms.BooleanField(
        required=False,
        label="Send anyway: I know it is already on its way and want it sent again",
        help_text="Nothing is sent unless this is ticked; the audit trail records that it was.",
    )

    def __init__(
        self, *args: Any, lora_payload_limit: int = LORA_PAYLOAD_LIMIT_DEFAULT, **kwargs: Any
    ) -> None:
        """`lora_payload_limit`: the team's, in bytes. Only the LoRa form reads it; the views
        build either kind's form alike."""
        super().__init__(*args, **kwargs)
        self.lora_payload_limit = lora_payload_limit

    def laid_out(self) -> list[tuple[BoundField, str]]:
        """The visible fields but the confirmations, in order, each with the choice it
        applies to ("message_type=binary"; "" for every choice), for `data-shown-when`."""
        conditions = {
            name: f"{other}={choice}" for name, (other, choice) in self.shown_when.items()
        }
        return [
            (field, conditions.get(field.name, ""))
            for field in self.visible_fields()
            if field.name not in self.confirmations
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, (other, choice) in self.shown_when.items():
            if cleaned.get(other) != choice:  # it does not apply: whatever it holds is ignored
                self.errors.pop(name, None)
                cleaned.pop(name, None)
        return cleaned

    def with_fresh_key(self) -> Self:
        """The same form as the person filled it in, with a new one-time key: for sending
        again after an attempt that certainly created nothing."""
        data = self.data.copy()  # type: ignore[attr-defined]
        data["submission_key"] = uuid4().hex
        data.pop("send_anyway", None)
        return type(self)(data, lora_payload_limit=self.lora_payload_limit)

    def create_fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The create model's fields that only this kind has (its message, …)."""
        raise NotImplementedError

    @classmethod
    def message_initial(cls, body: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
        """This kind's own fields, filled in from a create body and its message."""
        raise NotImplementedError

    def new_downlink(self) -> New | None:
        """The create model, or None with the model's complaints added to the form."""
        if not self.is_valid():
            return None
        return self.new_downlink_for(self.cleaned_data["device_id"])

    def new_downlink_for(self, device_id: str) -> New | None:
        """The create model of this valid form's message to `device_id` (a campaign's
        message form has no device field: each row names its own)."""
        data = self.cleaned_data
        try:
            return self.create_model.model_validate(
                {
                    "device_id": device_id,
                    **self.create_fields(data),
                    "feedback_timeout": self.feedback_timeout_iso,
                    "dry_run": data["dry_run"],
                }
            )
        except ModelValidationError as error:
            model_errors_to_form(
                self,
                error,
                {
                    "device_id": "device_id",
                    **self.model_error_fields,
                    "feedback_timeout": "timeout_minutes",
                },
            )
            return None

    @classmethod
    def initial_from(cls, body: Mapping[str, Any]) -> dict[str, Any]:
        """The form filled in from a create body: one the portal sent, or the API's JSON of a
        downlink (clone), which has the same fields."""
        return {
            "device_id": body.get("deviceId", ""),
            "dry_run": bool(body.get("dryRun", False)),
            **cls.timeout_initial(str(body.get("feedbackTimeout", ""))),
            **cls.message_initial(body, _mapping(body.get("message"))),
        }


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def send_field_order(*message_fields: str) -> list[str]:
    """How a send form is laid out: the device, the kind's message fields, then the feedback
    timeout and dry run (the one-time key and "send anyway" come last)."""
    return [
        "device_id",
        *message_fields,
        "timeout_days",
        "timeout_hours",
        "timeout_minutes",
        "dry_run",
    ]


class LoraSendForm(SendForm[NewLoraDownlink]):
    create_model = NewLoraDownlink
    model_error_fields = {
        "message.payload_hex": "payload",
        "message.f_port": "f_port",
        "retry_limit": "retry_limit",
    }
    field_order = send_field_order("payload_format", "payload", "f_port", "retry_limit")
    device_id = DeviceIdField(kind=Kind.LORA)
    payload_format = forms.ChoiceField(
        label="Payload entered as", choices=PayloadFormat.CHOICES, initial=PayloadFormat.HEX
    )
    payload = forms.CharField(
        label="Payload",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        strip=False,
        max_length=1000,
        help_text="Sent as hex (payloadHex); base64 and text are converted.",
    )
    # The bounds are checked in clean_f_port, which says which rule a number breaks; the
    # browser is told them too (min/max).
    f_port = forms.IntegerField(
        label="fPort",
        initial=1,
        widget=forms.NumberInput(attrs={"min": MIN_F_PORT, "max": MAX_F_PORT}),
        help_text=f"LoRaWAN application port, {MIN_F_PORT} to {MAX_F_PORT}.",
    )
    retry_limit = forms.IntegerField(
        label="Retry limit",
        min_value=MIN_RETRY_LIMIT,
        max_value=100,
        initial=0,
        help_text="How often the platform may retry when the device does not acknowledge.",
        error_messages={"min_value": "The retry limit cannot be negative."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["payload"].help_text = (
            "Sent as hex (payloadHex); base64 and text are converted. At most "
            f"{self.lora_payload_limit} bytes, this team's LoRa payload limit."
        )

    def clean_f_port(self) -> int:
        port: int = self.cleaned_data["f_port"]
        between = f"fPort must be between {MIN_F_PORT} and {MAX_F_PORT}"
        if port < 0:
            raise forms.ValidationError(f"{between}; a port cannot be negative.")
        if port < MIN_F_PORT:
            raise forms.ValidationError(f"{between}; {port} is reserved for MAC commands.")
        if port > MAX_F_PORT:
            raise forms.ValidationError(f"{between}; {MAX_F_PORT + 1} and above are reserved.")
        return port

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "payload" in cleaned and "payload_format" in cleaned:
            try:
                cleaned["payload_bytes"] = payload_bytes(
                    cleaned["payload"], cleaned["payload_format"]
                )
            except ValidationError as error:
                self.add_error("payload", error)
            else:
                size = len(cleaned["payload_bytes"])
                if not size:
                    self.add_error("payload", "Enter the payload: it cannot be empty.")
                elif size > self.lora_payload_limit:
                    self.add_error("payload", self.over_the_limit(size))
        return cleaned

    def over_the_limit(self, size: int) -> str:
        return (
            f"This payload is {size} bytes, more than this team's LoRa payload limit of "
            f"{self.lora_payload_limit} bytes. A team admin sets the limit (up to "
            f"{LORA_PAYLOAD_LIMIT_MAX} bytes, what LoRaWAN carries) on the team's "
            "Credential page."
        )

    def create_fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "message": {"payload_hex": data["payload_bytes"].hex(), "f_port": data["f_port"]},
            "retry_limit": data["retry_limit"],
        }

    @classmethod
    def message_initial(cls, body: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "payload_format": PayloadFormat.HEX,
            "payload": message.get("payloadHex", ""),
            "f_port": message.get("fPort"),
            "retry_limit": body.get("retryLimit", 0),
        }


class MqttMessageType:
    TEXT = "text"
    BINARY = "binary"
    CHOICES = ((TEXT, "Text"), (BINARY, "Binary"))


SEND_EMPTY_LABEL = "Send an empty message"


class MqttSendForm(SendForm[NewMqttDownlink]):
    """The MQTT send form. The spec allows a message without payload (empty text, or base64
    of no bytes); one is sent only with "Send an empty message" ticked, which the form asks
    for when the payload is empty (`empty_message`)."""

    create_model = NewMqttDownlink
    shown_when = {"payload_format": ("message_type", MqttMessageType.BINARY)}
    confirmations = ("send_anyway", "send_empty")
    model_error_fields = {
        "message.text.topic": "topic",
        "message.binary.topic": "topic",
        "message.text.payload": "payload",
        "message.binary.payload": "payload",
        "message": "payload",
    }
    field_order = send_field_order(
        "message_type", "payload_format", "payload", "topic", "content_type", "qos"
    )
    device_id = DeviceIdField(kind=Kind.MQTT)
    message_type = forms.ChoiceField(
        label="Message type",
        choices=MqttMessageType.CHOICES,
        initial=MqttMessageType.TEXT,
        widget=forms.RadioSelect,
    )
    payload_format = forms.ChoiceField(
        label="Binary payload entered as",
        choices=PayloadFormat.CHOICES,
        initial=PayloadFormat.BASE64,
        required=False,
        help_text="Only for binary messages: sent as base64; hex and text are converted.",
    )
    # Not required: an empty one is asked about (send_empty) rather than refused outright.
    payload = forms.CharField(
        label="Payload",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        strip=False,
        max_length=10000,
        required=False,
    )
    send_empty = forms.BooleanField(
        required=False,
        label=SEND_EMPTY_LABEL,
        help_text="The message is published with an empty payload; nothing is sent unless "
        "this is ticked.",
    )
    topic = forms.CharField(label="Topic", max_length=200, initial="downlink")
    content_type = forms.CharField(
        label="Content type", max_length=100, required=False, help_text="e.g. text/plain"
    )
    qos = forms.ChoiceField(
        label="Quality of service",
        choices=[("", "Platform default"), *[(q, q) for q in sorted(KNOWN_MQTT_QOS)]],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Whether the payload came in empty, so "Send an empty message" is shown.
        self.empty_message = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        message_type = cleaned.get("message_type")
        payload = cleaned.get("payload")
        if payload is None:
            return cleaned
        if message_type == MqttMessageType.BINARY:
            try:
                cleaned["payload_bytes"] = payload_bytes(
                    payload,
                    cleaned.get("payload_format") or PayloadFormat.BASE64,
                    allow_empty=True,
                )
            except ValidationError as error:
                self.add_error("payload", error)
                return cleaned
        else:
            cleaned["payload_bytes"] = payload.encode("utf-8")
        known_type = message_type in (MqttMessageType.TEXT, MqttMessageType.BINARY)
        self.empty_message = known_type and not cleaned["payload_bytes"]
        if self.empty_message and not cleaned.get("send_empty"):
            self.add_error(
                "payload",
                f"The payload is empty. Enter one, or tick “{SEND_EMPTY_LABEL}” to send the "
                "message without a payload.",
            )
        return cleaned

    def create_fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": data["message_type"],
            "topic": data["topic"],
            "content_type": data["content_type"] or None,
            "qos": data["qos"] or None,
        }
        if data["message_type"] == MqttMessageType.BINARY:
            message["payload"] = base64.b64encode(data["payload_bytes"]).decode("ascii")
        else:
            message["payload"] = data["payload"]
        return {"message": message}

    @classmethod
    def message_initial(cls, body: Mapping[str, Any], message: Mapping[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "topic": message.get("topic") or "",
            "content_type": message.get("contentType") or "",
            "qos": message.get("qos") or "",
        }
        if message.get("type") == MqttMessageType.BINARY:
            initial.update(
                message_type=MqttMessageType.BINARY,
                payload_format=PayloadFormat.BASE64,
                payload=message.get("payload", ""),
            )
        elif message.get("type") == MqttMessageType.TEXT:
            initial.update(message_type=MqttMessageType.TEXT, payload=message.get("payload", ""))
        return initial


def send_form_class(kind: str) -> type[LoraSendForm] | type[MqttSendForm]:
    return LoraSendForm if kind == Kind.LORA else MqttSendForm
