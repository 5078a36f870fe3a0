"""Sending from a template: the device, a field per parameter (command_templates.fields), the
feedback timeout and dry run (the template's defaults), and what the template makes of the
values, checked before anything is sent: bytes, fPort or topic, and the byte count against
the device type's or the team's limit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self
from uuid import uuid4

from command_templates.definition import Definition
from command_templates.fields import parameter_fields, parameter_values
from command_templates.models import TemplateVersion
from command_templates.payloads import Made, PayloadNotMade, make_payload
from devices.fields import DeviceIdField
from devices.models import DeviceType, Kind
from downlinks.forms.send import FeedbackTimeoutFields, SendForm, send_field_order
from teams.models import LORA_PAYLOAD_LIMIT_DEFAULT
from things_api import NewLoraDownlink, NewMqttDownlink


class TemplateSendForm(SendForm[NewLoraDownlink | NewMqttDownlink]):
    model_error_fields = {"message": "__all__", "retry_limit": "__all__"}

    def __init__(
        self,
        *args: Any,
        version: TemplateVersion,
        device_type: DeviceType | None,
        lora_payload_limit: int = LORA_PAYLOAD_LIMIT_DEFAULT,
        makes_payload: bool = True,
        decodes_back: bool = True,
        **kwargs: Any,
    ) -> None:
        """`makes_payload`: False for a campaign's shared values, whose rows each make their
        own payload with their own values; `decodes_back`: False where nothing shows the
        bytes decoded back (a campaign's rows)."""
        self.version = version
        self.makes_payload = makes_payload
        self.decodes_back = decodes_back
        self.definition: Definition = version.parsed
        self.device_type = device_type
        self.kind = version.template.kind
        send = self.definition.send
        initial = {
            **FeedbackTimeoutFields.timeout_initial(send.feedback_timeout),
            "dry_run": send.dry_run,
            **kwargs.pop("initial", {}),
        }
        super().__init__(*args, lora_payload_limit=lora_payload_limit, initial=initial, **kwargs)
        self.fields["device_id"] = DeviceIdField(kind=self.kind)
        parameters = parameter_fields(self.definition)
        self.parameter_names = tuple(parameters)
        self.fields.update(parameters)
        self.order_fields(send_field_order(*self.parameter_names))
        self.create_model = NewLoraDownlink if self.kind == Kind.LORA else NewMqttDownlink
        self.made: Made | None = None
        self.payload_problem = ""

    @property
    def payload_limit(self) -> int | None:
        """Bytes: the device type's limit, else (LoRa) the team's."""
        if self.device_type is not None and self.device_type.payload_limit:
            return self.device_type.payload_limit
        return self.lora_payload_limit if self.kind == Kind.LORA else None

    def values(self) -> dict[str, Any]:
        return parameter_values(self.definition, getattr(self, "cleaned_data", {}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.makes_payload or any(name in self.errors for name in self.parameter_names):
            return cleaned
        try:
            self.made = make_payload(
                self.version,
                self.values(),
                device_type=self.device_type,
                decode_back=self.decodes_back,
            )
        except PayloadNotMade as problem:
            self.payload_problem = str(problem)
            self.add_error(None, f"Nothing can be sent with these values: {problem}")
            return cleaned
        size, limit = len(self.made.payload), self.payload_limit
        if not size and self.kind == Kind.LORA:
            self.payload_problem = "The template made no bytes; a LoRa downlink needs at least one."
        elif limit is not None and size > limit:
            self.payload_problem = (
                f"The template made {size} bytes, more than the limit of {limit} bytes"
                + (
                    f" for {self.device_type.name}."
                    if self.device_type and self.device_type.payload_limit
                    else " of this team."
                )
            )
        if self.payload_problem:
            self.add_error(None, self.payload_problem)
        return cleaned

    def create_fields(self, data: Mapping[str, Any]) -> dict[str, Any]:
        made = self.made
        assert made is not None
        if self.kind == Kind.LORA:
            return {
                "message": {"payload_hex": made.hex, "f_port": made.f_port},
                "retry_limit": self.definition.send.retry_limit,
            }
        if made.text is not None:
            message = {"type": "text", "payload": made.text, "topic": made.topic}
        else:
            message = {"type": "binary", "payload": made.base64, "topic": made.topic}
        return {"message": message}

    def with_fresh_key(self) -> Self:
        data = self.data.copy()  # type: ignore[attr-defined]
        data["submission_key"] = uuid4().hex
        data.pop("send_anyway", None)
        return type(self)(
            data,
            version=self.version,
            device_type=self.device_type,
            lora_payload_limit=self.lora_payload_limit,
        )
