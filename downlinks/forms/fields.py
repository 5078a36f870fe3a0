"""Form fields that more than one form of the dashboard uses."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from things_api import DEVICE_ID_FORMATS_IN_WORDS, device_id_format


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
