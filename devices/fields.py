"""Form fields that more than one form of the dashboard uses."""

from __future__ import annotations

from typing import Any, Final

from django import forms
from django.core.exceptions import ValidationError

from devices.models import Kind
from things_api import DEVICE_ID_FORMATS_IN_WORDS, device_id_format, same_device_key

# A device id of each kind, as the placeholder of its send form: LoRa devices are known by
# their DevEUI, MQTT devices by their IMEI.
DEVICE_ID_EXAMPLES: Final[dict[str, str]] = {
    Kind.LORA: "deveui:ea8fa35e2cf3489f",
    Kind.MQTT: "imei:350266800610993",
}


def validate_device_id(value: str) -> None:
    if device_id_format(value) is None:
        raise ValidationError(f"“{value}” is not a device id. Use {DEVICE_ID_FORMATS_IN_WORDS}.")


class DeviceIdField(forms.CharField):
    """A device id in one of the API's formats; with `kind`, an example of that kind's ids
    as the placeholder."""

    default_validators = [validate_device_id]

    def __init__(self, *, kind: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 100)
        kwargs.setdefault("label", "Device id")
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        if kind is not None:
            self.widget.attrs["placeholder"] = DEVICE_ID_EXAMPLES[kind]


# The kind an id's own format names: a DevEUI is a LoRa device, an IMEI an MQTT one. A UUID or
# dvnuuid can be either.
_KIND_OF_ID_PREFIX: Final[dict[str, str]] = {"deveui:": Kind.LORA, "imei:": Kind.MQTT}


def kind_of_device_id(device_id: str) -> str | None:
    """The kind `device_id` can only be of, or None when its format does not say."""
    key = same_device_key(device_id)
    for prefix, kind in _KIND_OF_ID_PREFIX.items():
        if key.startswith(prefix):
            return kind
    return None
