"""Forms of the dashboard: list filters and the two send forms.

The send forms check every rule of the specs and say in words what is wrong with each field;
only when they are valid is a create model (`NewLoraDownlink` / `NewMqttDownlink`) built, and
only that is ever sent. The service layer's models are the final gate: what they refuse is
put on the field it concerns.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Self
from uuid import uuid4

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from pydantic import ValidationError as ModelValidationError

from core.form_fields import DateTimeLocalField, require_later
from downlinks.models import Kind
from things_api import (
    KNOWN_MQTT_QOS,
    NewLoraDownlink,
    NewMqttDownlink,
    SearchFilters,
    SortField,
    device_id_format,
    format_simple_duration,
    parse_simple_duration,
)
from things_api.models import DEVICE_ID_FORMATS_IN_WORDS

MIN_FEEDBACK_TIMEOUT = timedelta(minutes=10)
HEX_SEPARATORS = re.compile(r"[\s:]+")
PAGE_SIZES = (10, 25, 50, 100)


class PayloadFormat:
    HEX = "hex"
    BASE64 = "base64"
    TEXT = "text"
    CHOICES = ((HEX, "Hex"), (BASE64, "Base64"), (TEXT, "Text (UTF-8)"))


def payload_bytes(value: str, payload_format: str) -> bytes:
    """The bytes a payload field means, or a ValidationError that says why not, in words."""
    if payload_format == PayloadFormat.TEXT:
        return value.encode("utf-8")
    if payload_format == PayloadFormat.BASE64:
        compact = "".join(value.split())
        if not compact:
            raise ValidationError("Enter the payload.")
        if not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", compact):
            raise ValidationError(
                "This is not valid base64: use only A-Z, a-z, 0-9, + and /, with = as padding "
                "at the end."
            )
        if len(compact) % 4:
            raise ValidationError(
                f"This is not valid base64: its length ({len(compact)}) must be a multiple of "
                "4; is padding (=) missing?"
            )
        try:
            return base64.b64decode(compact, validate=True)
        except binascii.Error:
            raise ValidationError("This is not valid base64: the padding is wrong.") from None
    compact = HEX_SEPARATORS.sub("", value)
    if compact.lower().startswith("0x"):
        compact = compact[2:]
    if not compact:
        raise ValidationError("Enter the payload.")
    bad = sorted({char for char in compact if char not in "0123456789abcdefABCDEF"})
    if bad:
        shown = ", ".join(repr(char) for char in bad[:5])
        raise ValidationError(
            f"Hex uses only the digits 0-9 and the letters a-f; this has {shown}."
        )
    if len(compact) % 2:
        raise ValidationError(
            f"Hex takes two digits per byte, and this has an odd number ({len(compact)}): "
            "is a digit missing?"
        )
    return bytes.fromhex(compact)


def validate_device_id(value: str) -> None:
    if device_id_format(value) is None:
        raise ValidationError(f"“{value}” is not a device id. Use {DEVICE_ID_FORMATS_IN_WORDS}.")


class DeviceIdField(forms.CharField):
    default_validators = [validate_device_id]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("label", "Device id")
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "placeholder": "imei:350266800610993"}
        )


def model_errors_to_form(
    form: forms.Form, error: ModelValidationError, fields: dict[str, str]
) -> None:
    """Put the create model's complaints on the form fields they concern."""
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"])
        field = next((name for prefix, name in fields.items() if location.startswith(prefix)), None)
        form.add_error(field, detail["msg"])


class FeedbackTimeoutFields(forms.Form):
    """The feedback timeout as days, hours and minutes (at least 10 minutes in all)."""

    timeout_days = forms.IntegerField(label="Days", min_value=0, max_value=365, initial=0)
    timeout_hours = forms.IntegerField(label="Hours", min_value=0, max_value=23, initial=1)
    timeout_minutes = forms.IntegerField(label="Minutes", min_value=0, max_value=59, initial=0)

    def feedback_timeout(self) -> timedelta | None:
        data = getattr(self, "cleaned_data", {})
        parts = [data.get(name) for name in ("timeout_days", "timeout_hours", "timeout_minutes")]
        if any(part is None for part in parts):
            return None
        days, hours, minutes = (int(part) for part in parts if part is not None)
        return timedelta(days=days, hours=hours, minutes=minutes)

    def clean_feedback_timeout(self) -> None:
        timeout = self.feedback_timeout()
        if timeout is not None and timeout < MIN_FEEDBACK_TIMEOUT:
            minutes = int(timeout.total_seconds() // 60)
            self.add_error(
                "timeout_minutes",
                f"The feedback timeout must be at least 10 minutes; {minutes} minute"
                f"{'' if minutes == 1 else 's'} is too short.",
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


class SendForm(FeedbackTimeoutFields):
    """What every send form has besides its message: the one-time key of this rendering of
    the form (a second submission of it creates nothing), and "send anyway", asked for only
    when the same message is already on its way to the device."""

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
    )

    def with_fresh_key(self) -> Self:
        """The same form as the person filled it in, with a new one-time key: for sending
        again after an attempt that certainly created nothing."""
        data = self.data.copy()  # type: ignore[attr-defined]
        data["submission_key"] = uuid4().hex
        data.pop("send_anyway", None)
        return type(self)(data)


class LoraSendForm(SendForm):
    field_order = [
        "device_id",
        "payload_format",
        "payload",
        "f_port",
        "retry_limit",
        "timeout_days",
        "timeout_hours",
        "timeout_minutes",
        "dry_run",
    ]
    device_id = DeviceIdField()
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
    f_port = forms.IntegerField(
        label="fPort",
        min_value=1,
        max_value=223,
        initial=1,
        help_text="LoRaWAN application port, 1 to 223.",
        error_messages={
            "min_value": "fPort must be between 1 and 223; 0 is reserved for MAC commands.",
            "max_value": "fPort must be between 1 and 223; 224 and above are reserved.",
        },
    )
    retry_limit = forms.IntegerField(
        label="Retry limit",
        min_value=0,
        max_value=100,
        initial=0,
        help_text="How often the platform may retry when the device does not acknowledge.",
        error_messages={"min_value": "The retry limit cannot be negative."},
    )
    dry_run = forms.BooleanField(
        label="Dry run (the platform pretends delivery succeeded; nothing reaches the device)",
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_feedback_timeout()
        if "payload" in cleaned and "payload_format" in cleaned:
            try:
                cleaned["payload_bytes"] = payload_bytes(
                    cleaned["payload"], cleaned["payload_format"]
                )
            except ValidationError as error:
                self.add_error("payload", error)
            else:
                if not cleaned["payload_bytes"]:
                    self.add_error("payload", "Enter the payload: it cannot be empty.")
        return cleaned

    def new_downlink(self) -> NewLoraDownlink | None:
        """The create model, or None with the model's complaints added to the form."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        try:
            return NewLoraDownlink.model_validate(
                {
                    "device_id": data["device_id"],
                    "message": {
                        "payload_hex": data["payload_bytes"].hex(),
                        "f_port": data["f_port"],
                    },
                    "feedback_timeout": self.feedback_timeout_iso,
                    "retry_limit": data["retry_limit"],
                    "dry_run": data["dry_run"],
                }
            )
        except ModelValidationError as error:
            model_errors_to_form(
                self,
                error,
                {
                    "device_id": "device_id",
                    "message.payload_hex": "payload",
                    "message.f_port": "f_port",
                    "feedback_timeout": "timeout_minutes",
                    "retry_limit": "retry_limit",
                },
            )
            return None

    @classmethod
    def initial_from(cls, body: Mapping[str, Any]) -> dict[str, Any]:
        """The form filled in from a create body: one the portal sent, or the API's JSON of a
        downlink (clone), which has the same fields."""
        message = _mapping(body.get("message"))
        return {
            "device_id": body.get("deviceId", ""),
            "payload_format": PayloadFormat.HEX,
            "payload": message.get("payloadHex", ""),
            "f_port": message.get("fPort"),
            "retry_limit": body.get("retryLimit", 0),
            "dry_run": bool(body.get("dryRun", False)),
            **cls.timeout_initial(str(body.get("feedbackTimeout", ""))),
        }


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


class MqttMessageType:
    TEXT = "text"
    BINARY = "binary"
    CHOICES = ((TEXT, "Text"), (BINARY, "Binary"))


class MqttSendForm(SendForm):
    field_order = [
        "device_id",
        "message_type",
        "payload_format",
        "payload",
        "topic",
        "content_type",
        "qos",
        "timeout_days",
        "timeout_hours",
        "timeout_minutes",
        "dry_run",
    ]
    device_id = DeviceIdField()
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
    payload = forms.CharField(
        label="Payload",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        strip=False,
        max_length=10000,
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
    dry_run = forms.BooleanField(
        label="Dry run (the platform pretends delivery succeeded; nothing reaches the device)",
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.clean_feedback_timeout()
        message_type = cleaned.get("message_type")
        payload = cleaned.get("payload")
        if payload is None:
            return cleaned
        if message_type == MqttMessageType.BINARY:
            try:
                cleaned["payload_bytes"] = payload_bytes(
                    payload, cleaned.get("payload_format") or PayloadFormat.BASE64
                )
            except ValidationError as error:
                self.add_error("payload", error)
        else:
            cleaned["payload_bytes"] = payload.encode("utf-8")
        return cleaned

    def new_downlink(self) -> NewMqttDownlink | None:
        if not self.is_valid():
            return None
        data = self.cleaned_data
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
        try:
            return NewMqttDownlink.model_validate(
                {
                    "device_id": data["device_id"],
                    "message": message,
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
                    "message.text.topic": "topic",
                    "message.binary.topic": "topic",
                    "message.text.payload": "payload",
                    "message.binary.payload": "payload",
                    "message": "payload",
                    "feedback_timeout": "timeout_minutes",
                },
            )
            return None

    @classmethod
    def initial_from(cls, body: Mapping[str, Any]) -> dict[str, Any]:
        """The form filled in from a create body or the API's JSON of a downlink (clone)."""
        message = _mapping(body.get("message"))
        initial: dict[str, Any] = {
            "device_id": body.get("deviceId", ""),
            "topic": message.get("topic") or "",
            "content_type": message.get("contentType") or "",
            "qos": message.get("qos") or "",
            "dry_run": bool(body.get("dryRun", False)),
            **cls.timeout_initial(str(body.get("feedbackTimeout", ""))),
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


# --- Lists -----------------------------------------------------------------------------------

# Sortable columns: the name in our URL → the API's field, per kind.
SORT_COLUMNS: dict[str, dict[str, str]] = {
    Kind.LORA: {
        "device": "deviceId",
        "status": "status",
        "payload": "message.payloadHex",
        "port": "message.fPort",
        "retries": "retryCount",
        "created": "createdAt",
        "modified": "modifiedAt",
    },
    Kind.MQTT: {
        "device": "deviceId",
        "status": "status",
        "payload": "message.payload",
        "topic": "message.topic",
        "created": "createdAt",
        "modified": "modifiedAt",
    },
}
DEFAULT_SORT = "-created"
COLUMN_LABELS = {
    "device": "Device",
    "status": "Status",
    "payload": "Payload",
    "port": "fPort",
    "retries": "Retries",
    "topic": "Topic",
    "created": "Created",
    "modified": "Modified",
}


def list_columns(kind: str) -> list[tuple[str, str]]:
    return [(column, COLUMN_LABELS[column]) for column in SORT_COLUMNS[kind]]


class DownlinkFilterForm(forms.Form):
    """The list's filters, read from the URL (so a pasted link opens the same view)."""

    device = DeviceIdField(required=False)
    status = forms.ChoiceField(
        required=False,
        label="Status",
        choices=[("", "Any status"), *[(s, s) for s in ("PENDING", "EXECUTING", "DONE")]],
    )
    created_since = DateTimeLocalField(required=False, label="Created from")
    created_before = DateTimeLocalField(required=False, label="Created before")
    modified_since = DateTimeLocalField(required=False, label="Modified from")
    modified_before = DateTimeLocalField(required=False, label="Modified before")
    sort = forms.CharField(required=False, widget=forms.HiddenInput, max_length=40)
    limit = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        choices=[(size, str(size)) for size in PAGE_SIZES],
    )
    cursor = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["limit"].initial = settings.THINGS_PAGE_SIZE
        if self.is_bound and not self.data.get("limit"):
            # A bound form shows its data, not the initial value: without this, a list shown
            # with the default page size would show (and resubmit) the first size instead.
            data = self.data.copy()  # type: ignore[attr-defined]
            data["limit"] = str(settings.THINGS_PAGE_SIZE)
            self.data = data
        if settings.THINGS_PAGE_SIZE not in PAGE_SIZES:
            sizes = sorted({*PAGE_SIZES, settings.THINGS_PAGE_SIZE})
            self.fields["limit"].choices = [(size, str(size)) for size in sizes]  # type: ignore[attr-defined]

    def clean_sort(self) -> str:
        value: str = self.cleaned_data.get("sort") or DEFAULT_SORT
        if value.removeprefix("-") not in SORT_COLUMNS[self.kind]:
            raise ValidationError("Sort by one of the list's columns.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for since, before in (
            ("created_since", "created_before"),
            ("modified_since", "modified_before"),
        ):
            require_later(self, cleaned, since, before, "This must be later than the “from” time.")
        return cleaned

    @property
    def sort_column(self) -> str:
        return self.cleaned_data.get("sort", DEFAULT_SORT) if self.is_valid() else DEFAULT_SORT

    def search_filters(self) -> SearchFilters:
        """What to ask the API; only call on a valid form."""
        data = self.cleaned_data
        column = data["sort"]
        field = SORT_COLUMNS[self.kind][column.removeprefix("-")]
        sort = [SortField(field=field, descending=column.startswith("-"))]
        if field != "createdAt":
            sort.append(SortField(field="createdAt", descending=True))
        return SearchFilters(
            device_id=data["device"] or None,
            status=data["status"] or None,
            created_since=data["created_since"],
            created_before=data["created_before"],
            modified_since=data["modified_since"],
            modified_before=data["modified_before"],
            sort=sort,
            limit=data["limit"] or settings.THINGS_PAGE_SIZE,
            cursor=data["cursor"] or None,
        )
